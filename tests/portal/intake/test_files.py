"""Private upload files: created new, replaced atomically, deleted in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.intake.files import delete_stored, open_private, rewrite, temporary


def test_open_private_never_reuses_a_path(tmp_path: Path) -> None:
    path = tmp_path / "upload"
    with open_private(path) as fh:
        fh.write(b"one")
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        open_private(path)


def test_rewrite_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "upload"
    path.write_bytes(b"old")
    rewrite(path, lambda fh: fh.write(b"new"))
    assert path.read_bytes() == b"new" and not temporary(path).exists()


def test_delete_stored_removes_files_and_half_written_replacements(tmp_path: Path) -> None:
    kept, gone, half = tmp_path / "kept", tmp_path / "gone", tmp_path / "half"
    for path in (kept, gone, half, temporary(half)):
        path.write_bytes(b"x")
    delete_stored([gone, half, tmp_path / "never-existed"])
    assert kept.exists() and not gone.exists() and not half.exists() and not temporary(half).exists()
