"""Rate limit counters on a real SQLite file (and PostgreSQL when reachable)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from portal.protection.ratelimit import PortalRules, RateLimiter, Rule, rate_counters
from portal.settings import PortalSettings

T0 = 1_800_000_000.0
RULE = Rule("test", limit=3, window_seconds=60)


def _limiter(database_url: str) -> RateLimiter:
    limiter = RateLimiter(database_url)
    limiter.create_all()
    return limiter


@pytest.fixture
def limiter(database_url: str) -> Iterator[RateLimiter]:
    limiter = _limiter(database_url)
    yield limiter
    limiter.dispose()


def test_allows_the_limit_then_refuses_until_the_window_ends(limiter: RateLimiter) -> None:
    verdicts = [limiter.hit([(RULE, "198.51.100.7")], T0 + i) for i in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, True]
    assert [v.remaining for v in verdicts] == [2, 1, 0]
    refused = limiter.hit([(RULE, "198.51.100.7")], T0 + 10)
    assert not refused.allowed and refused.retry_after == 50 and refused.minutes == 1
    # Refusals count but never move the window's end.
    assert limiter.hit([(RULE, "198.51.100.7")], T0 + 59.5).retry_after == 1
    # Another subject has its own count; the next window starts afresh.
    assert limiter.hit([(RULE, "198.51.100.8")], T0 + 10).allowed
    assert limiter.hit([(RULE, "198.51.100.7")], T0 + 60).allowed


def test_several_counters_in_one_check(limiter: RateLimiter) -> None:
    per_link = Rule("link", limit=2, window_seconds=600)
    for i in range(2):
        assert limiter.hit([(RULE, f"address-{i}"), (per_link, "link")], T0).allowed
    # The link's limit refuses whatever the address; the wait is that of the refusing window.
    refused = limiter.hit([(RULE, "address-9"), (per_link, "link")], T0 + 100)
    assert not refused.allowed and refused.retry_after == 500 and refused.minutes == 9


def test_counters_are_shared_by_every_instance(database_url: str, limiter: RateLimiter) -> None:
    other = _limiter(database_url)
    try:
        for _ in range(2):
            assert limiter.hit([(RULE, "shared")], T0).allowed
        assert other.hit([(RULE, "shared")], T0).allowed
        assert not other.hit([(RULE, "shared")], T0).allowed
        assert not limiter.hit([(RULE, "shared")], T0).allowed
    finally:
        other.dispose()


def test_release_and_reset(limiter: RateLimiter) -> None:
    for _ in range(3):
        limiter.hit([(RULE, "s")], T0)
    limiter.release(RULE, "s", T0)
    assert limiter.hit([(RULE, "s")], T0).allowed
    assert not limiter.hit([(RULE, "s")], T0).allowed
    limiter.reset(RULE, "s")
    assert limiter.hit([(RULE, "s")], T0).remaining == 2


def test_parallel_hits_never_pass_the_limit(limiter: RateLimiter) -> None:
    allowed: list[bool] = []

    def hit() -> None:
        allowed.append(limiter.hit([(RULE, "flood")], T0).allowed)

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 3 and len(allowed) == 20


def test_no_address_or_token_is_stored_and_ended_windows_are_purged(limiter: RateLimiter) -> None:
    limiter.hit([(RULE, "203.0.113.5"), (Rule("long", 5, 3600), "a-reply-token")], T0)
    with limiter.engine.connect() as conn:
        rows = conn.execute(select(rate_counters)).all()
    assert len(rows) == 2
    assert all("203.0.113.5" not in str(tuple(r)) and "a-reply-token" not in str(tuple(r)) for r in rows)
    assert limiter.purge(T0 + 60) == 1  # the minute's counter; the hour's stays
    assert limiter.purge(T0 + 3600) == 1


def test_rules_from_settings() -> None:
    rules = PortalRules.from_settings(PortalSettings(link_opens_per_address=7, link_window_seconds=30))
    assert (rules.link_open_address.limit, rules.link_open_address.window_seconds) == (7, 30)
    assert rules.handover_address.limit == 7
    assert rules.link_open_link.limit == 20 and rules.upload_address.limit == 120
    # Each counts apart: a page request and its hand-over are two hits, on two counters.
    assert len({r.name for r in (rules.link_open_address, rules.handover_address, rules.upload_address)}) == 3
    with pytest.raises(ValueError):
        Rule("zero", 0, 60)


def test_postgresql(pg_url: str) -> None:
    a, b = _limiter(pg_url), _limiter(pg_url)
    try:
        assert [a.hit([(RULE, "x")], T0).allowed for _ in range(2)] == [True, True]
        assert b.hit([(RULE, "x")], T0).allowed
        refused = b.hit([(RULE, "x")], T0 + 30)
        assert not refused.allowed and refused.retry_after == 30
        assert a.hit([(RULE, "x")], T0 + 60).allowed
        assert a.purge(T0 + 120) == 1
    finally:
        a.dispose()
        b.dispose()
