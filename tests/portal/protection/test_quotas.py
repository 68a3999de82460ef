"""Sessions that verified a link, and quotas shared by all sessions of one link (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from portal.database import make_engine
from portal.protection.quotas import LinkSessions, Usage

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=10)
IDLE = timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LinkSessions]:
    url = f"sqlite:///{tmp_path / 'portal.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    engine = make_engine(url)
    try:
        yield LinkSessions(engine, IDLE)
    finally:
        # Before the database is dropped: a pooled connection left open warns when collected.
        engine.dispose()


def test_only_a_session_that_verified_an_open_link_may_upload(sessions: LinkSessions) -> None:
    assert sessions.message_of("tab-1", NOW) is None
    sessions.open("tab-1", "msg-1", LATER, NOW)
    assert sessions.message_of("tab-1", NOW) == "msg-1"
    assert sessions.message_of("tab-2", NOW) is None
    # Past the link's own expiry nothing is accepted, whatever the session holds.
    assert sessions.message_of("tab-1", LATER) is None
    sessions.close("tab-1")
    assert sessions.message_of("tab-1", NOW) is None


def test_the_token_itself_is_never_stored(sessions: LinkSessions) -> None:
    sessions.open("secret-client-token", "msg-1", LATER, NOW)
    with sessions.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM link_sessions").fetchall()
    assert rows and all("secret-client-token" not in str(row) for row in rows)


def test_two_sessions_of_one_link_share_one_allowance(sessions: LinkSessions) -> None:
    sessions.open("tab-1", "msg-1", LATER, NOW)
    sessions.open("tab-2", "msg-1", LATER, NOW)
    sessions.hold("tab-1", "msg-1", "f1", 100, NOW)
    assert sessions.hold("tab-2", "msg-1", "f2", 50, NOW) == Usage(files=2, bytes=150)
    assert sessions.usage("msg-1") == Usage(files=2, bytes=150)
    assert sessions.usage("msg-2") == Usage(files=0, bytes=0)
    sessions.release(["f1"])
    assert sessions.usage("msg-1") == Usage(files=1, bytes=50)
    sessions.release_message("msg-1")
    assert sessions.usage("msg-1") == Usage(files=0, bytes=0)


def test_a_session_that_ended_leaves_the_allowance_to_the_next(sessions: LinkSessions) -> None:
    sessions.open("old-tab", "msg-1", LATER, NOW)
    sessions.hold("old-tab", "msg-1", "f1", 100, NOW)
    # Opened again while the old tab is still active: the old files count.
    sessions.open("new-tab", "msg-1", LATER, NOW + IDLE / 2)
    assert sessions.usage("msg-1").files == 1
    # Opened again after the old tab was idle past the session time: they no longer do.
    sessions.open("newer-tab", "msg-1", LATER, NOW + IDLE * 2)
    assert sessions.usage("msg-1").files == 0


def test_purge_forgets_sessions_of_expired_links(sessions: LinkSessions) -> None:
    sessions.open("tab-1", "msg-1", NOW + timedelta(hours=2), NOW)
    sessions.hold("tab-1", "msg-1", "f1", 100, NOW)
    sessions.open("tab-2", "msg-2", LATER, NOW)
    assert sessions.purge(NOW + timedelta(hours=3)) == 1
    assert sessions.usage("msg-1").files == 0
    assert sessions.message_of("tab-2", NOW + timedelta(hours=3)) == "msg-2"


def test_a_session_that_opens_another_link_moves_to_it_and_lets_go_of_the_old_files(sessions: LinkSessions) -> None:
    sessions.open("tab-1", "msg-1", LATER, NOW)
    sessions.hold("tab-1", "msg-1", "f1", 100, NOW)
    # The same link again (a reload): the session keeps what it holds.
    sessions.open("tab-1", "msg-1", LATER, NOW + timedelta(minutes=1))
    assert sessions.usage("msg-1") == Usage(files=1, bytes=100)
    # Another link in the same tab: the session belongs to that message now, with its own expiry,
    # and its files no longer count against the first one.
    sessions.open("tab-1", "msg-2", NOW + timedelta(hours=2), NOW + timedelta(minutes=2))
    assert sessions.message_of("tab-1", NOW + timedelta(minutes=3)) == "msg-2"
    assert sessions.message_of("tab-1", NOW + timedelta(hours=3)) is None
    assert sessions.usage("msg-1") == Usage(files=0, bytes=0)
    with sessions.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM link_sessions").scalar_one() == 1


def test_opening_keeps_times_in_utc_whatever_zone_they_come_in(sessions: LinkSessions) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    sessions.open("tab-1", "msg-1", LATER.astimezone(berlin), NOW.astimezone(berlin))
    # Compared with times the ORM writes and reads: the same instants, so the same order.
    assert sessions.message_of("tab-1", LATER - timedelta(microseconds=1)) == "msg-1"
    assert sessions.message_of("tab-1", LATER) is None
    sessions.hold("tab-1", "msg-1", "f1", 100, NOW)
    sessions.touch("tab-1", NOW + IDLE / 2)
    # Seen half an idle time ago, so not idle: a second session's opening leaves its files counted.
    sessions.open("tab-2", "msg-1", LATER, NOW + IDLE)
    assert sessions.usage("msg-1").files == 1
    assert sessions.purge(LATER) == 2
