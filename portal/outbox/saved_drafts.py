"""Drafts saved as the applicant goes, keyed by the message, so no restart, second device or
expired session loses what was typed and uploaded.

One row per message: the draft's saved form (``portal.domain.draft_codec``), the storage keys of
its files, when it was saved and until when it may be kept (the link's expiry). Every save names
the version it started from; a save from an older version (another browser saved meanwhile) is
refused with :class:`DraftConflict`, so nothing is silently overwritten. The row is deleted when
the reply is committed (its files then belong to the outbox) and by :meth:`SavedDrafts.purge_expired`
when the link has expired (the caller deletes the files it returns).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from portal.database import UtcDateTime
from portal.domain import draft_codec

metadata = MetaData()

saved_drafts = Table(
    "saved_drafts",
    metadata,
    Column("message_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("file_keys", JSON, nullable=False),
    Column("saved_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)


@dataclass(frozen=True, slots=True)
class SavedDraft:
    message_id: str
    version: int
    body: dict[str, Any]
    saved_at: datetime


class DraftConflict(Exception):
    """Another session saved this draft since the version this save started from."""

    def __init__(self, current: SavedDraft | None) -> None:
        super().__init__("draft changed elsewhere")
        self.current = current


class SavedDrafts:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def load(self, message_id: str) -> SavedDraft | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(saved_drafts).where(saved_drafts.c.message_id == message_id)).first()
        if row is None:
            return None
        return SavedDraft(row.message_id, row.version, dict(row.body), row.saved_at)

    def version(self, message_id: str) -> int:
        """The saved version (0: nothing saved): one small read before every change."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(saved_drafts.c.version).where(saved_drafts.c.message_id == message_id)
            ).scalar_one_or_none()
        return int(found or 0)

    def save(
        self,
        message_id: str,
        body: dict[str, Any],
        based_on: int,
        now: datetime,
        expires_at: datetime,
    ) -> SavedDraft:
        """Stores ``body`` as the version after ``based_on``; raises DraftConflict if the saved
        version is not ``based_on`` any more."""
        # The files' keys beside the body, so the purge reads them without the bodies.
        values = {"body": body, "file_keys": draft_codec.file_keys(body), "saved_at": now, "expires_at": expires_at}
        with self.engine.begin() as conn:
            if based_on == 0:
                try:
                    with conn.begin_nested():
                        conn.execute(saved_drafts.insert().values(message_id=message_id, version=1, **values))
                except IntegrityError:
                    raise DraftConflict(None) from None
                return SavedDraft(message_id, 1, body, now)
            changed = conn.execute(
                update(saved_drafts)
                .where((saved_drafts.c.message_id == message_id) & (saved_drafts.c.version == based_on))
                .values(version=based_on + 1, **values)
            ).rowcount
        if changed != 1:
            raise DraftConflict(self.load(message_id))
        return SavedDraft(message_id, based_on + 1, body, now)

    def forget(self, message_id: str) -> None:
        """The reply was committed: the draft is done; its files belong to the outbox now."""
        with self.engine.begin() as conn:
            conn.execute(delete(saved_drafts).where(saved_drafts.c.message_id == message_id))

    def file_keys(self) -> list[str]:
        """Every file a saved draft holds (retention keeps them until the draft goes)."""
        with self.engine.connect() as conn:
            return [key for row in conn.execute(select(saved_drafts.c.file_keys)) for key in row.file_keys]

    def message_ids(self) -> list[str]:
        """The messages that have a saved draft."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(saved_drafts.c.message_id)).scalars())

    def purge_expired(self, now: datetime) -> list[str]:
        """Deletes the drafts whose link has expired; returns the storage keys of their files."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(saved_drafts.c.message_id, saved_drafts.c.file_keys).where(saved_drafts.c.expires_at <= now)
            ).all()
            ids = [row.message_id for row in rows]
            if ids:
                conn.execute(delete(saved_drafts).where(saved_drafts.c.message_id.in_(ids)))
        return [key for row in rows for key in row.file_keys]
