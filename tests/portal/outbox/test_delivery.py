"""Draining the outbox into the real reference case service, including while it is down."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from pydantic import SecretStr

from portal.client import CaseServiceClient
from portal.domain import clock
from portal.domain.outgoing import OutboxState, OutgoingFile, OutgoingReply
from portal.domain.staff_status import StaffStatus, status_of
from portal.metrics import PortalMetrics
from portal.outbox import delivery
from portal.outbox.delivery import (
    RetryPolicy,
    backoff_seconds,
    deliver_due,
    kick,
    run_delivery_loop,
)
from portal.outbox.entries import OutboxEntry
from portal.outbox.retention import purge_orphans
from portal.outbox.store import PortalStore
from portal.server.metrics import scrape_registry
from portal.settings import PortalSettings
from portal.storage import FileStorage, make_storage
from tests.portal.conftest import AUTHORITY, CreateMessage, authority_client, file_bytes, make_reply, replies_for


@pytest.fixture
def settings(tmp_path: Path, case_service: Any) -> PortalSettings:
    return PortalSettings(
        data_dir=tmp_path / "portal",
        case_service_url=case_service.url,
        case_service_key=SecretStr(case_service.portal_key),
        request_timeout_seconds=2.0,
    )


@pytest.fixture
def policy() -> RetryPolicy:
    return RetryPolicy(initial_seconds=2.0, max_seconds=60.0, poll_seconds=30.0)


@pytest.fixture
def store(settings: PortalSettings) -> Iterator[PortalStore]:
    s = PortalStore(settings.effective_database_url)
    s.create_all()
    yield s
    s.dispose()


@pytest.fixture(params=["local", "database"])
def files(request: pytest.FixtureRequest, settings: PortalSettings, store: PortalStore) -> FileStorage:
    """Both file storages: this machine's folder, and the database every instance shares."""
    return make_storage(request.param, store.engine, settings.files_dir, clock.now)


def _read(files: FileStorage, file: OutgoingFile) -> bytes:
    with files.open(file.stored_as) as handle:
        return handle.read()


def _restore(files: FileStorage, file: OutgoingFile, data: bytes) -> None:
    (files.work_dir / file.stored_as).write_bytes(data)
    files.keep(file.stored_as)


@pytest.fixture
async def client(settings: PortalSettings) -> AsyncIterator[CaseServiceClient]:
    async with _client(settings) as c:
        yield c


def _client(settings: PortalSettings) -> CaseServiceClient:
    return CaseServiceClient(
        settings.case_service_url,
        settings.case_service_key.get_secret_value(),
        timeout=settings.request_timeout_seconds,
    )


def _enqueue(store: PortalStore, files: FileStorage, message_id: str, key: str, now: datetime) -> OutboxEntry:
    reply = _kept(files, make_reply(files.work_dir, n_files=2, size=200_000))
    # The case service outlives one test: a key of its own for each storage's run.
    return store.enqueue(message_id, reply, f"{key}-{secrets.token_hex(4)}", now)


def _kept(files: FileStorage, reply: OutgoingReply) -> OutgoingReply:
    for file in reply.files:
        files.keep(file.stored_as)
    return reply


def _current(store: PortalStore, entry: OutboxEntry) -> OutboxEntry:
    found = store.get(entry.reference)
    assert found is not None
    return found


def test_backoff_grows_exponentially_with_jitter_and_a_cap(policy: RetryPolicy) -> None:
    for attempts, base in [(1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0), (6, 60.0), (40, 60.0)]:
        for _ in range(20):
            assert base <= backoff_seconds(attempts, policy) <= base * 1.1


async def test_enqueued_while_down_is_delivered_exactly_once_when_back(
    case_service: Any,
    create_message: CreateMessage,
    store: PortalStore,
    files: FileStorage,
    client: CaseServiceClient,
    settings: PortalSettings,
    policy: RetryPolicy,
) -> None:
    message_id, _ = await create_message()
    case_service.stop()
    try:
        now = datetime.now(UTC)
        entry = _enqueue(store, files, message_id, "key-down", now)
        digests = {f.name: hashlib.sha512(_read(files, f)).hexdigest() for f in entry.reply.files}

        report = await deliver_due(store, files, client, policy, now=now)
        assert report.retried == (entry.reference,) and not report.delivered and not report.rejected
        waiting = _current(store, entry)
        assert waiting.state is OutboxState.pending and waiting.attempts == 1
        assert waiting.last_error_code == "case_service_unavailable"
        assert now + timedelta(seconds=2) <= waiting.next_attempt_at <= now + timedelta(seconds=2.2)
        assert all(files.exists(f.stored_as) for f in entry.reply.files)

        # Not due again before its time: nothing happens.
        assert (await deliver_due(store, files, client, policy, now=now + timedelta(seconds=1))).claimed == 0

        # Still down at the next try: the delay doubles.
        later = waiting.next_attempt_at
        await deliver_due(store, files, client, policy, now=later)
        again = _current(store, entry)
        assert again.attempts == 2
        assert later + timedelta(seconds=4) <= again.next_attempt_at <= later + timedelta(seconds=4.4)
    finally:
        case_service.start()

    report = await deliver_due(store, files, client, policy, now=again.next_attempt_at)
    assert report.delivered == (entry.reference,)
    done = _current(store, entry)
    assert done.state is OutboxState.delivered and done.reply_id and done.delivered_at is not None
    assert not any(files.exists(f.stored_as) for f in entry.reply.files)

    # Nothing left to do; the authority sees exactly one reply, with the bytes we held.
    assert (await deliver_due(store, files, client, policy, now=done.next_attempt_at + timedelta(hours=1))).claimed == 0
    [reply] = await replies_for(case_service, message_id)
    assert reply["id"] == done.reply_id
    [item] = [i for i in reply["items"] if i["item_id"] == "item-1"]
    assert sorted(f["sha512"] for f in item["files"]) == sorted(digests.values())
    for f in item["files"]:
        assert hashlib.sha512(await file_bytes(case_service, reply["id"], f["id"])).hexdigest() == f["sha512"]


async def test_an_outage_defers_the_whole_batch_without_waiting_for_each(
    create_message: CreateMessage, store: PortalStore, files: FileStorage, settings: PortalSettings, policy: RetryPolicy
) -> None:
    ids = [(await create_message())[0] for _ in range(3)]
    now = datetime.now(UTC)
    entries = [_enqueue(store, files, message_id, f"key-batch-{i}", now) for i, message_id in enumerate(ids)]
    # A server that never answers: without the batch cut-off this round would take 3 timeouts.
    async with _hanging_server() as (url, connections):
        hanging = settings.model_copy(update={"case_service_url": url, "request_timeout_seconds": 0.5})
        async with _client(hanging) as client:
            report = await deliver_due(store, files, client, policy, now=now)
    # One reply waited for the timeout; the other two were deferred without a try of their own.
    assert sorted(report.retried) == sorted(e.reference for e in entries) and len(connections) == 1
    for entry in entries:
        current = _current(store, entry)
        assert current.state is OutboxState.pending and current.next_attempt_at > now
        assert current.last_error_code == "case_service_unavailable"


@contextlib.asynccontextmanager
async def _hanging_server() -> AsyncIterator[tuple[str, list[asyncio.StreamWriter]]]:
    """A server that accepts and never answers; yields its URL and the connections it holds."""
    held: list[asyncio.StreamWriter] = []

    async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # keep the connection open and never answer

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", held
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_replay_after_a_lost_confirmation_gives_one_reply(
    case_service: Any,
    create_message: CreateMessage,
    store: PortalStore,
    files: FileStorage,
    client: CaseServiceClient,
    settings: PortalSettings,
    policy: RetryPolicy,
) -> None:
    # The case service took the reply but the portal crashed before marking it: the next round
    # sends it again with the same key and must get the first result, not a rejection.
    message_id, _ = await create_message()
    now = datetime.now(UTC)
    entry = _enqueue(store, files, message_id, "key-replay", now)
    first = await client.deliver_reply(message_id, entry.reply, entry.idempotency_key, files)

    report = await deliver_due(store, files, client, policy, now=now)
    assert report.delivered == (entry.reference,)
    assert _current(store, entry).reply_id == first.reply_id
    assert len(await replies_for(case_service, message_id)) == 1


async def test_answered_elsewhere_is_rejected_and_files_kept(
    create_message: CreateMessage,
    store: PortalStore,
    files: FileStorage,
    client: CaseServiceClient,
    settings: PortalSettings,
    caplog: pytest.LogCaptureFixture,
    policy: RetryPolicy,
) -> None:
    message_id, _ = await create_message()
    now = datetime.now(UTC)
    other = _kept(files, make_reply(files.work_dir, n_files=1, size=1000))
    await client.deliver_reply(message_id, other, f"someone-else-{secrets.token_hex(4)}", files)
    entry = _enqueue(store, files, message_id, "key-late", now)

    report = await deliver_due(store, files, client, policy, now=now)
    assert report.rejected == (entry.reference,)
    rejected = _current(store, entry)
    assert rejected.state is OutboxState.rejected and rejected.last_error_code == "link_answered"
    assert all(files.exists(f.stored_as) for f in entry.reply.files)
    assert entry.reference in caplog.text and "Amina" not in caplog.text and "Arbeitsvertrag" not in caplog.text
    assert (await deliver_due(store, files, client, policy, now=now + timedelta(days=1))).claimed == 0


async def test_a_refusal_keeps_the_files_alerts_counts_and_shows_staff(
    case_service: Any,
    create_message: CreateMessage,
    store: PortalStore,
    files: FileStorage,
    client: CaseServiceClient,
    settings: PortalSettings,
    caplog: pytest.LogCaptureFixture,
    policy: RetryPolicy,
) -> None:
    # Staff revoked the link just before the applicant's reply was committed (the case service
    # accepts a reply submitted before the revocation, so the revocation comes first here).
    message_id, token = await create_message()
    async with authority_client(case_service) as http:
        assert (await http.post(f"/api/v1/messages/{message_id}/revoke", json={})).status_code == 200
    now = datetime.now(UTC)
    entry = _enqueue(store, files, message_id, "key-refused", now)
    counters = PortalMetrics()

    with caplog.at_level(logging.INFO):
        report = await deliver_due(store, files, client, policy, now=now, counters=counters)

    assert report.rejected == (entry.reference,)
    refused = _current(store, entry)
    assert refused.state is OutboxState.rejected and refused.last_error_code == "link_revoked"
    assert all(files.exists(f.stored_as) for f in entry.reply.files)

    # One ERROR line an operator can alert on: reference, message id, the case service's code.
    [alert] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    line = alert.getMessage()
    assert entry.reference in line and f"message={message_id}" in line and "code=link_revoked" in line
    for secret in (token, "Amina", "Arbeitsvertrag", "upload-1", entry.idempotency_key):
        assert secret not in caplog.text

    # The metrics say so: the process counter and the database's gauge.
    counted = [
        counters.registry.get_sample_value(f"portal_{name}_total")
        for name in ("delivery_attempts", "outbox_rejected", "delivery_delivered")
    ]
    assert counted == [1, 1, 0]
    text = generate_latest(scrape_registry(lambda: store, counters)).decode()
    assert "portal_outbox_rejected_total 1.0\n" in text
    assert 'portal_outbox_entries{state="rejected"} 1.0\n' in text
    assert 'portal_outbox_entries{state="pending"} 0.0\n' in text

    # Retention keeps the files of a rejected reply however old they are; an orphan beside goes.
    orphan = "0" * 32
    (files.work_dir / orphan).write_bytes(b"x")
    files.keep(orphan)
    later = now + timedelta(days=30)
    assert purge_orphans(files, store.undelivered_file_keys(), timedelta(hours=24), later) == 1
    assert not files.exists(orphan) and all(files.exists(f.stored_as) for f in entry.reply.files)

    # Staff see it in their list, although the case service says "revoked".
    [summary] = await client.staff_messages(AUTHORITY, message_id=message_id)
    assert summary.link_state.value == "revoked"
    line_for_staff = status_of(summary, store.by_messages([message_id])[message_id], None)
    assert (line_for_staff.status, line_for_staff.since) == (StaffStatus.REFUSED, entry.created_at)

    # It is never tried again by itself.
    later_still = now + timedelta(days=1)
    assert (await deliver_due(store, files, client, policy, now=later_still, counters=counters)).claimed == 0
    assert await replies_for(case_service, message_id) == []


async def test_an_operator_retry_delivers_a_rejected_reply(
    case_service: Any,
    create_message: CreateMessage,
    store: PortalStore,
    files: FileStorage,
    client: CaseServiceClient,
    settings: PortalSettings,
    policy: RetryPolicy,
) -> None:
    # Refused for a cause that has since been fixed (here: a file restored from the backup).
    message_id, _ = await create_message()
    now = datetime.now(UTC)
    entry = _enqueue(store, files, message_id, "key-operator", now)
    first = entry.reply.files[0]
    saved = _read(files, first)
    files.delete([first.stored_as])
    assert (await deliver_due(store, files, client, policy, now=now)).rejected == (entry.reference,)
    _restore(files, first, saved)

    requeued = store.requeue(entry.reference.lower(), now)
    assert requeued is not None and requeued.state is OutboxState.pending and requeued.attempts == 0
    assert store.requeue(entry.reference, now) is None  # only a rejected entry can be sent again
    assert (await deliver_due(store, files, client, policy, now=now)).delivered == (entry.reference,)
    assert len(await replies_for(case_service, message_id)) == 1


async def test_revoked_and_invalid_and_missing_files_are_rejected(
    case_service: Any,
    create_message: CreateMessage,
    store: PortalStore,
    files: FileStorage,
    client: CaseServiceClient,
    settings: PortalSettings,
    policy: RetryPolicy,
) -> None:
    now = datetime.now(UTC)
    revoked_id, _ = await create_message()
    async with authority_client(case_service) as http:
        assert (await http.post(f"/api/v1/messages/{revoked_id}/revoke", json={})).status_code == 200
    revoked = _enqueue(store, files, revoked_id, "key-revoked", now)

    invalid_id, _ = await create_message()
    bad = _kept(files, make_reply(files.work_dir, item_id="item-9", n_files=1, size=1000))
    invalid = store.enqueue(invalid_id, bad, f"key-invalid-{secrets.token_hex(4)}", now)

    missing_id, _ = await create_message()
    missing = _enqueue(store, files, missing_id, "key-missing", now)
    files.delete([missing.reply.files[0].stored_as])

    report = await deliver_due(store, files, client, policy, now=now)
    assert set(report.rejected) == {revoked.reference, invalid.reference, missing.reference}
    assert _current(store, revoked).last_error_code == "link_revoked"
    assert _current(store, invalid).last_error_code not in (None, "", "reply_rejected", "case_service_unavailable")
    assert _current(store, missing).last_error_code == "files_missing"
    for entry in (revoked, invalid):
        assert _current(store, entry).state is OutboxState.rejected
        assert all(files.exists(f.stored_as) for f in entry.reply.files)
    for message_id in (revoked_id, invalid_id, missing_id):
        assert await replies_for(case_service, message_id) == []


async def test_loop_delivers_at_once_when_kicked(
    case_service: Any,
    create_message: CreateMessage,
    store: PortalStore,
    files: FileStorage,
    settings: PortalSettings,
    policy: RetryPolicy,
) -> None:
    # Poll every 30 s: only the kick can explain a delivery within a few seconds.
    stop = asyncio.Event()
    task = asyncio.create_task(run_delivery_loop(store, files, lambda: _client(settings), policy, stop))
    await asyncio.sleep(0.2)  # the loop has run its first (empty) round and sleeps
    message_id, _ = await create_message()
    entry = await asyncio.to_thread(_enqueue, store, files, message_id, "key-kick", datetime.now(UTC))
    kick()
    async with asyncio.timeout(10):
        while _current(store, entry).state is not OutboxState.delivered:  # noqa: ASYNC110 - the store has no event
            await asyncio.sleep(0.05)
    assert len(await replies_for(case_service, message_id)) == 1

    stop.set()
    async with asyncio.timeout(5):
        await task
    assert not delivery._wakers


async def test_loop_takes_a_wake_event_and_survives_a_broken_round(
    store: PortalStore, files: FileStorage, settings: PortalSettings, tmp_path: Path, policy: RetryPolicy
) -> None:
    # A store whose database has gone away: each round fails, the loop logs and keeps going.
    broken = PortalStore(f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite3'}")  # no tables
    stop, wake = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_delivery_loop(broken, files, lambda: _client(settings), policy, stop, wake))
    for _ in range(3):
        wake.set()
        await asyncio.sleep(0.05)
    assert not task.done()
    stop.set()
    async with asyncio.timeout(5):
        await task
    broken.dispose()


async def test_a_slow_delivery_keeps_its_claim_and_a_dead_workers_claim_runs_out(
    create_message: CreateMessage, store: PortalStore, files: FileStorage, settings: PortalSettings
) -> None:
    message_id, _ = await create_message()
    now = datetime.now(UTC)
    entry = _enqueue(store, files, message_id, "key-lease", now)
    short = RetryPolicy(initial_seconds=2.0, max_seconds=60.0, poll_seconds=30.0, lease_seconds=0.3)
    # A case service that takes longer to answer than several leases: the worker renews its claim
    # meanwhile. Checked on the row (its lease moved past the first one), not by racing the clock.
    async with _hanging_server() as (url, _):
        slow = settings.model_copy(update={"case_service_url": url, "request_timeout_seconds": 2.0})
        async with _client(slow) as client:
            delivering = asyncio.create_task(deliver_due(store, files, client, short, now=now))
            await asyncio.sleep(1.5)
            held = _current(store, entry).lease_until
            assert held is not None and held > now + timedelta(seconds=0.3)
            # So a second worker, asking while that renewed lease runs, takes nothing.
            taken_meanwhile = await asyncio.to_thread(store.claim_due, held - timedelta(milliseconds=1), 0.3, 10)
            report = await delivering
    assert taken_meanwhile == [] and report.retried == (entry.reference,)

    # A worker that claims and then dies (no renewal) holds the reply for one short lease only.
    store.mark_retry(entry.id, "case_service_unavailable", now)
    claimed_at = datetime.now(UTC)
    assert [e.id for e in store.claim_due(claimed_at, 0.3, 10)] == [entry.id]
    assert store.claim_due(claimed_at + timedelta(seconds=0.2), 0.3, 10) == []
    assert [e.id for e in store.claim_due(claimed_at + timedelta(seconds=0.31), 0.3, 10)] == [entry.id]


def test_renewing_leaves_finished_entries_alone(
    store: PortalStore, files: FileStorage, settings: PortalSettings
) -> None:
    now = datetime.now(UTC)
    delivered = _enqueue(store, files, "msg-renew-1", "key-renew-1", now)
    pending = _enqueue(store, files, "msg-renew-2", "key-renew-2", now)
    store.mark_delivered(delivered.id, "reply-1", now)
    later = now + timedelta(minutes=5)
    assert store.renew_leases([delivered.id, pending.id], later) == 1
    assert _current(store, pending).lease_until == later
    assert _current(store, delivered).lease_until != later
