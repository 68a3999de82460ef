"""The appointment's calendar file: it parses (icalendar, and the stricter line grammar of RFC 5545
checked by hand), holds the appointment's instant in Berlin time with its VTIMEZONE, the place,
what to bring, the authority's phone, the reference and a reminder the day before, in the
applicant's language; after a request for another date it keeps the old date and says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from portal.domain import i18n, ics
from portal.domain.message import MessageView
from tests.support import messages

STAMP = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HOST = "portal.example"


def _appointment(**changes: object) -> MessageView:
    msg = messages.message_view("appointment")
    assert msg.appointment is not None
    return msg.model_copy(update={"appointment": msg.appointment.model_copy(update=changes)}) if changes else msg


def _parsed(msg: MessageView, lang: str = "de", *, reschedule_requested: bool = False) -> Calendar:
    data = ics.appointment_calendar(msg, lang, host=HOST, stamp=STAMP, reschedule_requested=reschedule_requested)
    assert data is not None
    return Calendar.from_ical(data)


def test_the_event_is_the_appointments_instant_in_berlin_time() -> None:
    msg = _appointment()
    assert msg.appointment is not None
    (event,) = _parsed(msg).events
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start == msg.appointment.starts_at and end == msg.appointment.ends_at  # the same instants
    assert start.astimezone(UTC) == msg.appointment.starts_at.astimezone(UTC)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert str(start.tzinfo) == "Europe/Berlin"
    assert event.decoded("DTSTAMP") == STAMP


@pytest.mark.parametrize(
    ("starts_utc", "wall_clock"),
    [
        # Winter (CET, UTC+1) and summer (CEST, UTC+2): the same wall clock means different instants.
        (datetime(2027, 1, 12, 8, 30, tzinfo=UTC), "20270112T093000"),
        (datetime(2027, 7, 13, 7, 30, tzinfo=UTC), "20270713T093000"),
    ],
)
def test_winter_and_summer_time(starts_utc: datetime, wall_clock: str) -> None:
    msg = _appointment(starts_at=starts_utc, ends_at=starts_utc + timedelta(minutes=30))
    data = ics.appointment_calendar(msg, "en", host=HOST, stamp=STAMP)
    assert data is not None
    assert f"DTSTART;TZID=Europe/Berlin:{wall_clock}" in data.decode()
    (event,) = Calendar.from_ical(data).events
    assert event.decoded("DTSTART").astimezone(UTC) == starts_utc


def test_the_time_zone_travels_with_the_file() -> None:
    calendar = _parsed(_appointment())
    (zone,) = calendar.timezones
    assert zone["TZID"] == "Europe/Berlin"
    # A reader that knows no zone database computes the offsets from the VTIMEZONE alone.
    berlin = zone.to_tz()
    winter = datetime(2026, 12, 15, 9, 30)
    summer = datetime(2027, 6, 15, 9, 30)
    assert berlin.utcoffset(winter) == timedelta(hours=1) == ZoneInfo("Europe/Berlin").utcoffset(winter)
    assert berlin.utcoffset(summer) == timedelta(hours=2)


def test_a_reminder_the_day_before() -> None:
    (event,) = _parsed(_appointment()).events
    (alarm,) = event.subcomponents
    assert alarm.name == "VALARM"
    assert alarm["ACTION"] == "DISPLAY"
    assert alarm.decoded("TRIGGER") == timedelta(days=-1)
    assert alarm["DESCRIPTION"].startswith(i18n.translate("de", "calendar.reminder", summary=""))


@pytest.mark.parametrize("lang", ["de", "en", "ar"])
def test_place_what_to_bring_phone_and_reference_in_the_applicants_language(lang: str) -> None:
    msg = _appointment(bring="Reisepass im Original")
    (event,) = _parsed(msg, lang).events
    assert event["SUMMARY"] == i18n.translate(lang, "calendar.summary", authority=msg.authority.name)
    assert event["LOCATION"] == "Friedrich-Ebert-Straße 79/81, Raum 1.043"
    notes = str(event["DESCRIPTION"])
    assert i18n.translate(lang, "calendar.bring", bring="Reisepass im Original") in notes
    assert i18n.translate(lang, "calendar.phone", phone="+49 331 289-0") in notes
    assert i18n.translate(lang, "calendar.reference", reference=msg.case.reference) in notes
    assert i18n.translate(lang, "calendar.reschedule_pending", when="").split("{")[0][:20] not in notes


def test_after_a_request_for_another_date_the_old_date_stands_and_the_file_says_so() -> None:
    msg = _appointment()
    assert msg.appointment is not None
    (event,) = _parsed(msg, "en", reschedule_requested=True).events
    assert event.decoded("DTSTART") == msg.appointment.starts_at
    notes = str(event["DESCRIPTION"])
    assert notes.startswith("You have asked for a different appointment. Until the authority answers you")
    assert ics.appointment_when(msg, "en") in notes


def test_the_uid_is_stable_and_names_no_id() -> None:
    msg = _appointment()
    first = ics.appointment_calendar(msg, "de", host=HOST, stamp=STAMP)
    again = ics.appointment_calendar(msg, "en", host=HOST, stamp=STAMP + timedelta(hours=3))
    assert first is not None and again is not None
    uids = [Calendar.from_ical(d).events[0]["UID"] for d in (first, again)]
    assert uids[0] == uids[1] and uids[0].endswith("@portal.example")
    assert msg.id not in uids[0].split("@")[0]
    other = msg.model_copy(update={"id": "m2"})
    assert (
        Calendar.from_ical(ics.appointment_calendar(other, "de", host=HOST, stamp=STAMP) or b"").events[0]["UID"]
        != uids[0]
    )


def test_the_text_follows_rfc_5545s_line_grammar() -> None:
    # A second reading, independent of icalendar's parser: CRLF line ends, no line over 75 octets,
    # continuation lines start with a space, BEGIN/END balanced, the required properties present.
    data = ics.appointment_calendar(_appointment(), "ar", host=HOST, stamp=STAMP)
    assert data is not None
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    physical = data.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in physical)
    # Unfolded (RFC 5545 3.1): a line starting with a space continues the one before.
    text = b"".join(line[1:] if line.startswith(b" ") else b"\n" + line for line in physical).decode()
    lines = text.strip("\n").split("\n")
    stack: list[str] = []
    for line in lines:
        name, _, value = line.partition(":")
        if name == "BEGIN":
            stack.append(value)
        elif name == "END":
            assert stack.pop() == value
    assert not stack
    names = {line.split(":")[0].split(";")[0] for line in lines}
    assert {"VERSION", "PRODID", "UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "LOCATION", "TRIGGER"} <= names
    assert "DTSTART;TZID=Europe/Berlin:20261215T093000" in lines


def test_no_appointment_no_file() -> None:
    msg = messages.message_view("question")
    assert ics.appointment_calendar(msg, "de", host=HOST, stamp=STAMP) is None


def test_the_file_name_holds_the_date_only() -> None:
    assert ics.filename_for(_appointment()) == "appointment-2026-12-15.ics"
    # 23:30 UTC on 31 December is already 1 January in Berlin.
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert ics.filename_for(_appointment(starts_at=late, ends_at=late + timedelta(minutes=30))) == (
        "appointment-2027-01-01.ics"
    )
