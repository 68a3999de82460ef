from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import StatementError
from sqlalchemy.schema import CreateIndex, CreateTable

from casesvc.db import Base, Database, MessageRow


def test_schema_compiles_for_postgresql() -> None:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    ddl = "\n".join(str(CreateTable(table).compile(dialect=dialect)) for table in Base.metadata.sorted_tables)
    ddl += "\n".join(
        str(CreateIndex(index).compile(dialect=dialect))
        for table in Base.metadata.sorted_tables
        for index in table.indexes
    )
    assert "TIMESTAMP WITH TIME ZONE" in ddl and "SERIAL" in ddl and "UNIQUE (message_id)" in ddl


def _row(message_id: str, sent_at: datetime) -> MessageRow:
    return MessageRow(
        id=message_id,
        authority_id="abh-potsdam",
        kind="status",
        case_reference="ABH-1",
        payload={},
        token_hash=message_id.ljust(64, "0"),
        sent_at=sent_at,
        expires_at=sent_at + timedelta(days=1),
        revoke_reason="",
        created_at=sent_at,
    )


def test_timestamps_come_back_aware_in_utc_on_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    db.create_all()
    berlin_summer = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with db.session() as session, session.begin():
        session.add(_row("a" * 32, berlin_summer))
    with db.session() as session:
        row = session.get(MessageRow, "a" * 32)
        assert row is not None and row.sent_at == datetime(2026, 7, 1, 10, 0, tzinfo=UTC) and row.sent_at.tzinfo is UTC
    with pytest.raises(StatementError, match="naive"), db.session() as session, session.begin():
        session.add(_row("b" * 32, datetime(2026, 7, 1, 12, 0)))
    db.dispose()
