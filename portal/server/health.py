"""Health for an orchestrator or a load balancer: ``GET /health/live`` and ``GET /health/ready``.

``live`` says the process answers HTTP (restart it when it does not). ``ready`` says it can serve
an applicant now: its store answers a query and the case service answers its health check (take
the instance out of the load balancer's pool while it does not; the outbox keeps replies meanwhile).
The answers name the checks and whether each passed, nothing else: no version, no address, no data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from portal import routes
from portal.server.answers import json_answer

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[None]]
# A check that takes longer than this counts as failed: a probe must answer promptly.
CHECK_SECONDS = 3.0


class HealthEndpoints:
    """ASGI middleware answering the two health paths itself and passing everything else on."""

    def __init__(self, app: ASGIApp, *, checks: Mapping[str, Check], timeout: float = CHECK_SECONDS) -> None:
        self.app = app
        self._checks = dict(checks)
        self._timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "").rstrip("/") if scope["type"] == "http" else ""
        if path not in (routes.HEALTH_LIVE, routes.HEALTH_READY):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(send, scope, 405, {"code": "method_not_allowed"}, [(b"allow", b"GET, HEAD")])
            return
        if path == routes.HEALTH_LIVE:
            await _answer(send, scope, 200, {"status": "live"})
            return
        results = await asyncio.gather(*(self._run(name, check) for name, check in self._checks.items()))
        checks = dict(zip(self._checks, results, strict=True))
        ready = all(checks.values())
        body = {
            "status": "ready" if ready else "not_ready",
            "checks": {k: "ok" if v else "failed" for k, v in checks.items()},
        }
        await _answer(send, scope, 200 if ready else 503, body)

    async def _run(self, name: str, check: Check) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                await check()
        except Exception as exc:
            # The type only: a message could carry a URL or credentials.
            log.warning("readiness check %s failed: %s", name, type(exc).__name__)
            return False
        return True


def with_health(checks: Mapping[str, Check]) -> Callable[[ASGIApp], ASGIApp]:
    """An ``rx.App(api_transformer=...)`` step that mounts the endpoints."""
    return lambda app: HealthEndpoints(app, checks=checks)


async def _answer(
    send: Send, scope: Scope, status: int, payload: object, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await json_answer(send, status, payload, headers, head=scope["method"] == "HEAD")
