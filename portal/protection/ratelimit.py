"""Rate limits shared by every portal instance: counters in the portal's database.

A ``Rule`` allows ``limit`` hits per ``window_seconds`` for one subject (a client address, a
reply link, a staff account with an address). The window is fixed and starts with a subject's
first hit; when it is over, the next hit starts a fresh one. Every check is one atomic upsert
per counter (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, on SQLite and PostgreSQL alike),
so parallel requests on several instances cannot slip past a limit between a read and a write.

Subjects are never stored: a counter's key is a SHA-256 of the rule's name and the subject, so
neither client addresses nor link tokens end up in the database. Counters whose window has
ended are purged now and then by the instance that happens to count.

Counting must stay cheap (it sits in front of every link opening), so commits of this table are
not forced to disk: a crash may forget the last counts, never the outbox. SQLite gets its own
connections with ``synchronous=NORMAL`` (WAL keeps the file consistent); on PostgreSQL this
engine's sessions run with ``synchronous_commit=off``.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    event,
    make_url,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import ConnectionPoolEntry

from portal.database import make_engine

if TYPE_CHECKING:
    from portal.settings import PortalSettings

# How often one instance deletes counters whose window has ended.
PURGE_EVERY_SECONDS = 60.0

metadata = MetaData()

rate_counters = Table(
    "rate_counters",
    metadata,
    # hex SHA-256 of "<rule name>\0<subject>"
    Column("key", String(64), primary_key=True),
    # Unix seconds: when this window started, and when it ends (the purge deletes ended ones).
    Column("window_start", BigInteger, nullable=False),
    Column("window_end", BigInteger, nullable=False, index=True),
    Column("hits", Integer, nullable=False),
)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    limit: int
    window_seconds: int

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window_seconds < 1:
            raise ValueError("a rule needs a positive limit and window")


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    # Hits left in the window (0 when this one was the last allowed, or refused).
    remaining: int = 0
    # Seconds until the window that decides ends: the refusing one, else the fullest one.
    resets_in: int = 0

    @property
    def retry_after(self) -> int:
        """An answer's Retry-After: 0 when allowed."""
        return 0 if self.allowed else max(1, self.resets_in)

    @property
    def minutes(self) -> int:
        """Whole minutes to wait, as a person is told (at least one)."""
        return max(1, math.ceil(self.retry_after / 60))


# One statement per counter, the same on SQLite (3.35+) and PostgreSQL. Written out rather than
# built with the ORM's insert(): building the statement cost ten times more than running it.
# SET reads the row as it was, so all three CASEs see the old window_end.
_UPSERT = text(
    "INSERT INTO rate_counters (key, window_start, window_end, hits) VALUES (:key, :start, :end, 1) "
    "ON CONFLICT (key) DO UPDATE SET "
    "hits = CASE WHEN rate_counters.window_end <= :start THEN 1 ELSE rate_counters.hits + 1 END, "
    "window_start = CASE WHEN rate_counters.window_end <= :start THEN :start ELSE rate_counters.window_start END, "
    "window_end = CASE WHEN rate_counters.window_end <= :start THEN :end ELSE rate_counters.window_end END "
    "RETURNING hits, window_start"
)


@dataclass(frozen=True, slots=True)
class PortalRules:
    """The applicant-side limits, from the settings (staff sign-in has its own, in ``staff``)."""

    # GET /r/<token>, per client address and per link
    link_open_address: Rule
    link_open_link: Rule
    # the token's hand-over to the server (the page's load event, "try again"), likewise
    handover_address: Rule
    handover_link: Rule
    # upload requests, per client address and per session (the guard) or link (the state)
    upload_address: Rule
    upload_link: Rule

    @classmethod
    def from_settings(cls, settings: PortalSettings) -> PortalRules:
        link_window, upload_window = settings.link_window_seconds, settings.upload_window_seconds
        return cls(
            link_open_address=Rule("link_open_address", settings.link_opens_per_address, link_window),
            link_open_link=Rule("link_open_link", settings.link_opens_per_link, link_window),
            handover_address=Rule("handover_address", settings.link_opens_per_address, link_window),
            handover_link=Rule("handover_link", settings.link_opens_per_link, link_window),
            upload_address=Rule("upload_address", settings.uploads_per_address, upload_window),
            upload_link=Rule("upload_link", settings.uploads_per_link, upload_window),
        )


def counter_key(rule: Rule, subject: str) -> str:
    return hashlib.sha256(f"{rule.name}\0{subject}".encode()).hexdigest()


def _sqlite_relaxed(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    # Runs after the database's own pragmas (WAL, synchronous=FULL) on these connections only.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class RateLimiter:
    def __init__(self, database_url: str) -> None:
        backend = make_url(database_url).get_backend_name()
        if backend == "sqlite":
            self.engine: Engine = make_engine(database_url)
            event.listen(self.engine, "connect", _sqlite_relaxed)
        elif backend == "postgresql":
            # libpq's options: this engine's sessions never wait for the WAL flush.
            self.engine = create_engine(
                database_url, pool_pre_ping=True, connect_args={"options": "-c synchronous_commit=off"}
            )
        else:
            raise ValueError("rate limits need SQLite or PostgreSQL")
        self._purged_at = 0.0
        self._purge_lock = threading.Lock()

    def create_all(self) -> None:
        metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    def hit(self, checks: Sequence[tuple[Rule, str]], now: datetime | float | None = None) -> Verdict:
        """Count one hit on every (rule, subject) and say whether all of them are within their limit.

        Refused hits count too, so a flood keeps its own window full; the window still ends when it
        ends (a refusal never extends it). With several counters the longest wait is reported.
        """
        at = _seconds(now)
        verdicts: list[Verdict] = []
        with self.engine.begin() as conn:
            for rule, subject in checks:
                hits, window_start = self._count(conn, rule, subject, at)
                resets_in = max(0, math.ceil(window_start + rule.window_seconds - at))
                verdicts.append(Verdict(hits <= rule.limit, max(0, rule.limit - hits), resets_in))
            self._purge_now_and_then(conn, at)
        refused = [v for v in verdicts if not v.allowed]
        if refused:
            return Verdict(False, 0, max(v.resets_in for v in refused))
        if not verdicts:
            return Verdict(True, 0, 0)
        fullest = min(verdicts, key=lambda v: (v.remaining, -v.resets_in))
        return Verdict(True, fullest.remaining, fullest.resets_in)

    def release(self, rule: Rule, subject: str, now: datetime | float | None = None) -> None:
        """Take back one hit (a reserved attempt that turned out to be no failure)."""
        c = rate_counters.c
        at = _seconds(now)
        with self.engine.begin() as conn:
            conn.execute(
                update(rate_counters)
                .where((c.key == counter_key(rule, subject)) & (c.window_end > at) & (c.hits > 0))
                .values(hits=c.hits - 1)
            )

    def reset(self, rule: Rule, subject: str) -> None:
        """Forget a subject's counter (e.g. failed sign-ins after a successful one)."""
        with self.engine.begin() as conn:
            conn.execute(delete(rate_counters).where(rate_counters.c.key == counter_key(rule, subject)))

    def purge(self, now: datetime | float | None = None) -> int:
        """Delete the counters whose window has ended; returns how many."""
        with self.engine.begin() as conn:
            return conn.execute(delete(rate_counters).where(rate_counters.c.window_end <= _seconds(now))).rowcount

    # ------------------------------------------------------------------ internals

    def _count(self, conn: Connection, rule: Rule, subject: str, at: float) -> tuple[int, float]:
        start = int(at)
        params = {"key": counter_key(rule, subject), "start": start, "end": start + rule.window_seconds}
        row = conn.execute(_UPSERT, params).one()
        return int(row.hits), float(row.window_start)

    def _purge_now_and_then(self, conn: Connection, at: float) -> None:
        if at - self._purged_at < PURGE_EVERY_SECONDS or not self._purge_lock.acquire(blocking=False):
            return
        try:
            self._purged_at = at
            conn.execute(delete(rate_counters).where(rate_counters.c.window_end <= int(at)))
        finally:
            self._purge_lock.release()


def _seconds(now: datetime | float | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("naive datetime")
        return now.timestamp()
    return float(now)
