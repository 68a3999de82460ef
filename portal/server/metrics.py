"""The operator's metrics: ``GET /_metrics`` in Prometheus' text format, behind a bearer key.

Gauges come from the database, so they describe the whole portal whichever instance answers;
counters are this process's since it started (Prometheus keeps them per instance). The endpoint
is off (404) unless ``PORTAL_METRICS_KEY`` is set. Its path is neither one of Reflex's own
(``/_event``, ``/_upload``, ``/ping``, ``/_health``, ``/auth-codespace``, ``/_all_routes``) nor
under the applicant's or the staff's pages.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from datetime import datetime

from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from portal import routes
from portal.domain import clock
from portal.outbox.delivery import COUNTERS, DeliveryCounters
from portal.outbox.store import OutboxStats, PortalStore
from portal.server.answers import json_answer

log = logging.getLogger(__name__)

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


def exposition(stats: OutboxStats, counters: DeliveryCounters, now: datetime) -> str:
    """The text a Prometheus scrape reads (exposition format 0.0.4)."""
    oldest = 0.0 if stats.oldest_undelivered_at is None else (now - stats.oldest_undelivered_at).total_seconds()
    lines = [
        "# HELP portal_outbox_entries Outbox entries by state (whole portal, from the database).",
        "# TYPE portal_outbox_entries gauge",
        *(
            f'portal_outbox_entries{{state="{state}"}} {count}'
            for state, count in (
                ("pending", stats.pending),
                ("delivering", stats.delivering),
                ("delivered", stats.delivered),
                ("rejected", stats.rejected),
                ("resolved", stats.resolved),
            )
        ),
        "# HELP portal_outbox_oldest_undelivered_age_seconds Age of the oldest reply not yet delivered "
        "(pending or delivering; 0 when none).",
        "# TYPE portal_outbox_oldest_undelivered_age_seconds gauge",
        f"portal_outbox_oldest_undelivered_age_seconds {max(oldest, 0.0):.3f}",
        "# HELP portal_delivery_attempts_total Replies sent to the case service by this process.",
        "# TYPE portal_delivery_attempts_total counter",
        f"portal_delivery_attempts_total {counters.attempts}",
        "# HELP portal_delivery_delivered_total Replies the case service confirmed, by this process.",
        "# TYPE portal_delivery_delivered_total counter",
        f"portal_delivery_delivered_total {counters.delivered}",
        "# HELP portal_delivery_failures_total Delivery attempts that failed and will be retried, by reason.",
        "# TYPE portal_delivery_failures_total counter",
        f'portal_delivery_failures_total{{reason="unavailable"}} {counters.unavailable}',
        f'portal_delivery_failures_total{{reason="internal"}} {counters.internal}',
        "# HELP portal_outbox_rejected_total Replies refused for good by this process (kept for an operator).",
        "# TYPE portal_outbox_rejected_total counter",
        f"portal_outbox_rejected_total {counters.refused}",
    ]
    return "\n".join(lines) + "\n"


def portal_collector(store: Callable[[], PortalStore], counters: DeliveryCounters = COUNTERS) -> Callable[[], str]:
    """What the endpoint serves: the store's figures now plus the process's counters."""

    def collect() -> str:
        now = clock.now()
        return exposition(store().stats(now), counters, now)

    return collect


class MetricsEndpoint:
    """ASGI middleware answering ``routes.METRICS`` itself and passing everything else on."""

    def __init__(self, app: ASGIApp, *, key: SecretStr, collect: Callable[[], str]) -> None:
        self.app = app
        self._key = key.get_secret_value().encode()
        self._collect = collect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").rstrip("/") != routes.METRICS:
            await self.app(scope, receive, send)
            return
        if not self._key:
            await _reply(send, 404, "not_found")
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _reply(send, 405, "method_not_allowed", [(b"allow", b"GET, HEAD")])
            return
        if not self._authorized(scope):
            await _reply(send, 401, "unauthorized", [(b"www-authenticate", b'Bearer realm="metrics"')])
            return
        try:
            body = (await asyncio.to_thread(self._collect)).encode()
        except Exception as exc:
            # E.g. the database is unreachable: the scrape fails visibly, the portal carries on.
            log.error("metrics could not be collected: %s", type(exc).__name__)
            await _reply(send, 503, "metrics_unavailable")
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", CONTENT_TYPE),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization":
                scheme, _, token = bytes(value).partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self._key)
        return False


def with_metrics(key: SecretStr, store: Callable[[], PortalStore]) -> Callable[[ASGIApp], ASGIApp]:
    """An ``rx.App(api_transformer=...)`` step that mounts the endpoint."""
    collect = portal_collector(store)
    return lambda app: MetricsEndpoint(app, key=key, collect=collect)


async def _reply(send: Send, status: int, code: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await json_answer(send, status, {"code": code}, headers)
