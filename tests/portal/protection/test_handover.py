"""The one-time hand-over of a link's first response to its page's websocket."""

from __future__ import annotations

from portal.protection.handover import MAX_ENTRIES, Handovers

TOKEN = "A" * 43
CLIENT = "203.0.113.7"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_nonce_gives_its_outcome_once() -> None:
    kept: Handovers[str] = Handovers()
    nonce = kept.issue(TOKEN, CLIENT, "opened")
    assert kept.redeem(nonce, TOKEN, CLIENT) == "opened"
    assert kept.redeem(nonce, TOKEN, CLIENT) is None  # a replay, a second tab
    assert len(kept) == 0


def test_each_response_gets_its_own_unguessable_nonce() -> None:
    kept: Handovers[str] = Handovers()
    first, second = kept.issue(TOKEN, CLIENT, "a"), kept.issue(TOKEN, CLIENT, "b")
    assert first != second and len(first) >= 43
    assert kept.redeem(second, TOKEN, CLIENT) == "b"
    assert kept.redeem(first, TOKEN, CLIENT) == "a"


def test_a_nonce_expires() -> None:
    clock = Clock()
    kept: Handovers[str] = Handovers(lifetime=120, clock=clock)
    nonce = kept.issue(TOKEN, CLIENT, "opened")
    clock.now += 120
    assert kept.redeem(nonce, TOKEN, CLIENT) is None


def test_a_nonce_without_its_token_gives_nothing_and_is_used_up() -> None:
    kept: Handovers[str] = Handovers()
    nonce = kept.issue(TOKEN, CLIENT, "opened")
    assert kept.redeem(nonce, "B" * 43, CLIENT) is None
    # Whoever tried it has spent it: the page's own websocket opens the link itself then.
    assert kept.redeem(nonce, TOKEN, CLIENT) is None


def test_a_nonce_from_another_address_gives_nothing() -> None:
    kept: Handovers[str] = Handovers()
    nonce = kept.issue(TOKEN, CLIENT, "opened")
    assert kept.redeem(nonce, TOKEN, "198.51.100.1") is None


def test_no_nonce_or_an_unknown_one_gives_nothing() -> None:
    kept: Handovers[str] = Handovers()
    kept.issue(TOKEN, CLIENT, "opened")
    assert kept.redeem("", TOKEN, CLIENT) is None
    assert kept.redeem("made-up", TOKEN, CLIENT) is None
    assert len(kept) == 1


def test_memory_is_bounded_and_expired_entries_go() -> None:
    clock = Clock()
    kept: Handovers[int] = Handovers(lifetime=10, clock=clock)
    oldest = kept.issue(TOKEN, CLIENT, 0)
    for n in range(MAX_ENTRIES):
        kept.issue(TOKEN, CLIENT, n)
    assert len(kept) == MAX_ENTRIES
    assert kept.redeem(oldest, TOKEN, CLIENT) is None
    clock.now += 10
    kept.issue(TOKEN, CLIENT, 1)
    assert len(kept) == 1
