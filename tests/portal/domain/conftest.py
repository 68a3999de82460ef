"""Fixtures shared by the intake tests: the generated corpus (built once) and a files folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from portal.domain import sandbox
from portal.domain.confined import to_json
from portal.domain.inspection import Inspection
from portal.domain.limits import Limits
from tests.fixtures.corpus import build_corpus, camera_image


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Read-only samples (tests copy a sample before changing it); see tests/fixtures/README.md."""
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    d = tmp_path / "files"
    d.mkdir()
    return d


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
