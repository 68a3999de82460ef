"""Starts the upload sandbox's fork server with the portal's backend and stops it at shutdown.

Started on the first upload otherwise, which then waits about a second; started here, the
server's memory is part of the portal's idle footprint rather than of its first applicant's wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from portal.intake import sandbox

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def sandbox_lifespan() -> AsyncIterator[None]:
    try:
        await asyncio.to_thread(sandbox.start)
    except Exception:  # the first upload tries again; the portal serves meanwhile
        log.exception("the upload sandbox did not start")
    try:
        yield
    finally:
        await asyncio.to_thread(sandbox.stop)
