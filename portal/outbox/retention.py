"""Storage limitation (DSGVO Art. 5(1)(e)): uploads of drafts that were never submitted are purged,
and delivered replies are reduced, then deleted, in the outbox.

A stored file (``portal.storage``) is part of a submitted reply (the outbox refers to it, and
delivery deletes it once the case service confirmed) or of a saved draft (kept until its link
expires, then purged with the draft, ``portal.outbox.saved_drafts``). A file older than the upload
retention period that neither refers to was left behind (a draft's session that never saved, a
crash) and is deleted by :func:`purge_orphans`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from portal.outbox.store import PortalStore
from portal.storage import FileStorage

log = logging.getLogger(__name__)


def purge_orphans(files: FileStorage, referenced: Iterable[str], older_than: timedelta, now: datetime) -> int:
    """Deletes stored files no reply or saved draft refers to, older than ``older_than``."""
    deleted = files.purge(referenced, now - older_than)
    if deleted:
        log.info("purged %d stored files no reply or draft refers to", deleted)
    return deleted


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
