"""Storage limitation (DSGVO Art. 5(1)(e)): uploads of drafts that were never submitted are purged,
and delivered replies are reduced, then deleted, in the outbox.

A file under ``files_dir`` is either part of a submitted reply (then the outbox references it and
delivery deletes it once the case service confirmed), or part of a live draft. A draft lives no
longer than its session, so a file older than the retention period that no outbox entry
references belongs to an abandoned draft and is deleted.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from portal.intake.files import delete_stored
from portal.outbox.store import PortalStore

log = logging.getLogger(__name__)


def purge_orphans(files_dir: Path, referenced: Iterable[Path], older_than: timedelta, now: datetime) -> int:
    """Delete unreferenced files older than ``older_than``; returns how many were deleted."""
    if not files_dir.is_dir():
        return 0
    keep = {p.resolve() for p in referenced}
    cutoff = (now - older_than).timestamp()
    orphans = [path for path in files_dir.rglob("*") if path.resolve() not in keep and _older(path, cutoff)]
    delete_stored(orphans)
    # Then the folders left empty (deepest first), never the files root itself.
    for folder in sorted((p for p in files_dir.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            # An upload may land in it meanwhile: then it stays, for the next round to judge.
            with contextlib.suppress(OSError):
                folder.rmdir()
    return sum(not path.exists() for path in orphans)


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.is_file() and path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def purge_delivered(
    store: PortalStore, reduce_after: timedelta, delete_after: timedelta, now: datetime
) -> tuple[int, int]:
    """Reduces the replies delivered longer than ``reduce_after`` ago to what an operator needs,
    and deletes the entries delivered longer than ``delete_after`` ago; returns both counts."""
    reduced = store.reduce_delivered(now - reduce_after)
    deleted = store.delete_delivered(now - delete_after)
    if reduced or deleted:
        log.info("outbox retention: %d delivered replies reduced, %d entries deleted", reduced, deleted)
    return reduced, deleted
