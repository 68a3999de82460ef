"""Uploads of abandoned drafts are purged; files a reply still needs are kept."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from portal.outbox.retention import purge_orphans


def _file(path: Path, age_hours: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4 test")
    then = time.time() - age_hours * 3600
    os.utime(path, (then, then))
    return path


def test_old_unreferenced_files_go_and_the_rest_stay(tmp_path: Path) -> None:
    old_orphan = _file(tmp_path / "a1", 30)
    fresh_draft = _file(tmp_path / "b2", 1)
    old_but_submitted = _file(tmp_path / "reply-1" / "c3", 30)
    deleted = purge_orphans(tmp_path, [old_but_submitted], timedelta(hours=24), datetime.now(UTC))
    assert deleted == 1
    assert not old_orphan.exists()
    assert fresh_draft.exists() and old_but_submitted.exists()


def test_empty_folders_are_removed_but_not_the_root(tmp_path: Path) -> None:
    _file(tmp_path / "reply-2" / "d4", 48)
    purge_orphans(tmp_path, [], timedelta(hours=24), datetime.now(UTC))
    assert tmp_path.is_dir() and not any(tmp_path.iterdir())


def test_missing_folder_is_nothing_to_do(tmp_path: Path) -> None:
    assert purge_orphans(tmp_path / "nope", [], timedelta(hours=1), datetime.now(UTC)) == 0
