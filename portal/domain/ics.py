"""An appointment as a calendar file (RFC 5545) the applicant can add to their own calendar.

One VEVENT in the authority's time (TZID Europe/Berlin, with its VTIMEZONE, so a phone set to
another zone still shows the right instant), the place, what to bring, the authority's phone and
the case reference, and a reminder the day before. The words are the applicant's language.

The UID is derived from the message, so a second download replaces the entry in the calendar
rather than adding a twin; it is a hash, so the file names no id of the case service. After a
request for another date the file still holds the date the authority set, and says that it stands
until the authority answers: nothing is moved before the authority has agreed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, Event

from portal.domain import formatting
from portal.domain.clock import BERLIN
from portal.domain.i18n import translate
from portal.domain.message import MessageView

MEDIA_TYPE = "text/calendar"
PRODUCT_ID = "-//Rueckkanal-Portal//Appointment//EN"
REMIND_BEFORE = timedelta(days=1)


def uid_for(message_id: str, host: str) -> str:
    """The same for every download of one message's appointment (RFC 5545 3.8.4.7)."""
    digest = hashlib.sha256(f"appointment:{message_id}".encode()).hexdigest()[:32]
    return f"{digest}@{host}"


def appointment_when(message: MessageView, lang: str) -> str:
    """When the appointment is, as the page says it, in the authority's time (Berlin)."""
    appointment = message.appointment
    if appointment is None:
        return ""
    start = appointment.starts_at.astimezone(BERLIN)
    return translate(
        lang,
        "appointment.when",
        date=formatting.format_date_long(start.date(), lang),
        start=formatting.format_time(appointment.starts_at, lang),
        end=formatting.format_time(appointment.ends_at, lang),
    )


def description(message: MessageView, lang: str, *, reschedule_requested: bool) -> str:
    """The event's notes: what to bring, whom to call, the reference, and the state of a request
    for another date."""
    appointment = message.appointment
    lines: list[str] = []
    if reschedule_requested:
        lines.append(translate(lang, "calendar.reschedule_pending", when=appointment_when(message, lang)))
    if appointment is not None and appointment.bring:
        lines.append(translate(lang, "calendar.bring", bring=appointment.bring))
    lines.append(translate(lang, "calendar.authority", authority=message.authority.name))
    if message.authority.phone:
        lines.append(translate(lang, "calendar.phone", phone=message.authority.phone))
    lines.append(translate(lang, "calendar.reference", reference=message.case.reference))
    return "\n".join(lines)


def appointment_calendar(
    message: MessageView, lang: str, *, host: str, stamp: datetime, reschedule_requested: bool = False
) -> bytes | None:
    """The calendar file for the message's appointment; None for a message without one.

    ``host`` names the portal in the UID; ``stamp`` (aware) is when the file was made (DTSTAMP).
    """
    appointment = message.appointment
    if appointment is None:
        return None
    summary = translate(lang, "calendar.summary", authority=message.authority.name)
    event = Event.new(
        uid=uid_for(message.id, host),
        stamp=stamp,
        start=appointment.starts_at.astimezone(BERLIN),
        end=appointment.ends_at.astimezone(BERLIN),
        summary=summary,
        location=appointment.place,
        description=description(message, lang, reschedule_requested=reschedule_requested),
        sequence=0,
    )
    alarm = Alarm.new(description=translate(lang, "calendar.reminder", summary=summary))
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", -REMIND_BEFORE)
    event.add_component(alarm)
    # The calendar's own UID (RFC 7986) is derived too, or every download would differ.
    calendar = Calendar.new(
        prodid=PRODUCT_ID, method="PUBLISH", uid=f"calendar-{uid_for(message.id, host)}", subcomponents=[event]
    )
    calendar.add_missing_timezones()
    data: bytes = calendar.to_ical()
    return data


def filename_for(message: MessageView) -> str:
    """The downloaded file's name: the date only (nothing personal), ASCII for every system."""
    if message.appointment is None:
        return "appointment.ics"
    return f"appointment-{message.appointment.starts_at.astimezone(BERLIN).date().isoformat()}.ics"
