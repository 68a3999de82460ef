"""The portal's clock: instants in UTC, days at the authority."""

from __future__ import annotations

from datetime import timedelta

from portal.domain import clock


def test_now_is_aware_utc_and_today_is_berlins_date() -> None:
    before = clock.now()
    today = clock.today()
    after = clock.now()
    assert before.utcoffset() == timedelta(0) and before <= after
    # Read between two instants, today is Berlin's date at one of them (midnight may pass).
    assert today in {before.astimezone(clock.BERLIN).date(), after.astimezone(clock.BERLIN).date()}
    assert str(clock.BERLIN) == "Europe/Berlin"
