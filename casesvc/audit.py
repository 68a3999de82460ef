"""The staff audit log: append (with retention) and read, per authority.

Entries say who did what to which message, when and from where. They never hold reply content,
reply tokens or links, and not the revocation reason either: that free text may name the applicant
and lives on the message, where it is deleted with it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from casesvc.db import AuditRow, Database
from casesvc.staff_schemas import AuditEntry, AuditIn, AuditPage


def append(session: Session, authority_id: str, entry: AuditIn, now: datetime, retention_days: int) -> AuditEntry:
    """Write one entry inside the caller's transaction, and drop those past the retention period.

    Purging on every append keeps the log bounded without a scheduler; the indexed range delete
    touches nothing on most calls.
    """
    session.execute(delete(AuditRow).where(AuditRow.at < now - timedelta(days=retention_days)))
    row = AuditRow(
        at=now,
        authority_id=authority_id,
        actor=entry.actor,
        action=entry.action.value,
        message_id=entry.message_id,
        source=entry.source,
        detail=entry.detail,
    )
    session.add(row)
    session.flush()  # assigns the id
    return entry_view(row)


def record(db: Database, authority_id: str, entry: AuditIn, now: datetime, retention_days: int) -> AuditEntry:
    with db.session() as session, session.begin():
        return append(session, authority_id, entry, now, retention_days)


def entry_view(row: AuditRow) -> AuditEntry:
    # The columns carry the wire fields' names; the stored action string becomes the enum.
    return AuditEntry.model_validate(row, from_attributes=True)


def list_entries(db: Database, authority_id: str, after: int, limit: int) -> AuditPage:
    query = (
        select(AuditRow)
        .where(AuditRow.authority_id == authority_id, AuditRow.id > after)
        .order_by(AuditRow.id)
        .limit(limit)
    )
    with db.session() as session:
        entries = [entry_view(row) for row in session.scalars(query)]
    # An empty page keeps the cursor where it was, so a poller can simply retry with it.
    return AuditPage(entries=entries, next_cursor=entries[-1].id if entries else after)
