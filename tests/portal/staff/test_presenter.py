"""The staff list's rows, in the staff member's language."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from portal.domain import i18n
from portal.domain.outgoing import OutboxState, OutgoingReply
from portal.outbox.entries import OutboxEntry
from portal.staff.presenter import staff_row, staff_rows
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


def test_a_case_without_a_recorded_language_says_so_in_the_staff_members_language() -> None:
    row = staff_row(summary(preferred_language=None), None, None, "en", date(2026, 12, 6))
    assert row.language == i18n.translate("en", "staff.language_unknown")


def _rejected() -> OutboxEntry:
    return OutboxEntry(
        id=1,
        reference="RK-AAAA-BBBB",
        message_id="m1",
        idempotency_key="k",
        reply=OutgoingReply(submitted_at=T0, language="de", declaration=True),
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


def _entry(state: OutboxState, message_id: str = "m1") -> OutboxEntry:
    return dataclasses.replace(_rejected(), state=state, message_id=message_id, last_error_code=None)


def test_answered_in_the_portal_then_delivered_to_the_case_system() -> None:
    waiting = staff_row(summary(), _entry(OutboxState.pending), None, "de", date(2026, 12, 6))
    assert waiting.status == "answered" and waiting.days_left == ""
    assert waiting.status_text == "Beantwortet am 1. Dezember 2026, 10:00, noch nicht im Fachverfahren"
    delivered = staff_row(summary(link_state="answered", answered_at=T0), None, None, "en", date(2026, 12, 6))
    assert delivered.status == "delivered"
    # Babel's English time has a narrow no-break space before "AM".
    assert delivered.status_text == "Answered on December 1, 2026, 10:00\u202fAM and handed to the case system"


def test_the_row_speaks_the_staff_members_language_and_names_the_applicants_in_its_own() -> None:
    row = staff_row(summary(), None, None, "en", date(2026, 12, 6))
    assert row.kind == "Question about your application" and row.deadline == "December 20, 2026"
    assert row.sent.startswith("December 1, 2026") and row.last_opened == "Never opened yet"
    assert row.language == "العربية"  # the applicant's language in its own name, whatever the staff's
    assert (row.id, row.subject, row.applicant) == ("m1", "Rückfrage", "A. Person")


def test_rows_keep_the_case_services_order_and_each_messages_own_state() -> None:
    summaries = [summary(id="m2", case_reference="B"), summary(id="m1", case_reference="A"), summary(id="m3")]
    rows = staff_rows(summaries, {"m1": _entry(OutboxState.pending)}, {"m2": T0}, "de", date(2026, 12, 6))
    assert [(r.id, r.status) for r in rows] == [("m2", "draft_started"), ("m1", "answered"), ("m3", "open")]
    assert staff_rows([], {}, {}, "de", date(2026, 12, 6)) == []


def test_more_time_asked_is_named_with_its_date_in_the_staff_members_language() -> None:
    asked = summary(link_state="answered", answered_at=T0, extension_requested_until=date(2027, 1, 31))
    assert staff_row(asked, None, None, "de", date(2026, 12, 6)).more_time == "Mehr Zeit erbeten bis 31. Januar 2027"
    assert staff_row(asked, None, None, "en", date(2026, 12, 6)).more_time == "More time asked until January 31, 2027"
    assert staff_row(summary(), None, None, "de", date(2026, 12, 6)).more_time == ""
