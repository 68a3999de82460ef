"""Runs the outbox delivery loop for as long as the portal's backend runs."""

from __future__ import annotations

import asyncio
import contextlib

from portal import runtime
from portal.domain.delivery import run_delivery_loop


@contextlib.asynccontextmanager
async def delivery_lifespan():  # noqa: ANN201 - Reflex lifespan task
    stop = asyncio.Event()
    wake = asyncio.Event()
    runtime.set_wake_event(wake)
    task = asyncio.create_task(
        run_delivery_loop(runtime.store(), runtime.case_service, runtime.settings(), stop, wake=wake)
    )
    try:
        yield
    finally:
        stop.set()
        wake.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=10)
