"""The staff list's rows, in the staff member's language."""

from __future__ import annotations

from datetime import date, timedelta

from portal.outbox.store import OutboxEntry, OutboxState
from portal.staff.presenter import staff_row
from tests.support.messages import T0, summary


def test_open_row_in_german() -> None:
    row = staff_row(summary(), None, None, "de", date(2026, 12, 6))
    assert (row.status, row.status_text) == ("open", "Offen")
    assert row.reference == "ABH-P-2026-000001" and row.language == "العربية"
    assert row.deadline == "20. Dezember 2026" and "14" in row.days_left
    assert row.last_opened == "Noch nie geöffnet"


def test_draft_started_and_last_opened_with_times() -> None:
    row = staff_row(summary(last_opened_at=T0), None, T0 + timedelta(hours=1), "de", date(2026, 12, 6))
    assert row.status == "draft_started"
    assert row.status_text.startswith("Antwort begonnen am 1. Dezember 2026")
    assert "10:00" in row.last_opened  # Berlin time


def test_revoked_row_in_english() -> None:
    row = staff_row(summary(link_state="revoked", revoked_at=T0), None, None, "en", date(2026, 12, 6))
    assert row.status_text.startswith("Link revoked on")


def test_days_left_only_while_the_link_is_open_and_unknown_languages_by_code() -> None:
    row = staff_row(summary(link_state="expired", preferred_language="ti"), None, None, "de", date(2026, 12, 6))
    assert row.days_left == "" and row.deadline == "20. Dezember 2026"
    assert row.language == "ti"


def _rejected() -> OutboxEntry:
    return OutboxEntry(
        id=1,
        reference="RK-AAAA-BBBB",
        message_id="m1",
        idempotency_key="k",
        payload={},
        files=(),
        state=OutboxState.rejected,
        attempts=1,
        next_attempt_at=T0,
        lease_until=None,
        last_error_code="link_revoked",
        reply_id=None,
        delivered_at=None,
        created_at=T0,
    )


def test_a_refused_reply_says_so_in_words() -> None:
    row = staff_row(summary(link_state="revoked", revoked_at=T0), _rejected(), None, "de", date(2026, 12, 6))
    assert row.status == "refused" and row.days_left == ""
    assert row.status_text == (
        "Beantwortet am 1. Dezember 2026, 10:00, vom Fachverfahren abgelehnt – "
        "der IT-Betrieb ist informiert, die Dateien sind aufbewahrt"
    )
    english = staff_row(summary(), _rejected(), None, "en", date(2026, 12, 6)).status_text
    assert "refused by the case system" in english and "files kept" in english
