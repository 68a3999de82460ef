"""The outbox on a real SQLite file (and on PostgreSQL when the machine's server is reachable)."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from portal.domain.errors import AlreadySubmitted, LinkError
from portal.domain.outgoing import ItemAnswer, OutboxState, OutgoingFile, OutgoingReply
from portal.outbox.store import PortalStore, outbox

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
REPLY = OutgoingReply(submitted_at=NOW, language="de", text="Anbei", declaration=True)


def _with_file(tmp_path: Path, name: str = "a" * 32) -> OutgoingReply:
    file = OutgoingFile(
        key="f1",
        name="Arbeitsvertrag_1.pdf",
        original_name="Vertrag.pdf",
        media_type="application/pdf",
        size=1,
        pages=1,
        sha512="0" * 128,
        stored_as=name,
    )
    item = ItemAnswer(item_id="item-1", status="provided", files=("f1",))
    return REPLY.model_copy(update={"items": (item,), "files": (file,)})


def test_enqueue_commits_durably_and_reads_back(store: PortalStore, database_url: str, tmp_path: Path) -> None:
    entry = store.enqueue("msg-1", _with_file(tmp_path), "key-1", NOW)
    assert entry.state is OutboxState.pending
    assert entry.created_at == NOW and entry.next_attempt_at == NOW
    assert entry.created_at.tzinfo is not None
    assert entry.attempts == 0 and entry.lease_until is None and entry.reply_id is None
    # The reply comes back whole: the body as the case service will get it, and each file's path.
    assert entry.reply == _with_file(tmp_path)
    assert entry.reply.wire() == _with_file(tmp_path).wire()

    # A second store on the same file (another process, or after a restart) sees it.
    other = PortalStore(database_url)
    assert other.get(entry.reference) == entry
    assert other.get(entry.reference.lower()) == entry
    assert other.by_message("msg-1") == entry
    assert other.get("RK-2222-2222") is None and other.by_message("nope") is None
    other.dispose()

    db = sqlite3.connect(tmp_path / "db" / "portal.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_entries_of_several_messages_in_one_query(store: PortalStore, tmp_path: Path) -> None:
    first = store.enqueue("msg-1", _with_file(tmp_path), "key-1", NOW)
    second = store.enqueue("msg-2", _with_file(tmp_path), "key-2", NOW)
    assert store.by_messages([]) == {}
    assert store.by_messages(["msg-2", "msg-1", "msg-3"]) == {"msg-1": first, "msg-2": second}


def test_double_submit_with_same_key_gives_one_entry(store: PortalStore, tmp_path: Path) -> None:
    first = store.enqueue("msg-1", _with_file(tmp_path), "key-1", NOW)
    again = store.enqueue("msg-1", _with_file(tmp_path), "key-1", NOW + timedelta(seconds=3))
    assert again == first
    assert len(store.in_state(OutboxState.pending)) == 1


def test_other_submission_for_the_same_message_is_refused(store: PortalStore, tmp_path: Path) -> None:
    first = store.enqueue("msg-1", _with_file(tmp_path), "key-1", NOW)
    with pytest.raises(AlreadySubmitted) as caught:
        store.enqueue("msg-1", REPLY.model_copy(update={"text": "anders"}), "key-2", NOW)
    assert isinstance(caught.value, LinkError)
    assert caught.value.code == "already_submitted"
    assert (caught.value.reference, caught.value.submitted_at) == (first.reference, first.created_at)
    assert caught.value.params == {"reference": first.reference, "submitted_at": NOW}
    # The refused submission left nothing behind.
    assert [e.reference for e in store.in_state(OutboxState.pending)] == [first.reference]


def test_concurrent_double_submit_from_threads(database_url: str, store: PortalStore, tmp_path: Path) -> None:
    stores = [PortalStore(database_url) for _ in range(4)]
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(stores))

    def submit(s: PortalStore) -> None:
        barrier.wait()
        try:
            results.append(s.enqueue("msg-race", REPLY, "same-key", NOW).reference)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1 and len(results) == 4
    for s in stores:
        s.dispose()


def test_naive_datetimes_are_refused(store: PortalStore) -> None:
    with pytest.raises(Exception, match="naive"):
        store.enqueue("msg-1", REPLY, "key-1", NOW.replace(tzinfo=None))
    assert store.by_message("msg-1") is None


def test_idempotency_keys(store: PortalStore) -> None:
    # The case service would refuse these for good; refuse them before anything is stored.
    for bad in ("", "has space", "x" * 129, "ümlaut"):
        with pytest.raises(ValueError, match="idempotency key"):
            store.enqueue("msg-1", REPLY, bad, NOW)
    assert store.by_message("msg-1") is None


def test_claim_due_respects_schedule_and_lease(store: PortalStore) -> None:
    due = store.enqueue("msg-1", REPLY, "k1", NOW)
    later = store.enqueue("msg-2", REPLY, "k2", NOW + timedelta(minutes=5))

    claimed = store.claim_due(NOW, lease_seconds=60, limit=10)
    assert [e.id for e in claimed] == [due.id]
    assert claimed[0].attempts == 1 and claimed[0].lease_until == NOW + timedelta(seconds=60)

    # Leased: nobody else gets it until the lease runs out, then it is claimable again.
    assert store.claim_due(NOW + timedelta(seconds=59), 60, 10) == []
    again = store.claim_due(NOW + timedelta(seconds=61), 60, 10)
    assert [e.id for e in again] == [due.id] and again[0].attempts == 2
    assert later.id not in {e.id for e in again}

    # At its time the later one is due too, and the first one's lease has run out by then;
    # the oldest schedule comes first and ``limit`` bounds the batch.
    assert [e.id for e in store.claim_due(NOW + timedelta(minutes=5), 60, 1)] == [due.id]
    assert [e.id for e in store.claim_due(NOW + timedelta(minutes=5), 60, 10)] == [later.id]


def test_claim_is_exclusive_between_two_stores_on_one_file(database_url: str, store: PortalStore) -> None:
    for i in range(30):
        store.enqueue(f"msg-{i}", REPLY, f"k{i}", NOW)
    a, b = PortalStore(database_url), PortalStore(database_url)
    got_a, got_b = _claimed_in_parallel([a, b], rounds=10)
    assert not set(got_a) & set(got_b)
    assert sorted(got_a + got_b) == sorted(e.id for e in store.in_state(OutboxState.pending))
    a.dispose()
    b.dispose()


def _claimed_in_parallel(stores: list[PortalStore], rounds: int) -> list[list[int]]:
    """The entries each store claimed, in ``rounds`` claims of up to four, all stores at once."""
    got: list[list[int]] = [[] for _ in stores]
    barrier = threading.Barrier(len(stores))

    def work(mine: list[int], s: PortalStore) -> None:
        barrier.wait()
        for _ in range(rounds):
            mine.extend(e.id for e in s.claim_due(NOW, 60, 4))

    threads = [threading.Thread(target=work, args=(mine, s)) for mine, s in zip(got, stores, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got


def test_marks(store: PortalStore) -> None:
    e1 = store.enqueue("msg-1", REPLY, "k1", NOW)
    e2 = store.enqueue("msg-2", REPLY, "k2", NOW)
    e3 = store.enqueue("msg-3", REPLY, "k3", NOW)
    store.claim_due(NOW, 60, 10)

    store.mark_delivered(e1.id, "reply-9", NOW + timedelta(seconds=1))
    store.mark_retry(e2.id, "case_service_unavailable", NOW + timedelta(seconds=30))
    store.mark_rejected(e3.id, "link_revoked")

    d = store.get(e1.reference)
    assert d is not None and d.state is OutboxState.delivered
    assert d.reply_id == "reply-9" and d.delivered_at == NOW + timedelta(seconds=1) and d.lease_until is None
    r = store.get(e2.reference)
    assert r is not None and r.state is OutboxState.pending and r.last_error_code == "case_service_unavailable"
    assert r.lease_until is None and r.next_attempt_at == NOW + timedelta(seconds=30)
    x = store.get(e3.reference)
    assert x is not None and x.state is OutboxState.rejected and x.last_error_code == "link_revoked"

    # Retry is due only at its time; delivered and rejected entries are never claimed again.
    assert store.claim_due(NOW + timedelta(seconds=29), 60, 10) == []
    assert [e.id for e in store.claim_due(NOW + timedelta(seconds=30), 60, 10)] == [e2.id]

    # Final states stay final, whatever a late worker reports.
    store.mark_rejected(e1.id, "late")
    store.mark_retry(e3.id, "late", NOW)
    assert store.get(e1.reference).state is OutboxState.delivered  # type: ignore[union-attr]
    assert store.get(e3.reference).last_error_code == "link_revoked"  # type: ignore[union-attr]


def test_postgresql(pg_url: str, tmp_path: Path) -> None:
    a, b = PortalStore(pg_url), PortalStore(pg_url)
    try:
        a.create_all()
        first = a.enqueue("msg-1", _with_file(tmp_path), "k1", NOW)
        assert b.enqueue("msg-1", _with_file(tmp_path), "k1", NOW) == first
        with pytest.raises(AlreadySubmitted):
            b.enqueue("msg-1", REPLY, "k2", NOW)
        assert b.get(first.reference) == first and first.created_at == NOW
        for i in range(2, 20):
            a.enqueue(f"msg-{i}", REPLY, f"k{i}", NOW)
        got_a, got_b = _claimed_in_parallel([a, b], rounds=6)
        assert not set(got_a) & set(got_b) and len(got_a + got_b) == 19
        a.mark_delivered(first.id, "r1", NOW)
        assert b.get(first.reference).state is OutboxState.delivered  # type: ignore[union-attr]
    finally:
        a.dispose()
        b.dispose()


def test_undelivered_file_paths_lists_what_retention_must_keep(store: PortalStore, tmp_path: Path) -> None:
    pending = store.enqueue("msg-1", _with_file(tmp_path), "key-1", NOW)
    delivered = store.enqueue("msg-2", _with_file(tmp_path, "b" * 32), "key-2", NOW)
    store.mark_delivered(delivered.id, "reply-1", NOW)
    assert store.undelivered_file_keys() == [f.stored_as for f in pending.reply.files] == ["a" * 32]


def test_stats_count_each_state_and_age_the_oldest_undelivered(store: PortalStore) -> None:
    empty = store.stats(NOW)
    assert (empty.pending, empty.delivering, empty.delivered, empty.rejected) == (0, 0, 0, 0)
    assert empty.oldest_undelivered_at is None
    for i in range(5):
        store.enqueue(f"msg-{i}", REPLY, f"k{i}", NOW + timedelta(minutes=i))
    # Claimed (leased) entries are being delivered; the lease running out makes them pending again.
    leased = store.claim_due(NOW + timedelta(minutes=10), 60, 3)
    store.mark_delivered(leased[0].id, "r0", NOW)
    store.mark_rejected(leased[1].id, "link_revoked")
    stats = store.stats(NOW + timedelta(minutes=10, seconds=30))
    assert (stats.pending, stats.delivering, stats.delivered, stats.rejected, stats.resolved) == (2, 1, 1, 1, 0)
    assert stats.oldest_undelivered_at == NOW + timedelta(minutes=2)
    later = store.stats(NOW + timedelta(minutes=12))
    assert (later.pending, later.delivering) == (3, 0)


def test_an_operator_retries_or_resolves_only_a_rejected_entry(store: PortalStore, tmp_path: Path) -> None:
    rejected = store.enqueue("msg-1", _with_file(tmp_path), "k1", NOW)
    pending = store.enqueue("msg-2", REPLY, "k2", NOW)
    store.claim_due(NOW, 60, 1)
    store.mark_rejected(rejected.id, "validation_error")
    assert store.requeue(pending.reference, NOW) is None and store.mark_resolved(pending.reference) is None

    again = store.requeue(f" {rejected.reference.lower()} ", NOW + timedelta(hours=1))
    assert again is not None and again.state is OutboxState.pending
    assert (again.attempts, again.last_error_code, again.next_attempt_at) == (0, None, NOW + timedelta(hours=1))
    assert rejected.id in [e.id for e in store.claim_due(NOW + timedelta(hours=1), 60, 5)]

    store.mark_rejected(rejected.id, "validation_error")
    assert rejected.reply.files[0].stored_as in store.undelivered_file_keys()  # rejected: retention keeps them
    resolved = store.mark_resolved(rejected.reference)
    assert resolved is not None and resolved.state is OutboxState.resolved
    assert rejected.reply.files[0].stored_as not in store.undelivered_file_keys()
    assert store.requeue(rejected.reference, NOW) is None  # resolved is final
    assert store.stats(NOW).resolved == 1


def test_a_reply_stored_before_the_typed_model_reads_back_and_sends_the_same_json(
    store: PortalStore, tmp_path: Path
) -> None:
    # What databases already hold: the payload and files columns as the portal always wrote them.
    payload = {
        "submitted_at": "2026-03-02T09:30:00.123456+00:00",
        "language": "ar",
        "text": "Anbei – الوثائق",
        "items": [
            {"item_id": "item-1", "status": "provided", "files": ["f1"], "reason": "", "expected_date": None},
            {
                "item_id": "item-2",
                "status": "not_available",
                "files": [],
                "reason": "Kommt",
                "expected_date": "2026-04-01",
            },
        ],
        "extra_documents": [{"code": "other", "description": "", "files": ["f1"]}],
        "appointment": None,
        "declaration": True,
        "files": [
            {
                "key": "f1",
                "name": "Arbeitsvertrag_ABH-1_1.pdf",
                "original_name": "scan.pdf",
                "media_type": "application/pdf",
                "size": 12,
                "pages": 1,
                "sha512": "0" * 128,
            }
        ],
    }
    # Written before the file storage: the path's last part is the storage key.
    files = [{"key": "f1", "path": str(tmp_path / ("a" * 32)), "media_type": "application/pdf", "name": "x.pdf"}]
    with store.engine.begin() as conn:
        conn.execute(
            insert(outbox).values(
                reference="RK-AAAA-BBBB",
                message_id="msg-old",
                idempotency_key="old-key",
                payload=payload,
                files=files,
                state=OutboxState.pending.value,
                attempts=0,
                next_attempt_at=NOW,
                created_at=NOW,
            )
        )
    entry = store.get("RK-AAAA-BBBB")
    assert entry is not None
    assert entry.reply.wire() == payload
    assert json.dumps(entry.reply.wire(), ensure_ascii=False) == json.dumps(payload, ensure_ascii=False)
    assert [f.stored_as for f in entry.reply.files] == ["a" * 32]
