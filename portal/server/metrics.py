"""The operator's metrics: ``GET /_metrics`` in Prometheus' text format, behind a bearer key.

Served by prometheus-client from a registry of the endpoint's own: the outbox's gauges, read from
the database at each scrape (``OutboxCollector``), so they describe the whole portal whichever
instance answers, and the process's counters (``portal.metrics``), which Prometheus keeps per
instance. The endpoint is off (404) unless ``PORTAL_METRICS_KEY`` is set. Its path is neither one
of Reflex's own (``/_event``, ``/_upload``, ``/ping``, ``/_health``, ``/auth-codespace``,
``/_all_routes``) nor under the applicant's or the staff's pages.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from portal import routes
from portal.domain import clock
from portal.metrics import METRICS, PortalMetrics
from portal.outbox.store import PortalStore
from portal.server.answers import json_answer

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4.encode()


class OutboxCollector:
    """The outbox's figures at scrape time (a prometheus-client custom collector)."""

    def __init__(self, store: Callable[[], PortalStore]) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        now = clock.now()
        stats = self._store().stats(now)
        entries = GaugeMetricFamily(
            "portal_outbox_entries", "Outbox entries by state (whole portal, from the database).", labels=["state"]
        )
        for state, count in (
            ("pending", stats.pending),
            ("delivering", stats.delivering),
            ("delivered", stats.delivered),
            ("rejected", stats.rejected),
            ("resolved", stats.resolved),
        ):
            entries.add_metric([state], count)
        yield entries
        oldest = stats.oldest_undelivered_at
        age = 0.0 if oldest is None else max((now - oldest).total_seconds(), 0.0)
        yield GaugeMetricFamily(
            "portal_outbox_oldest_undelivered_age_seconds",
            "Age of the oldest reply not yet delivered (pending or delivering; 0 when none).",
            value=age,
        )


def scrape_registry(store: Callable[[], PortalStore], metrics: PortalMetrics = METRICS) -> CollectorRegistry:
    """What the endpoint serves: the store's figures at scrape time plus the process's counters."""
    registry = CollectorRegistry()
    registry.register(OutboxCollector(store))
    registry.register(metrics.registry)
    return registry


class MetricsEndpoint:
    """ASGI middleware answering ``routes.METRICS`` itself and passing everything else on."""

    def __init__(self, app: ASGIApp, *, key: SecretStr, registry: CollectorRegistry) -> None:
        self.app = app
        self._key = key.get_secret_value().encode()
        self._registry = registry

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
            # The outbox's queries block: off the event loop.
            body = await asyncio.to_thread(generate_latest, self._registry)
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


def with_metrics(
    key: SecretStr, store: Callable[[], PortalStore], metrics: PortalMetrics = METRICS
) -> Callable[[ASGIApp], ASGIApp]:
    """An ``rx.App(api_transformer=...)`` step that mounts the endpoint."""
    registry = scrape_registry(store, metrics)
    return lambda app: MetricsEndpoint(app, key=key, registry=registry)


async def _reply(send: Send, status: int, code: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await json_answer(send, status, {"code": code}, headers)
