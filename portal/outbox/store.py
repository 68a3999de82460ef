"""The portal's own durable store: the outbox of replies not yet handed to the case service.

A reply is committed here *before* the applicant sees "received", so a case service that is down
never loses a reply; ``portal.outbox.delivery`` drains the outbox. SQLite by default (WAL,
synchronous=FULL: a commit survives power loss), PostgreSQL by URL for several portal instances.
Every method is synchronous and short; async callers wrap them in ``asyncio.to_thread``.

All timestamps are timezone-aware UTC on the way out; naive datetimes are refused on the way in.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from portal.database import UtcDateTime, make_engine
from portal.domain.errors import AlreadySubmitted
from portal.domain.outgoing import HOLDS_FILES, OutboxState, OutgoingFile, OutgoingReply
from portal.outbox import receipts
from portal.outbox.entries import OutboxEntry, OutboxStats, ReferenceTaken, new_reference
from portal.outbox.receipts import KeptReceipt

# What the case service accepts as an Idempotency-Key; checked at enqueue so that a bad key fails
# the submission at once instead of being rejected by the case service later.
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")


metadata = MetaData()

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(16), nullable=False, unique=True),
    # UNIQUE: this portal hands over at most one reply per message, whatever the browser does.
    Column("message_id", String(128), nullable=False, unique=True),
    Column("idempotency_key", String(128), nullable=False, unique=True),
    # The reply's JSON as the case service receives it (OutgoingReply.wire), and where its files
    # wait: [{"key", "path", "media_type", "name"}].
    Column("payload", JSON, nullable=False),
    Column("files", JSON, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("last_error_code", String(64), nullable=True),
    Column("reply_id", String(128), nullable=True),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)


class PortalStore:
    def __init__(self, database_url: str) -> None:
        self.engine: Engine = make_engine(database_url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"

    def create_all(self) -> None:
        metadata.create_all(self.engine)
        receipts.create_all(self.engine)

    def check(self) -> None:
        """Raises when the database cannot answer a query (the portal's readiness)."""
        with self.engine.connect() as conn:
            conn.execute(select(1)).scalar_one()

    def dispose(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ submitting

    def enqueue(
        self,
        message_id: str,
        reply: OutgoingReply,
        idempotency_key: str,
        now: datetime,
        reference: str | None = None,
        receipt: KeptReceipt | None = None,
    ) -> OutboxEntry:
        """Commit a reply for delivery and return its entry (with the applicant's reference).

        The same ``idempotency_key`` again returns the first entry, so a double submit gives one
        reply; another key for a message already in the outbox raises ``AlreadySubmitted``.
        ``reference`` (drawn by :func:`new_reference` before, because the receipt names it) is
        used instead of a new one, and raises ``ReferenceTaken`` if another entry has it;
        ``receipt``, the applicant's copy of it, is stored in the same transaction.
        """
        if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise ValueError("idempotency key must be 1..128 of [A-Za-z0-9_-]")
        payload_json = reply.wire()
        files_json = [_stored_file(f) for f in reply.attached]
        for _ in range(5):
            existing = self.by_message(message_id)
            if existing is not None:
                return self._same_submission(existing, idempotency_key)
            drawn = reference or new_reference()
            try:
                with self.engine.begin() as conn:
                    row_id = conn.execute(
                        insert(outbox).values(
                            reference=drawn,
                            message_id=message_id,
                            idempotency_key=idempotency_key,
                            payload=payload_json,
                            files=files_json,
                            state=OutboxState.pending.value,
                            attempts=0,
                            next_attempt_at=now,
                            lease_until=None,
                            created_at=now,
                        )
                    ).inserted_primary_key
                    if receipt is not None:
                        receipts.insert(conn, message_id, drawn, receipt, now)
                assert row_id is not None
                entry = self._get_by_id(int(row_id[0]))
                assert entry is not None
                return entry
            except IntegrityError:
                # Another request for the same message won the race (loop: we return its entry),
                # or the reference collided (loop: a new one is drawn).
                existing = self.by_message(message_id)
                if existing is not None:
                    return self._same_submission(existing, idempotency_key)
                if self._get_by_key(idempotency_key) is not None:
                    raise ValueError("idempotency key already used for another message") from None
                if reference is not None:
                    raise ReferenceTaken(reference) from None
        raise RuntimeError("could not draw a free reference")

    @staticmethod
    def _same_submission(existing: OutboxEntry, idempotency_key: str) -> OutboxEntry:
        if secrets.compare_digest(existing.idempotency_key, idempotency_key):
            return existing
        raise AlreadySubmitted(existing.reference, existing.created_at)

    # ------------------------------------------------------------------ reading

    def get(self, reference: str) -> OutboxEntry | None:
        return self._one(outbox.c.reference == reference.strip().upper())

    def by_message(self, message_id: str) -> OutboxEntry | None:
        return self._one(outbox.c.message_id == message_id)

    def by_messages(self, message_ids: Sequence[str]) -> dict[str, OutboxEntry]:
        """The entries of several messages in one query (the staff list), keyed by message id."""
        if not message_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(outbox).where(outbox.c.message_id.in_(list(message_ids))))
            return {row.message_id: _entry(row) for row in rows}

    def _get_by_id(self, entry_id: int) -> OutboxEntry | None:
        return self._one(outbox.c.id == entry_id)

    def _get_by_key(self, idempotency_key: str) -> OutboxEntry | None:
        return self._one(outbox.c.idempotency_key == idempotency_key)

    def in_state(self, state: OutboxState, limit: int = 100) -> list[OutboxEntry]:
        """For operators: e.g. every rejected reply, whose files are kept until someone looks."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(outbox).where(outbox.c.state == state.value).order_by(outbox.c.id).limit(limit))
            return [_entry(row) for row in rows]

    def undelivered_file_keys(self) -> list[str]:
        """The storage key of every file a pending or rejected reply still needs; retention keeps these."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.files).where(outbox.c.state.in_([s.value for s in HOLDS_FILES])))
            return [_storage_key(f) for row in rows for f in row.files]

    def stats(self, now: datetime) -> OutboxStats:
        """Counts by state for the operator's metrics: three aggregate queries, no rows read."""
        pending = outbox.c.state == OutboxState.pending.value
        with self.engine.connect() as conn:
            counts = {
                row[0]: int(row[1])
                for row in conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state))
            }
            leased = conn.execute(
                select(func.count()).select_from(outbox).where(pending & (outbox.c.lease_until > now))
            ).scalar_one()
            oldest = conn.execute(select(func.min(outbox.c.created_at)).where(pending)).scalar_one()
        waiting = counts.get(OutboxState.pending.value, 0)
        return OutboxStats(
            pending=waiting - int(leased),
            delivering=int(leased),
            delivered=counts.get(OutboxState.delivered.value, 0),
            rejected=counts.get(OutboxState.rejected.value, 0),
            resolved=counts.get(OutboxState.resolved.value, 0),
            oldest_undelivered_at=oldest,  # min() keeps the column's type: aware UTC
        )

    def _one(self, condition: Any) -> OutboxEntry | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(outbox).where(condition)).first()
        return _entry(row) if row is not None else None

    # ------------------------------------------------------------------ retention

    def reduce_delivered(self, delivered_before: datetime) -> int:
        """Storage limitation: a reply delivered before ``delivered_before`` keeps only what an
        operator needs (reference, message id, times, state, the case service's reply id); its
        text, reasons, file names and hashes go. Returns how many entries were reduced now."""
        # JSON has no equality on PostgreSQL; its text does, on both databases.
        still_full = cast(outbox.c.payload, Text) != "{}"
        with self.engine.begin() as conn:
            result = conn.execute(
                update(outbox)
                .where(
                    (outbox.c.state == OutboxState.delivered.value)
                    & (outbox.c.delivered_at < delivered_before)
                    & still_full
                )
                .values(payload={}, files=[])
            )
            return int(result.rowcount)

    def delete_delivered(self, delivered_before: datetime) -> int:
        """Deletes the entries of replies delivered before ``delivered_before``; returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(outbox).where(
                    (outbox.c.state == OutboxState.delivered.value) & (outbox.c.delivered_at < delivered_before)
                )
            )
            return int(result.rowcount)

    # ------------------------------------------------------------------ the delivery worker

    def claim_due(self, now: datetime, lease_seconds: float, limit: int) -> list[OutboxEntry]:
        """Lease up to ``limit`` due pending entries to this worker until ``now + lease_seconds``.

        Safe with several workers in several processes: each entry is taken by a conditional
        UPDATE that re-checks state and lease, and only a worker whose UPDATE changed the row owns
        it. A worker renews its leases while it delivers (``renew_leases``); one that dies leaves them to
        run out, and then another one takes the entry.
        """
        due = (
            (outbox.c.state == OutboxState.pending.value)
            & (outbox.c.next_attempt_at <= now)
            & or_(outbox.c.lease_until.is_(None), outbox.c.lease_until <= now)
        )
        with self.engine.connect() as conn:
            candidates = [
                row.id
                for row in conn.execute(
                    select(outbox.c.id).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)
                )
            ]
        lease_until = now + timedelta(seconds=lease_seconds)
        claimed: list[OutboxEntry] = []
        for entry_id in candidates:
            # One short write transaction per entry, which starts with the write itself: no read
            # lock to upgrade (SQLite), and the WHERE is re-evaluated on the current row (PostgreSQL).
            with self.engine.begin() as conn:
                result = conn.execute(
                    update(outbox)
                    .where((outbox.c.id == entry_id) & due)
                    .values(lease_until=lease_until, attempts=outbox.c.attempts + 1)
                )
            if result.rowcount == 1:
                entry = self._get_by_id(entry_id)
                if entry is not None:
                    claimed.append(entry)
        return claimed

    def renew_leases(self, entry_ids: Sequence[int], until: datetime) -> int:
        """Extends the leases of entries a worker still delivers; returns how many it extended.

        Entries no longer pending (delivered, refused) are left alone. Were a worker's lease to run
        out and another worker take the entry, both would send it with the same idempotency key and
        the case service would keep one reply.
        """
        if not entry_ids:
            return 0
        with self.engine.begin() as conn:
            result = conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(entry_ids)) & (outbox.c.state == OutboxState.pending.value))
                .values(lease_until=until)
            )
            return int(result.rowcount)

    def mark_delivered(self, entry_id: int, reply_id: str, delivered_at: datetime) -> None:
        self._set(
            entry_id,
            state=OutboxState.delivered.value,
            reply_id=reply_id,
            delivered_at=delivered_at,
            lease_until=None,
            last_error_code=None,
        )

    def mark_retry(self, entry_id: int, error_code: str, next_attempt_at: datetime) -> None:
        self._set(entry_id, next_attempt_at=next_attempt_at, lease_until=None, last_error_code=error_code[:64])

    def mark_rejected(self, entry_id: int, error_code: str) -> None:
        self._set(entry_id, state=OutboxState.rejected.value, lease_until=None, last_error_code=error_code[:64])

    # ------------------------------------------------------------------ the operator

    def requeue(self, reference: str, now: datetime) -> OutboxEntry | None:
        """A rejected reply goes back to delivery (its cause is fixed); None if not rejected."""
        return self._from_rejected(
            reference,
            state=OutboxState.pending.value,
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            last_error_code=None,
        )

    def mark_resolved(self, reference: str) -> OutboxEntry | None:
        """A rejected reply was handed over another way; None if not rejected. The caller deletes
        the files (retention no longer keeps them)."""
        return self._from_rejected(reference, state=OutboxState.resolved.value)

    def _from_rejected(self, reference: str, **values: object) -> OutboxEntry | None:
        reference = reference.strip().upper()
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(outbox)
                .where((outbox.c.reference == reference) & (outbox.c.state == OutboxState.rejected.value))
                .values(**values)
            ).rowcount
        return self.get(reference) if changed == 1 else None

    def _set(self, entry_id: int, **values: object) -> None:
        # Only a pending entry changes: delivered and rejected are final, even if a slow worker
        # whose lease ran out reports back after another worker has finished the entry.
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where((outbox.c.id == entry_id) & (outbox.c.state == OutboxState.pending.value))
                .values(**values)
            )


def _stored_file(file: OutgoingFile) -> dict[str, str]:
    # Name and media type are in the payload too; kept here so the column reads as it always did.
    return {"key": file.key, "stored_as": file.stored_as, "media_type": file.media_type, "name": file.name}


def _storage_key(file: dict[str, str]) -> str:
    # Entries written before the file storage named a path whose last part was the key.
    return file.get("stored_as") or Path(file["path"]).name


def _entry(row: Row[Any]) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        reference=row.reference,
        message_id=row.message_id,
        idempotency_key=row.idempotency_key,
        reply=OutgoingReply.from_wire(row.payload, {f["key"]: _storage_key(f) for f in row.files})
        if row.payload
        else None,
        state=OutboxState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease_until=row.lease_until,
        last_error_code=row.last_error_code,
        reply_id=row.reply_id,
        delivered_at=row.delivered_at,
        created_at=row.created_at,
    )
