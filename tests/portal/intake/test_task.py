"""The upload sandbox's fork server starts with the portal's backend and stops with it."""

from __future__ import annotations

import os

import psutil

from portal.intake import sandbox
from portal.intake.task import sandbox_lifespan


def _servers() -> list[psutil.Process]:
    return [child for child in psutil.Process(os.getpid()).children() if "sandbox_server" in " ".join(child.cmdline())]


async def test_started_with_the_backend_and_stopped_with_it() -> None:
    sandbox.stop()
    assert _servers() == []
    async with sandbox_lifespan():
        (server,) = _servers()
        assert server.is_running()
    server.wait(timeout=10)
    assert _servers() == []
