"""Fixtures of the intake tests: a camera photo and running one sandbox job as intake does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from portal.intake import sandbox
from portal.intake.confined import to_json
from portal.intake.inspection import Inspection
from portal.intake.limits import Limits
from tests.fixtures.corpus import camera_image


@pytest.fixture(scope="session")
def camera_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6 MP camera-like JPEG, read-only: enough work for a sandbox job to be measured or stopped."""
    path = tmp_path_factory.mktemp("camera") / "camera.jpg"
    camera_image((3000, 2000)).save(path, "JPEG", quality=90)
    return path


@pytest.fixture
def photo(camera_jpeg: Path, tmp_path: Path) -> Path:
    """A copy of the camera JPEG that a test may let a job change."""
    path = tmp_path / "photo.jpg"
    shutil.copyfile(camera_jpeg, path)
    return path


def normalise(path: Path, limits: Limits, found: Inspection = Inspection("image/jpeg", "jpg", 1)) -> object:
    """Runs the image step on ``path`` as a sandbox job, as intake does."""
    args = {"path": str(path), "found": to_json(found), "limits": to_json(limits)}
    return sandbox.run("normalise_image", args, limits)


def last() -> sandbox.Usage:
    """What the most recent sandbox job used."""
    return sandbox.recent_usage()[-1]
