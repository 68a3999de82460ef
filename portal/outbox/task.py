"""Runs the outbox delivery loop for as long as the portal's backend runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from portal import runtime
from portal.domain import clock
from portal.outbox.delivery import kick, run_delivery_loop
from portal.outbox.retention import purge_delivered, purge_orphans

log = logging.getLogger(__name__)
PURGE_INTERVAL_SECONDS = 600


@contextlib.asynccontextmanager
async def delivery_lifespan() -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_delivery_loop(runtime.store(), runtime.case_service, runtime.retry_policy(), stop))
    purge = asyncio.create_task(_purge_loop(stop))
    try:
        yield
    finally:
        stop.set()
        kick()  # the loop sees stop at once instead of after its poll interval
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.gather(task, purge), timeout=10)


async def _purge_loop(stop: asyncio.Event) -> None:
    settings = runtime.settings()
    while not stop.is_set():
        try:
            referenced = await asyncio.to_thread(runtime.store().undelivered_file_paths)
            deleted = await asyncio.to_thread(
                purge_orphans,
                settings.files_dir,
                referenced,
                timedelta(hours=settings.upload_retention_hours),
                clock.now(),
            )
            if deleted:
                log.info("purged %d uploads of abandoned drafts", deleted)
            # A draft's uploads are gone after this horizon, so "draft started" ends with them.
            await asyncio.to_thread(
                runtime.drafts().purge, clock.now() - timedelta(hours=settings.upload_retention_hours)
            )
            # Sessions whose link expired or that were long gone, with what they counted.
            await asyncio.to_thread(runtime.link_sessions().purge, clock.now())
            await asyncio.to_thread(
                purge_delivered,
                runtime.store(),
                timedelta(days=settings.delivered_reduce_after_days),
                timedelta(days=settings.delivered_delete_after_days),
                clock.now(),
            )
        except Exception:  # a failing purge must never stop the portal; it is tried again
            log.exception("purging abandoned uploads failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=PURGE_INTERVAL_SECONDS)
