"""Runs the outbox delivery loop for as long as the portal's backend runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from portal import runtime
from portal.domain import clock
from portal.outbox.delivery import kick, run_delivery_loop
from portal.outbox.retention import purge_delivered, purge_orphans
from portal.settings import PortalSettings

log = logging.getLogger(__name__)
PURGE_INTERVAL_SECONDS = 600
EXPIRED_DRAFT_GRACE = timedelta(hours=1)


@contextlib.asynccontextmanager
async def delivery_lifespan() -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_delivery_loop(runtime.store(), runtime.file_storage(), runtime.case_service, runtime.retry_policy(), stop)
    )
    purge = asyncio.create_task(_purge_loop(stop))
    try:
        yield
    finally:
        stop.set()
        kick()  # the loop sees stop at once instead of after its poll interval
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.gather(task, purge), timeout=10)


async def _purge_loop(stop: asyncio.Event) -> None:
    while not stop.is_set():
        # Each step on its own: one that fails (a disk error, a database away) must not keep the
        # others from their work; each is tried again next round.
        for name, step in _PURGE_STEPS:
            try:
                await asyncio.to_thread(step, runtime.settings(), clock.now())
            except Exception:
                log.exception("purge step %s failed", name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=PURGE_INTERVAL_SECONDS)


def _purge_expired_drafts(settings: PortalSettings, now: datetime) -> None:
    # A draft whose link expired can never be sent: it goes with its files. A file an outbox
    # entry refers to stays (a reply committed while its draft's deletion failed).
    # An hour after the expiry: a submit that checked the link just before it is long committed.
    keys = runtime.saved_drafts().purge_expired(now - EXPIRED_DRAFT_GRACE)
    doomed = set(keys) - set(runtime.store().undelivered_file_keys())
    runtime.file_storage().delete(sorted(doomed))
    if keys:
        log.info("purged the files of drafts whose link expired: %d", len(doomed))


def _purge_expired_receipts(settings: PortalSettings, now: datetime) -> None:
    # The applicant's copy of a receipt goes with the link, as a saved draft does (the case
    # service has its own copy).
    runtime.receipts().purge_expired(now)


def _purge_uploads(settings: PortalSettings, now: datetime) -> None:
    # Drafts first: a submit adds its files to the outbox before it forgets the draft, so each
    # file of a reply being committed meanwhile is in one of the two reads.
    held_by_drafts = runtime.saved_drafts().file_keys()
    referenced = [*held_by_drafts, *runtime.store().undelivered_file_keys()]
    purge_orphans(runtime.file_storage(), referenced, timedelta(hours=settings.upload_retention_hours), now)


def _purge_draft_marks(settings: PortalSettings, now: datetime) -> None:
    # "Draft started" lasts as long as the saved draft, and no longer than the upload horizon after.
    keep = runtime.saved_drafts().message_ids()
    runtime.drafts().purge(now - timedelta(hours=settings.upload_retention_hours), keep)


def _purge_link_sessions(settings: PortalSettings, now: datetime) -> None:
    # Sessions whose link expired or that were long gone, with what they counted.
    runtime.link_sessions().purge(now)


def _purge_delivered(settings: PortalSettings, now: datetime) -> None:
    purge_delivered(
        runtime.store(),
        timedelta(days=settings.delivered_reduce_after_days),
        timedelta(days=settings.delivered_delete_after_days),
        now,
    )


_PURGE_STEPS: tuple[tuple[str, Callable[[PortalSettings, datetime], None]], ...] = (
    ("expired drafts", _purge_expired_drafts),
    ("expired receipts", _purge_expired_receipts),
    ("uploads", _purge_uploads),
    ("draft marks", _purge_draft_marks),
    ("link sessions", _purge_link_sessions),
    ("delivered replies", _purge_delivered),
)
