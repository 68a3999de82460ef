"""The portal's database: the engine's durability settings, and the timestamp type its tables use.

The case service keeps its own copy of the timestamp type (``casesvc.db.UTCDateTime``): the two
deployables share no code. Every timestamp test here runs on both copies, so they cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, TypeDecorator, insert, select, text
from sqlalchemy.exc import StatementError

from casesvc.db import UTCDateTime as CaseServiceCopy
from portal.database import UtcDateTime, make_engine

BERLIN_SUMMER = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
COPIES = [pytest.param(UtcDateTime, id="portal"), pytest.param(CaseServiceCopy, id="casesvc")]


@pytest.fixture
def sqlite(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _stamps(engine: Engine, column_type: type[TypeDecorator[datetime]]) -> Table:
    metadata = MetaData()
    table = Table("stamps", metadata, Column("id", Integer, primary_key=True), Column("at", column_type))
    metadata.create_all(engine)
    return table


def _round_trip(engine: Engine, column_type: type[TypeDecorator[datetime]], value: datetime | None) -> object:
    table = _stamps(engine, column_type)
    with engine.begin() as conn:
        row_id = conn.execute(insert(table).values(at=value)).inserted_primary_key
    assert row_id is not None
    with engine.connect() as conn:
        return conn.execute(select(table.c.at).where(table.c.id == row_id[0])).scalar_one()


@pytest.mark.parametrize("column_type", COPIES)
def test_a_timestamp_comes_back_aware_in_utc(sqlite: Engine, column_type: type[TypeDecorator[datetime]]) -> None:
    back = _round_trip(sqlite, column_type, BERLIN_SUMMER)
    assert back == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert isinstance(back, datetime) and back.tzinfo is UTC
    assert _round_trip(sqlite, column_type, None) is None


@pytest.mark.parametrize("column_type", COPIES)
def test_sqlite_keeps_naive_utc_so_text_order_is_time_order(
    sqlite: Engine, column_type: type[TypeDecorator[datetime]]
) -> None:
    _round_trip(sqlite, column_type, BERLIN_SUMMER)
    with sqlite.connect() as conn:
        stored = conn.execute(text("SELECT at FROM stamps")).scalar_one()
    assert stored.startswith("2026-07-01 10:00:00") and "+" not in stored


@pytest.mark.parametrize("column_type", COPIES)
def test_a_naive_timestamp_is_refused(sqlite: Engine, column_type: type[TypeDecorator[datetime]]) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        _round_trip(sqlite, column_type, datetime(2026, 7, 1, 12, 0))


@pytest.mark.parametrize("column_type", COPIES)
def test_postgresql_keeps_the_instant_and_hands_back_utc(
    pg_url: str, column_type: type[TypeDecorator[datetime]]
) -> None:
    engine = make_engine(pg_url)
    try:
        back = _round_trip(engine, column_type, BERLIN_SUMMER)
    finally:
        engine.dispose()
    assert back == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert isinstance(back, datetime) and back.utcoffset() == timedelta(0)


def test_sqlite_commits_are_durable_and_the_folder_is_made(sqlite: Engine, tmp_path: Path) -> None:
    with sqlite.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one() for name in ("journal_mode", "synchronous")
        }
    assert pragmas == {"journal_mode": "wal", "synchronous": 2}  # 2 is FULL
    assert (tmp_path / "db" / "portal.sqlite3").is_file()
