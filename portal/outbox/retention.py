"""Storage limitation (DSGVO Art. 5(1)(e)): uploads of drafts that were never submitted are purged.

A file under ``files_dir`` is either part of a submitted reply (then the outbox references it and
delivery deletes it once the case service confirmed), or part of a live draft. A draft lives no
longer than its session, so a file older than the retention period that no outbox entry
references belongs to an abandoned draft and is deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path


def purge_orphans(files_dir: Path, referenced: Iterable[Path], older_than: timedelta, now: datetime) -> int:
    """Delete unreferenced files older than ``older_than``; returns how many were deleted."""
    keep = {p.resolve() for p in referenced}
    cutoff = (now - older_than).timestamp()
    deleted = 0
    if not files_dir.is_dir():
        return 0
    for path in sorted(files_dir.rglob("*"), reverse=True):
        if path.is_dir():
            if path != files_dir and not any(path.iterdir()):
                path.rmdir()
            continue
        if path.resolve() in keep:
            continue
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except FileNotFoundError:
            continue
    return deleted
