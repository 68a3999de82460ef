"""The operator's metrics endpoint: off without a key, closed without the right bearer token, and
then prometheus-client's text with the outbox's figures from a real store and the process's
counters, which move when the real code paths deliver, refuse an upload or open a link."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from reflex.istate.data import RouterData, SessionData
from reflex_base.utils.format import format_event_handler
from reflex_components_core.core._upload import UploadFile

from portal.domain.outgoing import OutgoingReply
from portal.metrics import LINK_OUTCOMES, UPLOAD_REASONS, PortalMetrics
from portal.outbox import delivery
from portal.outbox.store import PortalStore
from portal.portal import app
from portal.server.guard import PortalGuard
from portal.server.metrics import MetricsEndpoint, scrape_registry, with_metrics
from portal.state.reply import ReplyState
from tests.fixtures.corpus import blank_pdf
from tests.portal.conftest import CreateMessage, make_reply
from tests.portal.state.conftest import opened, revoke, substate

KEY = "k" * 40
AUTH = {"Authorization": f"Bearer {KEY}"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def downstream(scope: Any, receive: Any, send: Any) -> None:
    """Stands in for the Reflex app: answers every path it is handed with 204."""
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")


def parse(text: str) -> Samples:
    """Every sample of a scrape, read by prometheus-client's own parser."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/_metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    return parse(response.text)


@pytest.fixture
def counters() -> PortalMetrics:
    """A fresh set of counters: this test's alone."""
    return PortalMetrics()


@pytest.fixture
async def http(store: PortalStore, counters: PortalMetrics) -> AsyncIterator[httpx.AsyncClient]:
    app = MetricsEndpoint(downstream, key=SecretStr(KEY), registry=scrape_registry(lambda: store, counters))
    async with _client(app) as client:
        yield client


async def test_without_a_configured_key_the_endpoint_does_not_exist(store: PortalStore) -> None:
    app = MetricsEndpoint(downstream, key=SecretStr(""), registry=scrape_registry(lambda: store))
    async with _client(app) as client:
        for headers in ({}, {"Authorization": "Bearer "}, AUTH):
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


async def test_the_right_key_gets_the_figures(
    http: httpx.AsyncClient, store: PortalStore, counters: PortalMetrics
) -> None:
    # Taken here, not at import: the age below is measured against the endpoint's own clock.
    now = datetime.now(UTC)
    reply = OutgoingReply(submitted_at=now, language="de", text="Anbei", declaration=True)
    store.enqueue("m-old", reply, "k-old", now - timedelta(hours=2))
    rejected = store.enqueue("m-rejected", reply, "k-rejected", now)
    # Both leased for a day: still being delivered however long the test runs.
    store.claim_due(now, 86_400, 10)
    store.mark_rejected(rejected.id, "link_revoked")
    counters.delivery_attempts.inc(3)
    counters.delivery_failures.labels(reason="unavailable").inc()

    asked = datetime.now(UTC)
    response = await http.get("/_metrics", headers={"Authorization": f"bearer  {KEY}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert response.headers["cache-control"] == "no-store"
    samples = parse(response.text)
    assert value(samples, "portal_outbox_entries", state="rejected") == 1
    assert value(samples, "portal_outbox_entries", state="delivering") == 1
    assert value(samples, "portal_outbox_entries", state="pending") == 0
    # The oldest was enqueued two hours before `now`, and its age is measured when asked.
    expected_age = (asked - (now - timedelta(hours=2))).total_seconds()
    assert abs(value(samples, "portal_outbox_oldest_undelivered_age_seconds") - expected_age) <= 5
    assert value(samples, "portal_delivery_attempts_total") == 3
    assert value(samples, "portal_delivery_failures_total", reason="unavailable") == 1
    assert value(samples, "portal_delivery_failures_total", reason="internal") == 0
    assert value(samples, "portal_outbox_rejected_total") == 0  # this process rejected nothing
    # The labelled series exist from the start, at 0, so a rate over them is defined at once.
    for outcome in LINK_OUTCOMES:
        assert value(samples, "portal_link_openings_total", outcome=outcome) == 0
    for reason in UPLOAD_REASONS:
        assert value(samples, "portal_uploads_refused_total", reason=reason) == 0

    head = await http.head("/_metrics", headers=AUTH)
    assert head.status_code == 200 and head.content == b""


async def test_only_reads_and_other_paths_pass_through(http: httpx.AsyncClient) -> None:
    assert (await http.post("/_metrics", headers=AUTH)).status_code == 405
    for path in ("/", "/_metrics2", "/staff/_metrics", "/_event"):
        assert (await http.get(path, headers=AUTH)).status_code == 204


async def test_a_broken_database_fails_the_scrape_not_the_portal(tmp_path: Path) -> None:
    broken = PortalStore(f"sqlite:///{tmp_path / 'no-tables.sqlite3'}")
    app = MetricsEndpoint(downstream, key=SecretStr(KEY), registry=scrape_registry(lambda: broken))
    async with _client(app) as client:
        response = await client.get("/_metrics", headers=AUTH)
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
        response = await client.get("/_metrics", headers=AUTH)
        assert response.status_code == 200 and "portal_outbox_entries" in response.text
        assert response.headers["x-content-type-options"] == "nosniff"


# ------------------------------------------------------------------ the counters on the real paths


@pytest.fixture
async def portal(portal_runtime: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app's own layers (guard, health, metrics) as Reflex applies them, the metrics endpoint
    given a key (the app's took the key of the environment it was imported in: none)."""
    asgi: Any = downstream
    transformers = app.api_transformer if isinstance(app.api_transformer, list) else [app.api_transformer]
    for transform in transformers:
        layer = transform(asgi)
        asgi = with_metrics(SecretStr(KEY), portal_runtime.store)(asgi) if isinstance(layer, MetricsEndpoint) else layer
    async with _client(asgi) as client:
        yield client


def moved(before: Samples, after: Samples) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The counters that changed between two scrapes, and by how much (other tests in this process
    count into the same process-wide counters, so only the difference says what this one did)."""
    return {
        key: after[key] - before.get(key, 0.0)
        for key in after
        if key[0].endswith("_total") and after[key] != before.get(key, 0.0)
    }


def series(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


async def test_opening_links_counts_each_outcome(
    portal: httpx.AsyncClient, case_service: Any, create_message: CreateMessage
) -> None:
    message_id, token = await create_message("question")
    before = await scrape(portal)
    await opened(token)
    await revoke(case_service, message_id)
    again = await opened_or_not(token)
    assert again.error_code == "link_revoked"
    after = await scrape(portal)
    assert moved(before, after) == {
        series("portal_link_openings_total", outcome="opened"): 1,
        series("portal_link_openings_total", outcome="link_revoked"): 1,
    }
    # Nothing that names the link or the message becomes a label.
    text = (await portal.get("/_metrics", headers=AUTH)).text
    assert token not in text and message_id not in text


async def opened_or_not(token: str) -> ReplyState:
    """A tab that tried to open the link, whatever came of it."""
    state = substate(ReplyState)
    state.router = RouterData(session=SessionData(client_token="tab-again", client_ip="127.0.0.1"))
    state._token = token
    await state._verify_and_show()
    return state


async def test_refused_uploads_count_by_reason_in_the_guard_and_the_session(
    portal: httpx.AsyncClient, create_message: CreateMessage
) -> None:
    _, token = await create_message("question")
    state = await opened(token)
    state.step, state.item_index = "item", 0
    before = await scrape(portal)

    # Refused by the guard before the body is read: too large, and from a tab that opened no link.
    handler = {"reflex-event-handler": _upload_handler(), "reflex-client-token": "tab-without-a-link"}
    too_large = await portal.post("/_upload", headers={**handler, "content-length": str(10**12)})
    assert too_large.status_code == 413
    unverified = await portal.post("/_upload", content=b"x" * 100, headers=handler)
    assert (unverified.status_code, unverified.json()) == (403, {"code": "link_not_verified"})
    # Refused in the session: a web page is no document (judged by its content, not its name).
    await state.upload(
        [
            UploadFile(file=io.BytesIO(b"<!DOCTYPE html><html><body>x</body></html>"), path=Path("scan.pdf")),
            UploadFile(file=io.BytesIO(blank_pdf()), path=Path("vertrag.pdf")),
        ]
    )
    assert len(state._uploads) == 1 and len(state.upload_errors) == 1

    after = await scrape(portal)
    assert moved(before, after) == {
        series("portal_uploads_refused_total", reason="upload_too_large"): 1,
        series("portal_uploads_refused_total", reason="link_not_verified"): 1,
        series("portal_uploads_refused_total", reason="file_type_html"): 1,
    }


def _upload_handler() -> str:
    """The name the browser sends an upload under, as the app tells the guard."""
    return format_event_handler(ReplyState.upload)


async def test_deliveries_and_rejections_count_and_the_outbox_gauges_follow(
    portal: httpx.AsyncClient,
    portal_runtime: Any,
    case_service: Any,
    create_message: CreateMessage,
) -> None:
    store = portal_runtime.store()
    files = portal_runtime.files_dir()
    answered, _ = await create_message("question")
    refused, _ = await create_message("question")
    await revoke(case_service, refused)
    now = datetime.now(UTC)
    store.enqueue(answered, make_reply(files, n_files=1, size=1000), "key-answered", now)
    store.enqueue(refused, make_reply(files, n_files=1, size=1000), "key-refused", now)
    before = await scrape(portal)
    assert value(before, "portal_outbox_entries", state="pending") == 2

    async with portal_runtime.case_service() as client:
        report = await delivery.deliver_due(store, portal_runtime.file_storage(), client, portal_runtime.retry_policy())
    assert (len(report.delivered), len(report.rejected)) == (1, 1)

    after = await scrape(portal)
    assert moved(before, after) == {
        series("portal_delivery_attempts_total"): 2,
        series("portal_delivery_delivered_total"): 1,
        series("portal_outbox_rejected_total"): 1,
    }
    entries = {
        state: value(after, "portal_outbox_entries", state=state) for state in ("pending", "delivered", "rejected")
    }
    assert entries == {"pending": 0, "delivered": 1, "rejected": 1}
    assert value(after, "portal_outbox_oldest_undelivered_age_seconds") == 0
