"""Fixtures shared by the intake tests: the generated corpus (built once) and a files folder."""

from __future__ import annotations

from pathlib import Path

import pytest

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
