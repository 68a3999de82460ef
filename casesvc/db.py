"""Tables and engine of the case service. Runs on SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.orm import Session as Session
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back aware datetimes.

    SQLite has no time-zone type and returns naive values; normalising here keeps every comparison in
    the service layer between aware datetimes on both databases. The portal keeps its own copy
    (``portal.database.UtcDateTime``), as the two deployables share no code;
    ``tests/portal/test_database.py`` holds both to the same behaviour.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime}


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_case", "authority_id", "case_reference", "sent_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    authority_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    case_reference: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    last_opened_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class ReplyRow(Base):
    __tablename__ = "replies"
    # AUTOINCREMENT on SQLite: a cursor value is never handed out twice, even after deletions.
    __table_args__ = {"sqlite_autoincrement": True}

    # The cursor is the primary key: the one portable way to get an increasing integer on SQLite and
    # PostgreSQL alike. The public id is a separate random string.
    cursor: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    # Unique: the database, not the application, decides which of two concurrent replies wins.
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), unique=True)
    authority_id: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime]
    submitted_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)


class ReplyFileRow(Base):
    __tablename__ = "reply_files"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reply_id: Mapped[str] = mapped_column(ForeignKey("replies.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    original_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    pages: Mapped[int | None]
    sha512: Mapped[str] = mapped_column(String(128))
    # Relative to the files directory, so the data directory can move.
    storage_path: Mapped[str] = mapped_column(String(300))


class AuditRow(Base):
    """Who did what to which message, from where. Never reply content, tokens or links."""

    __tablename__ = "audit"
    # AUTOINCREMENT: retention deletes old entries, and a reader's ?after= cursor must never see an
    # id handed out again.
    __table_args__ = (Index("ix_audit_authority", "authority_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    authority_id: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    # No foreign key: an entry outlives nothing it points to, and a failed lookup is worth logging too.
    message_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(String(200))


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # Requests run in a thread pool: share connections across threads, and wait for the write
        # lock instead of failing at once when two replies arrive together.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if not url.rstrip("/").endswith(":memory:") and url not in ("sqlite://", "sqlite:///"):
                # WAL lets the pollers read while a reply is being written.
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)

    def create_all(self) -> None:
        Base.metadata.create_all(self.engine)

    def session(self) -> Session:
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()
