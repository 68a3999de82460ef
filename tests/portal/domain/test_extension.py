"""The rules of a request for more time, one each: broken, then kept."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.domain import extension as x
from portal.domain.extension import MAX_EXTENSION_DAYS, ExtensionDraft

TODAY = date(2026, 3, 12)
DEADLINE = date(2026, 3, 20)
LATEST = DEADLINE + timedelta(days=MAX_EXTENSION_DAYS)  # 2026-06-18


def asked(until: date | None = date(2026, 4, 15), reason: str = "Der Vertrag kommt später") -> ExtensionDraft:
    return ExtensionDraft(until=until, reason=reason)


def test_the_window_is_after_today_and_the_deadline_and_at_most_the_cap_after_it() -> None:
    assert x.window(TODAY, DEADLINE) == x.Window(date(2026, 3, 21), LATEST)
    # Deadline passed (the link is open a while longer): from tomorrow, still counted from the deadline.
    assert x.window(date(2026, 3, 25), DEADLINE) == x.Window(date(2026, 3, 26), LATEST)
    assert x.window(TODAY, None) == x.Window(date(2026, 3, 13), TODAY + timedelta(days=MAX_EXTENSION_DAYS))


def test_extension_date_missing() -> None:
    assert x.extension_date_missing(asked(until=None), TODAY, DEADLINE) == "extension_date_missing"
    assert x.extension_date_missing(asked(), TODAY, DEADLINE) is None


def test_extension_date_not_future() -> None:
    for day in (TODAY - timedelta(days=1), TODAY):
        assert x.extension_date_not_future(asked(until=day), TODAY, DEADLINE) == "extension_date_not_future"
    assert x.extension_date_not_future(asked(until=TODAY + timedelta(days=1)), TODAY, DEADLINE) is None
    assert x.extension_date_not_future(asked(until=None), TODAY, DEADLINE) is None


def test_extension_date_not_after_deadline() -> None:
    for day in (TODAY + timedelta(days=1), DEADLINE):
        rule = x.extension_date_not_after_deadline(asked(until=day), TODAY, DEADLINE)
        assert rule == "extension_date_not_after_deadline"
    assert x.extension_date_not_after_deadline(asked(until=DEADLINE + timedelta(days=1)), TODAY, DEADLINE) is None
    # A date in the past is told once, by extension_date_not_future.
    assert x.extension_date_not_after_deadline(asked(until=TODAY), TODAY, DEADLINE) is None
    assert x.extension_date_not_after_deadline(asked(until=TODAY + timedelta(days=1)), TODAY, None) is None


def test_extension_date_too_far() -> None:
    assert x.extension_date_too_far(asked(until=LATEST), TODAY, DEADLINE) is None
    late = asked(until=LATEST + timedelta(days=1))
    assert x.extension_date_too_far(late, TODAY, DEADLINE) == "extension_date_too_far"


def test_extension_reason_missing() -> None:
    assert x.extension_reason_missing(asked(reason=" \n "), TODAY, DEADLINE) == "extension_reason_missing"
    assert x.extension_reason_missing(asked(), TODAY, DEADLINE) is None


def test_extension_reason_too_long() -> None:
    too_long = asked(reason="x" * (x.MAX_EXTENSION_REASON_CHARS + 1))
    assert x.extension_reason_too_long(too_long, TODAY, DEADLINE) == "extension_reason_too_long"
    assert x.extension_reason_too_long(asked(reason="x" * x.MAX_EXTENSION_REASON_CHARS), TODAY, DEADLINE) is None


@pytest.mark.parametrize(
    ("request_", "codes"),
    [
        (asked(), []),
        (ExtensionDraft(), ["extension_date_missing", "extension_reason_missing"]),
        (asked(until=DEADLINE, reason=""), ["extension_date_not_after_deadline", "extension_reason_missing"]),
    ],
)
def test_all_problems_in_the_order_of_the_fields(request_: ExtensionDraft, codes: list[str]) -> None:
    assert x.extension_problems(request_, TODAY, DEADLINE) == codes
