"""The portal's own database: how it is opened, and the one timestamp type its tables use.

Every table of the portal (outbox, draft marks, link sessions and quotas, rate counters, staff
accounts) lives in this one database, shared by every portal instance. SQLite by default (WAL,
synchronous=FULL: a commit survives power loss), PostgreSQL by URL for several portal instances.

The case service keeps a copy of :class:`UtcDateTime` in its own package (``casesvc.db``) on
purpose: the two deployables share only the HTTP contract, not code. ``tests/portal/test_database.py``
holds both to the same behaviour.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Dialect, Engine, TypeDecorator, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ["UtcDateTime", "make_engine"]


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes everywhere. SQLite keeps no offset, so it stores naive UTC; the
    lexical order of those strings is then the time order (the outbox's lease queries rely on it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets the web process read while the delivery worker writes; FULL makes every commit
        # durable in WAL mode too (NORMAL may lose the last commits on power loss).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def make_engine(database_url: str) -> Engine:
    """The engine every table of the portal's database is used through (outbox, staff accounts),
    so all of them get the same durability pragmas and timeouts."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # A generous busy timeout: several processes share the file and writes are short.
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)
