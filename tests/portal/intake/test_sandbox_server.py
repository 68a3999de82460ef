"""The fork server's children: stopped at their memory, time and file-size limits, refused cleanly."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from portal.domain.errors import IntakeError
from portal.intake.inspection import Inspection
from portal.intake.limits import Limits
from tests.fixtures import bombs
from tests.portal.intake.conftest import last, normalise

MIB = 1 << 20


def test_a_job_over_its_memory_limit_is_refused(photo: Path) -> None:
    # Decoding 6 MP takes 24 MB of pixels alone; 16 MiB of room is not enough.
    with pytest.raises(IntakeError) as refused:
        normalise(photo, Limits(sandbox_memory_bytes=16 * MIB))
    assert refused.value.code == "file_too_complex"
    assert last().outcome == "memory"


def test_a_job_over_its_time_is_killed_and_refused(photo: Path) -> None:
    with pytest.raises(IntakeError) as refused:
        normalise(photo, Limits(sandbox_seconds=0.05))
    assert refused.value.code == "file_too_complex"
    usage = last()
    assert usage.outcome == "killed" and usage.seconds < 5


def test_a_job_may_not_write_a_large_file(photo: Path) -> None:
    # A job writes at most 4 x max_file_bytes: the re-encoded photo is larger than 4 kB.
    with pytest.raises(IntakeError) as refused:
        normalise(photo, Limits(max_file_bytes=1_000))
    assert refused.value.code == "file_too_complex"
    assert last().outcome == "file size"
    assert photo.exists() and not photo.with_name(photo.name + ".new").exists()


def test_a_killed_job_leaves_other_jobs_alone(photo: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.png"
    shutil.copyfile(photo, other)
    with pytest.raises(IntakeError):
        normalise(photo, Limits(sandbox_seconds=0.05))
    assert isinstance(normalise(other, Limits()), dict)


def test_a_child_holds_no_other_jobs_socket(photo: Path, tmp_path: Path) -> None:
    # A child forked while another job runs must not keep that job's socket open: its caller
    # would wait for the end of both (here: a photo's 0.3 s for a bomb's 0.7 to 1.5 s).
    slow = tmp_path / "slow.png"
    slow.write_bytes(bombs.png_memory_bomb())
    short_took: list[float] = []

    def short() -> None:
        started = time.monotonic()
        normalise(photo, Limits())
        short_took.append(time.monotonic() - started)

    worker = threading.Thread(target=short)
    worker.start()
    time.sleep(0.05)  # the photo's child is running when the bomb's child is forked
    started = time.monotonic()
    with pytest.raises(IntakeError):
        normalise(slow, Limits(), Inspection("image/png", "png", 1))
    slow_took = time.monotonic() - started
    worker.join()
    # Had the bomb's child kept the photo's socket, the photo's caller would have waited until
    # after the bomb's end; ratios rather than seconds, since machines differ in speed.
    assert short_took[0] < 0.75 * slow_took
