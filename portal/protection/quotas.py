"""Which browser sessions hold a verified reply link, and what the sessions of one link uploaded.

Two jobs, one small table pair in the portal's store (shared by every portal instance):

- The upload endpoint is answered before Reflex creates any state for a request: only a session
  whose link was verified, and whose link is still open, may send files. A session is known by a
  SHA-256 of Reflex's client token, never by the token itself.
- Quotas count per message, not per session: the files held by every session of one link share
  one allowance, so a second session (another tab, another device, an attacker with the link)
  gets no fresh one. When a link is opened again, files held by sessions not seen for longer than
  the session idle time are released from the count: that session has ended, and the applicant
  who came back must be able to upload again. The files themselves are left to the retention
  purge, so a session that was only dormant still finds them at submission.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine

from portal.database import UtcDateTime

metadata = MetaData()

link_sessions = Table(
    "link_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("message_id", String(64), nullable=False),
    Column("verified_at", UtcDateTime, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
    # The link's own expiry: past it, the session may not upload whatever it holds.
    Column("link_expires_at", UtcDateTime, nullable=False),
    Index("ix_link_sessions_message", "message_id"),
)

held_uploads = Table(
    "held_uploads",
    metadata,
    Column("file_id", String(64), primary_key=True),
    Column("message_id", String(64), nullable=False),
    Column("session_hash", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("held_at", UtcDateTime, nullable=False),
    Index("ix_held_uploads_message", "message_id"),
)


# Written out rather than built per call: building the ORM statements cost more than running
# them (the same finding as the rate counters'). ``excluded`` is the row the insert proposed, on
# SQLite and PostgreSQL alike.
_OPEN_SESSION = text(
    "INSERT INTO link_sessions (session_hash, message_id, verified_at, seen_at, link_expires_at) "
    "VALUES (:key, :message_id, :now, :now, :expires) "
    "ON CONFLICT (session_hash) DO UPDATE SET message_id = excluded.message_id, "
    "verified_at = excluded.verified_at, seen_at = excluded.seen_at, link_expires_at = excluded.link_expires_at"
).bindparams(
    bindparam("now", type_=UtcDateTime()),
    bindparam("expires", type_=UtcDateTime()),
)
# What a session gives up when it opens a link: files it held for another message; and, of this
# message, files held by sessions idle past the session time (they have ended). The session that
# opens was just seen, so it is never among the idle ones.
_RELEASE_ON_OPEN = text(
    "DELETE FROM held_uploads WHERE (session_hash = :key AND message_id <> :message_id) "
    "OR (message_id = :message_id AND session_hash IN "
    "(SELECT session_hash FROM link_sessions WHERE message_id = :message_id AND seen_at < :idle_before))"
).bindparams(bindparam("idle_before", type_=UtcDateTime()))


@dataclass(frozen=True, slots=True)
class Usage:
    """What the sessions of one message hold now."""

    files: int
    bytes: int


def session_key(client_token: str) -> str:
    return hashlib.sha256(client_token.encode("utf-8", "surrogatepass")).hexdigest()


class LinkSessions:
    def __init__(self, engine: Engine, idle: timedelta) -> None:
        self.engine = engine
        self.idle = idle
        metadata.create_all(engine)

    # ------------------------------------------------------------------ sessions

    def open(self, client_token: str, message_id: str, link_expires_at: datetime, now: datetime) -> None:
        """The session verified the link of ``message_id``; it may upload until the link expires.

        One transaction of two statements (it runs at every link opening): the session's row is
        written whatever it held before, then the holds it loses go in one delete.
        """
        values = {
            "key": session_key(client_token),
            "message_id": message_id,
            "now": now,
            "expires": link_expires_at,
            "idle_before": now - self.idle,
        }
        with self.engine.begin() as conn:
            conn.execute(_OPEN_SESSION, values)
            conn.execute(_RELEASE_ON_OPEN, values)

    def close(self, client_token: str) -> None:
        """The session's link failed or was answered: no more uploads from it."""
        key = session_key(client_token)
        with self.engine.begin() as conn:
            conn.execute(delete(held_uploads).where(held_uploads.c.session_hash == key))
            conn.execute(delete(link_sessions).where(link_sessions.c.session_hash == key))

    def message_of(self, client_token: str, now: datetime) -> str | None:
        """The message whose link this session verified, while that link is open."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(link_sessions.c.message_id).where(
                    link_sessions.c.session_hash == session_key(client_token),
                    link_sessions.c.link_expires_at > now,
                )
            ).first()
        return None if row is None else str(row.message_id)

    def touch(self, client_token: str, now: datetime) -> None:
        key = session_key(client_token)
        with self.engine.begin() as conn:
            conn.execute(update(link_sessions).where(link_sessions.c.session_hash == key).values(seen_at=now))

    # ------------------------------------------------------------------ quotas

    def usage(self, message_id: str) -> Usage:
        with self.engine.connect() as conn:
            return self._usage(conn, message_id)

    def hold(self, client_token: str, message_id: str, file_id: str, size: int, now: datetime) -> Usage:
        """Count one accepted file against its message; returns the message's usage with it."""
        key = session_key(client_token)
        with self.engine.begin() as conn:
            conn.execute(
                insert(held_uploads).values(
                    file_id=file_id, message_id=message_id, session_hash=key, size=size, held_at=now
                )
            )
            conn.execute(update(link_sessions).where(link_sessions.c.session_hash == key).values(seen_at=now))
            return self._usage(conn, message_id)

    def adopt(self, client_token: str, message_id: str, files: Iterable[tuple[str, int]], now: datetime) -> None:
        """A saved draft's files, restored in this session, count against the message under it
        (wherever they were held before: a session that ended, another device)."""
        key = session_key(client_token)
        held = list(files)
        with self.engine.begin() as conn:
            if held:
                conn.execute(delete(held_uploads).where(held_uploads.c.file_id.in_([f for f, _ in held])))
                conn.execute(
                    insert(held_uploads),
                    [
                        {"file_id": f, "message_id": message_id, "session_hash": key, "size": size, "held_at": now}
                        for f, size in held
                    ],
                )

    def release(self, file_ids: Iterable[str]) -> None:
        ids = list(file_ids)
        if ids:
            with self.engine.begin() as conn:
                conn.execute(delete(held_uploads).where(held_uploads.c.file_id.in_(ids)))

    def release_message(self, message_id: str) -> None:
        """The reply was committed: its files belong to the outbox now."""
        with self.engine.begin() as conn:
            conn.execute(delete(held_uploads).where(held_uploads.c.message_id == message_id))

    def purge(self, now: datetime) -> int:
        """Forget sessions whose link expired or that were not seen for a day, with their holds."""
        stale = now - max(self.idle, timedelta(days=1))
        gone = select(link_sessions.c.session_hash).where(
            (link_sessions.c.link_expires_at <= now) | (link_sessions.c.seen_at < stale)
        )
        with self.engine.begin() as conn:
            conn.execute(delete(held_uploads).where(held_uploads.c.session_hash.in_(gone)))
            conn.execute(delete(held_uploads).where(held_uploads.c.held_at < stale))
            return int(conn.execute(delete(link_sessions).where(link_sessions.c.session_hash.in_(gone))).rowcount)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _usage(conn: Connection, message_id: str) -> Usage:
        row = conn.execute(
            select(func.count(), func.coalesce(func.sum(held_uploads.c.size), 0)).where(
                held_uploads.c.message_id == message_id
            )
        ).one()
        return Usage(files=int(row[0]), bytes=int(row[1]))
