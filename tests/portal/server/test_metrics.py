"""The operator's metrics endpoint: off without a key, closed without the right bearer token, and
then the outbox's figures from a real store in Prometheus' text format."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from portal.domain.outgoing import OutgoingReply
from portal.outbox.delivery import DeliveryCounters
from portal.outbox.store import PortalStore
from portal.server.guard import PortalGuard
from portal.server.metrics import MetricsEndpoint, portal_collector, with_metrics

KEY = "k" * 40


async def downstream(scope: Any, receive: Any, send: Any) -> None:
    """Stands in for the Reflex app: answers every path it is handed with 204."""
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")


@pytest.fixture
async def http(store: PortalStore) -> AsyncIterator[httpx.AsyncClient]:
    counters = DeliveryCounters(attempts=3, delivered=1, unavailable=1, refused=1)
    app = MetricsEndpoint(downstream, key=SecretStr(KEY), collect=portal_collector(lambda: store, counters))
    async with _client(app) as client:
        yield client


async def test_without_a_configured_key_the_endpoint_does_not_exist(store: PortalStore) -> None:
    app = MetricsEndpoint(downstream, key=SecretStr(""), collect=portal_collector(lambda: store))
    async with _client(app) as client:
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": f"Bearer {KEY}"}):
            response = await client.get("/_metrics", headers=headers)
            assert response.status_code == 404 and "portal_" not in response.text


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", f"Basic {KEY}", f"Bearer {KEY[:-1]}", f"Bearer {KEY}x", f"Bearer {KEY.upper()}"],
)
async def test_a_missing_or_wrong_key_is_refused(http: httpx.AsyncClient, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await http.get("/_metrics", headers=headers)
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
    assert "portal_" not in response.text


async def test_the_right_key_gets_the_figures(http: httpx.AsyncClient, store: PortalStore) -> None:
    # Taken here, not at import: the age below is measured against the endpoint's own clock.
    now = datetime.now(UTC)
    reply = OutgoingReply(submitted_at=now, language="de", text="Anbei", declaration=True)
    store.enqueue("m-old", reply, "k-old", now - timedelta(hours=2))
    rejected = store.enqueue("m-rejected", reply, "k-rejected", now)
    # Both leased for a day: still being delivered however long the test runs.
    store.claim_due(now, 86_400, 10)
    store.mark_rejected(rejected.id, "link_revoked")

    asked = datetime.now(UTC)
    response = await http.get("/_metrics", headers={"Authorization": f"bearer  {KEY}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert response.headers["cache-control"] == "no-store"
    samples = dict(line.rsplit(" ", 1) for line in response.text.splitlines() if not line.startswith("#"))
    assert samples['portal_outbox_entries{state="rejected"}'] == "1"
    assert samples['portal_outbox_entries{state="delivering"}'] == "1"
    assert samples['portal_outbox_entries{state="pending"}'] == "0"
    # The oldest was enqueued two hours before `now`, and its age is measured when asked.
    expected_age = (asked - (now - timedelta(hours=2))).total_seconds()
    assert abs(float(samples["portal_outbox_oldest_undelivered_age_seconds"]) - expected_age) <= 5
    assert samples["portal_outbox_rejected_total"] == "1"
    assert samples["portal_delivery_attempts_total"] == "3"
    assert samples['portal_delivery_failures_total{reason="unavailable"}'] == "1"
    # Every sample has a TYPE line, as Prometheus' parser expects.
    typed = set(re.findall(r"^# TYPE (\S+) (?:gauge|counter)$", response.text, re.MULTILINE))
    assert {name.split("{")[0] for name in samples} == typed

    head = await http.head("/_metrics", headers={"Authorization": f"Bearer {KEY}"})
    assert head.status_code == 200 and head.content == b""


async def test_only_reads_and_other_paths_pass_through(http: httpx.AsyncClient) -> None:
    assert (await http.post("/_metrics", headers={"Authorization": f"Bearer {KEY}"})).status_code == 405
    for path in ("/", "/_metrics2", "/staff/_metrics", "/_event"):
        assert (await http.get(path, headers={"Authorization": f"Bearer {KEY}"})).status_code == 204


async def test_a_broken_database_fails_the_scrape_not_the_portal(tmp_path: Path) -> None:
    broken = PortalStore(f"sqlite:///{tmp_path / 'no-tables.sqlite3'}")
    app = MetricsEndpoint(downstream, key=SecretStr(KEY), collect=portal_collector(lambda: broken))
    async with _client(app) as client:
        response = await client.get("/_metrics", headers={"Authorization": f"Bearer {KEY}"})
        assert response.status_code == 503 and response.json() == {"code": "metrics_unavailable"}
        assert (await client.get("/reply")).status_code == 204
    broken.dispose()


async def test_mounted_as_the_portal_does_behind_the_guard(store: PortalStore) -> None:
    # portal/portal.py applies the transformers in order: metrics inside, the guard outermost.
    app: Any = downstream
    for transform in (
        with_metrics(SecretStr(KEY), lambda: store),
        lambda a: PortalGuard(a, max_upload_request_bytes=10),
    ):
        app = transform(app)
    async with _client(app) as client:
        assert (await client.get("/_metrics")).status_code == 401
        response = await client.get("/_metrics", headers={"Authorization": f"Bearer {KEY}"})
        assert response.status_code == 200 and "portal_outbox_entries" in response.text
        assert response.headers["x-content-type-options"] == "nosniff"
