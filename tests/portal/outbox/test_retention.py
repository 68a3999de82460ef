"""Uploads of abandoned drafts are purged; files a reply still needs are kept; delivered replies
are reduced, then deleted."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.domain.errors import AlreadySubmitted
from portal.domain.outgoing import OutboxState
from portal.outbox.entries import OutboxEntry
from portal.outbox.retention import purge_delivered, purge_orphans
from portal.outbox.store import PortalStore, outbox
from portal.storage import LocalStorage
from tests.portal.conftest import make_reply


def _file(path: Path, age_hours: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4 test")
    then = time.time() - age_hours * 3600
    os.utime(path, (then, then))
    return path


def test_old_unreferenced_files_go_and_the_rest_stay(tmp_path: Path) -> None:
    old_orphan = _file(tmp_path / ("a" * 32), 30)
    fresh_draft = _file(tmp_path / ("b" * 32), 1)
    old_but_submitted = _file(tmp_path / ("c" * 32), 30)
    crashed_intake = _file(tmp_path / "stray" / ("d" * 32), 30)
    deleted = purge_orphans(LocalStorage(tmp_path), ["c" * 32], timedelta(hours=24), datetime.now(UTC))
    assert deleted == 2
    assert not old_orphan.exists() and not crashed_intake.exists() and not crashed_intake.parent.exists()
    assert fresh_draft.exists() and old_but_submitted.exists()


# ---------------------------------------------------------------- delivered replies in the outbox

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, database_url: str) -> Iterator[PortalStore]:
    url = database_url if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = PortalStore(url)
    s.create_all()
    try:
        yield s
    finally:
        s.dispose()


def _delivered(store: PortalStore, folder: Path, message_id: str, days_ago: float) -> OutboxEntry:
    entry = store.enqueue(message_id, make_reply(folder / message_id), f"key-{message_id}", NOW - timedelta(days=400))
    store.mark_delivered(entry.id, f"reply-{message_id}", NOW - timedelta(days=days_ago))
    found = store.get(entry.reference)
    assert found is not None
    return found


def test_delivered_replies_are_reduced_then_deleted(store: PortalStore, tmp_path: Path) -> None:
    old = _delivered(store, tmp_path, "msg-old", days_ago=40)
    recent = _delivered(store, tmp_path, "msg-recent", days_ago=10)
    ancient = _delivered(store, tmp_path, "msg-ancient", days_ago=400)
    pending = store.enqueue("msg-pending", make_reply(tmp_path / "p"), "key-pending", NOW - timedelta(days=400))
    rejected = store.enqueue("msg-rejected", make_reply(tmp_path / "r"), "key-rejected", NOW - timedelta(days=400))
    store.mark_rejected(rejected.id, "link_revoked")

    assert purge_delivered(store, timedelta(days=30), timedelta(days=365), NOW) == (2, 1)

    reduced = store.get(old.reference)
    assert reduced is not None and reduced.reply is None
    # What an operator needs stays: which reply, for which message, when, in which state.
    assert (reduced.message_id, reduced.state, reduced.reply_id) == ("msg-old", OutboxState.delivered, "reply-msg-old")
    assert (reduced.created_at, reduced.delivered_at) == (old.created_at, old.delivered_at)
    # What the applicant wrote and sent does not: no text, reason, file name or hash in the row.
    with store.engine.connect() as conn:
        row = conn.execute(select(outbox.c.payload, outbox.c.files).where(outbox.c.id == old.id)).one()
    assert old.reply is not None and old.reply.files
    for secret in (old.reply.text, "Noch nicht erhalten", old.reply.files[0].name, old.reply.files[0].sha512):
        assert secret not in json.dumps(row.payload) + json.dumps(row.files)

    assert store.get(ancient.reference) is None
    assert store.get(recent.reference) == recent
    # Replies not yet delivered, or refused and kept for an operator, are never touched.
    assert store.get(pending.reference) == pending
    assert store.get(rejected.reference).reply == rejected.reply  # type: ignore[union-attr]
    # The outbox still answers "already submitted" for a reduced reply's message.
    with pytest.raises(AlreadySubmitted):
        store.enqueue("msg-old", make_reply(tmp_path / "again"), "key-again", NOW)
    # Run again: nothing left to do.
    assert purge_delivered(store, timedelta(days=30), timedelta(days=365), NOW) == (0, 0)


def test_a_reduced_entry_holds_no_reply_to_send(store: PortalStore, tmp_path: Path) -> None:
    old = _delivered(store, tmp_path, "msg-old", days_ago=40)
    purge_delivered(store, timedelta(days=30), timedelta(days=365), NOW)
    reduced = store.get(old.reference)
    assert reduced is not None
    with pytest.raises(RuntimeError):
        reduced.held_reply()
