"""Client addresses behind trusted proxies, address groups and session bindings."""

from __future__ import annotations

import pytest

from portal.protection.clients import address_group, binding, client_address


@pytest.mark.parametrize(
    ("peer", "forwarded", "hops", "expected"),
    [
        # No trusted proxy: whatever the client writes into X-Forwarded-For counts for nothing.
        ("198.51.100.7", "203.0.113.9", 0, "198.51.100.7"),
        # One proxy: the address it appended (the last entry); entries to its left are the client's own.
        ("10.0.0.2", "203.0.113.9", 1, "203.0.113.9"),
        ("10.0.0.2", "1.2.3.4, 203.0.113.9", 1, "203.0.113.9"),
        # Two proxies: the second entry from the right.
        ("10.0.0.2", "1.2.3.4, 203.0.113.9, 10.0.0.1", 2, "203.0.113.9"),
        # Fewer entries than proxies: the request did not come through all of them.
        ("10.0.0.2", "203.0.113.9", 2, "10.0.0.2"),
        ("10.0.0.2", "", 1, "10.0.0.2"),
    ],
)
def test_client_address_follows_the_trusted_hops(peer: str, forwarded: str, hops: int, expected: str) -> None:
    assert client_address(peer, forwarded, hops) == expected


def test_address_groups() -> None:
    assert address_group("198.51.100.7") == "198.51.100.7"
    assert address_group("::ffff:198.51.100.7") == "198.51.100.7"
    # A phone's IPv6 privacy addresses change within its /64.
    assert address_group("2001:db8:1:2:aaaa::1") == address_group("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert address_group("2001:db8:1:3::1") != address_group("2001:db8:1:2::1")
    assert address_group("not an address" * 20) == ("not an address" * 20)[:64]


def test_binding_changes_with_address_group_or_browser() -> None:
    here = binding("198.51.100.7", "Firefox/140")
    assert here == binding("198.51.100.7", "Firefox/140")
    assert here != binding("198.51.100.8", "Firefox/140")
    assert here != binding("198.51.100.7", "Chrome/140")
    assert binding("2001:db8::1", "UA") == binding("2001:db8::2", "UA")
    assert "198.51.100.7" not in here and len(here) == 64
