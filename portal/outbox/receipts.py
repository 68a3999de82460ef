"""The applicant's copy of their receipt, kept so the same link can fetch it again until it expires.

One row per message: the PDF (``portal.receipt_pdf``) exactly as it went to the case service with
the reply, its file name and outbox reference, and until when it may be kept (the link's expiry,
as for saved drafts). The row is written in the same transaction as the reply's outbox entry
(``PortalStore.enqueue``), so a receipt exists exactly for a committed reply, and
:meth:`Receipts.purge_expired` deletes it once the link has expired. Only a session that verified
the message's link reads it (``portal.state``); there is no URL for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, LargeBinary, MetaData, String, Table, delete, select
from sqlalchemy.engine import Connection, Engine

from portal.database import UtcDateTime

metadata = MetaData()

receipts = Table(
    "receipts",
    metadata,
    Column("message_id", String(128), primary_key=True),
    Column("reference", String(16), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)


@dataclass(frozen=True, slots=True)
class KeptReceipt:
    """A receipt to keep beside its reply (what ``enqueue`` stores with the outbox entry)."""

    file_name: str
    pdf: bytes
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    message_id: str
    reference: str
    file_name: str
    pdf: bytes
    created_at: datetime


def create_all(engine: Engine) -> None:
    metadata.create_all(engine)


def insert(conn: Connection, message_id: str, reference: str, receipt: KeptReceipt, now: datetime) -> None:
    """Inside the outbox's transaction: the receipt of the reply being committed."""
    conn.execute(
        receipts.insert().values(
            message_id=message_id,
            reference=reference,
            file_name=receipt.file_name,
            pdf=receipt.pdf,
            created_at=now,
            expires_at=receipt.expires_at,
        )
    )


class Receipts:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_all(engine)

    def get(self, message_id: str, now: datetime) -> StoredReceipt | None:
        """The receipt of the reply to ``message_id``, unless its link has expired."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(receipts).where((receipts.c.message_id == message_id) & (receipts.c.expires_at > now))
            ).first()
        if row is None:
            return None
        return StoredReceipt(row.message_id, row.reference, row.file_name, bytes(row.pdf), row.created_at)

    def exists(self, message_id: str, now: datetime) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(receipts.c.message_id).where(
                    (receipts.c.message_id == message_id) & (receipts.c.expires_at > now)
                )
            ).first()
        return found is not None

    def purge_expired(self, now: datetime) -> int:
        """Deletes the receipts whose link has expired; returns how many."""
        with self.engine.begin() as conn:
            return int(conn.execute(delete(receipts).where(receipts.c.expires_at <= now)).rowcount)
