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
# One round of checks answers every readiness probe for this long.
REUSE_SECONDS = 1.0


class HealthEndpoints:
    """ASGI middleware answering the two health paths itself and passing everything else on."""

    def __init__(
        self, app: ASGIApp, *, checks: Mapping[str, Check], timeout: float = CHECK_SECONDS, reuse: float = REUSE_SECONDS
    ) -> None:
        self.app = app
        self._checks = dict(checks)
        self._timeout = timeout
        self._reuse = reuse
        # The last round of checks and when it started; requests meanwhile share it.
        self._round: asyncio.Task[dict[str, bool]] | None = None
        self._round_at = 0.0

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
        checks = await self._current_round()
        ready = all(checks.values())
        body = {
            "status": "ready" if ready else "not_ready",
            "checks": {k: "ok" if v else "failed" for k, v in checks.items()},
        }
        await _answer(send, scope, 200 if ready else 503, body)

    async def _current_round(self) -> dict[str, bool]:
        # The path needs no key, so a flood of probes must not become a flood of queries and
        # requests to the case service: one round of checks serves every probe for a moment.
        loop = asyncio.get_running_loop()
        if self._round is None or loop.time() - self._round_at >= self._reuse:
            self._round_at = loop.time()
            self._round = asyncio.ensure_future(self._run_all())
        return await asyncio.shield(self._round)

    async def _run_all(self) -> dict[str, bool]:
        results = await asyncio.gather(*(self._run(name, check) for name, check in self._checks.items()))
        return dict(zip(self._checks, results, strict=True))

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
