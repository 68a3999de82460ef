"""The outbox's references: what the applicant reads out on the phone."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from portal.domain.outgoing import OutboxState
from portal.outbox.entries import OutboxEntry, new_reference


def test_reference_is_unambiguous() -> None:
    for _ in range(200):
        ref = new_reference()
        assert re.fullmatch(r"RK-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", ref), ref
        assert not set(ref[3:]) & set("01OI")


def test_an_entry_reduced_after_delivery_says_so_when_its_reply_is_asked_for() -> None:
    now = datetime(2026, 12, 8, tzinfo=UTC)
    reduced = OutboxEntry(
        1, "RK-2345-6789", "m-1", "k-1", None, OutboxState.delivered, 1, now, None, None, "r", now, now
    )
    with pytest.raises(RuntimeError, match="reduced"):
        reduced.held_reply()
