from __future__ import annotations

import base64
import hashlib
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from casesvc.tokens import (
    TOKEN_CHARS,
    deadline_expiry,
    hash_token,
    info_expiry,
    mint_token,
    reply_link,
    same_hash,
)

BERLIN = ZoneInfo("Europe/Berlin")


def test_token_has_256_bits_and_fixed_length() -> None:
    tokens = {mint_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert len(token) == TOKEN_CHARS
        assert len(base64.urlsafe_b64decode(token + "=")) == 32


def test_hash_is_sha256_hex_and_comparison_is_exact() -> None:
    token = mint_token()
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert same_hash(hash_token(token), hash_token(token))
    assert not same_hash(hash_token(token), hash_token(token[:-1] + ("A" if token[-1] != "A" else "B")))


def test_reply_link_shape() -> None:
    assert reply_link("https://portal.example.de/", "abc") == "https://portal.example.de/r/abc"


@pytest.mark.parametrize(
    ("deadline", "grace", "expected"),
    [
        # Winter (CET, UTC+1): end of 3 March + 14 days = 18 March 00:00 CET.
        (date(2026, 3, 3), 14, datetime(2026, 3, 17, 23, 0, tzinfo=UTC)),
        # The grace period crosses the switch to summer time (29 March 2026): CEST, UTC+2.
        (date(2026, 3, 20), 14, datetime(2026, 4, 3, 22, 0, tzinfo=UTC)),
        # No grace: the deadline day itself ends at local midnight.
        (date(2026, 7, 1), 0, datetime(2026, 7, 1, 22, 0, tzinfo=UTC)),
        # Across the year boundary.
        (date(2026, 12, 31), 1, datetime(2027, 1, 1, 23, 0, tzinfo=UTC)),
    ],
)
def test_deadline_expiry_is_end_of_day_in_berlin_plus_grace(deadline: date, grace: int, expected: datetime) -> None:
    result = deadline_expiry(deadline, grace, BERLIN)
    assert result == expected and result.tzinfo is UTC


def test_info_expiry_counts_days_from_sending() -> None:
    sent = datetime(2026, 2, 10, 9, 0, tzinfo=BERLIN)
    assert info_expiry(sent, 90) == datetime(2026, 5, 11, 8, 0, tzinfo=UTC)
