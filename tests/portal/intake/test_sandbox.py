"""The portal's side of the sandbox: real jobs in real child processes, answers and refusals."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from portal.domain.errors import IntakeError
from portal.intake import sandbox
from portal.intake.confined import to_json
from portal.intake.limits import Limits
from tests.fixtures import bombs
from tests.portal.intake.conftest import last, normalise

MIB = 1 << 20


def test_a_job_answers_with_data(photo: Path) -> None:
    answer = normalise(photo, Limits())
    assert isinstance(answer, dict) and answer["media_type"] == "image/jpeg" and answer["pages"] == 1
    usage = last()
    assert (usage.job, usage.outcome) == ("normalise_image", "ok")
    assert 10 * MIB < usage.peak_bytes < 512 * MIB  # the child's own figure, reported by the server


def test_a_refusal_in_the_child_keeps_its_code_and_parameters(tmp_path: Path) -> None:
    path = tmp_path / "bomb.jpg"
    path.write_bytes(bombs.jpeg_dimensions_bomb(9_000, 8_000))  # 72 MP: our limit, not Pillow's
    args = {"path": str(path), "media_type": "image/jpeg", "limits": to_json(Limits())}
    with pytest.raises(IntakeError) as refused:
        sandbox.run("check_image", args, Limits())
    assert refused.value.code == "image_too_large_dimensions"
    assert refused.value.params == {"width": 9_000, "height": 8_000}
    assert last().outcome == "refused"


def test_a_job_that_fails_unexpectedly_is_refused(tmp_path: Path) -> None:
    # A file that is gone: the job raises, and no parser turned that into a code.
    args = {"paths": [str(tmp_path / "gone.jpg")], "out": str(tmp_path / "out"), "limits": to_json(Limits())}
    with pytest.raises(IntakeError) as refused:
        sandbox.run("merge", args, Limits())
    assert refused.value.code == "file_too_complex"
    assert last().outcome == "error"
    with pytest.raises(IntakeError) as refused:
        sandbox.run("no_such_job", {}, Limits())
    assert refused.value.code == "file_too_complex"


def test_a_crashed_server_is_replaced(photo: Path) -> None:
    sandbox.start()
    server = sandbox._current
    assert server is not None
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    assert isinstance(normalise(photo, Limits()), dict)
    assert sandbox._current is not server


def test_the_server_gets_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_CASE_SERVICE_KEY", "s3cret-key-of-the-portal")
    sandbox.stop()
    sandbox.start()
    assert sandbox._current is not None
    environ = Path(f"/proc/{sandbox._current.process.pid}/environ").read_bytes()
    assert b"s3cret" not in environ and b"PORTAL_" not in environ
