"""When an applicant started answering a message (the staff list shows "draft started").

Only the message id and the time are kept (the draft itself is in ``saved_drafts``). A mark is
written when the applicant leaves the overview for the first step; it is deleted when the reply is
handed over, or by the retention purge once the message has no saved draft any more.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Column, MetaData, String, Table, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from portal.database import UtcDateTime

metadata = MetaData()

draft_marks = Table(
    "draft_marks",
    metadata,
    Column("message_id", String(64), primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
)


class DraftMarks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def mark(self, message_id: str, now: datetime) -> None:
        """Record the first start; later starts keep the first time."""
        try:
            with self.engine.begin() as conn:
                conn.execute(draft_marks.insert().values(message_id=message_id, started_at=now))
        except IntegrityError:
            pass

    def started(self, message_ids: Iterable[str]) -> dict[str, datetime]:
        ids = list(dict.fromkeys(message_ids))
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(draft_marks).where(draft_marks.c.message_id.in_(ids)))
            return {row.message_id: row.started_at for row in rows}

    def forget(self, message_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(draft_marks).where(draft_marks.c.message_id == message_id))

    def purge(self, older_than: datetime, keep: Iterable[str] = ()) -> int:
        """Deletes the marks older than ``older_than``, except those of the messages in ``keep``
        (their drafts are still saved)."""
        kept = list(keep)
        condition = draft_marks.c.started_at < older_than
        if kept:
            condition &= draft_marks.c.message_id.not_in(kept)
        with self.engine.begin() as conn:
            return conn.execute(delete(draft_marks).where(condition)).rowcount
