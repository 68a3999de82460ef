"""The calendar download in the real state tree: only a verified link's session gets the file, it
holds the message's appointment, and after a sent request for another date it still holds the old
date and says so."""

from __future__ import annotations

import base64

from icalendar import Calendar
from reflex.event import EventSpec

from portal.domain import i18n
from portal.state.reply import ReplyState
from tests.portal.state.conftest import KINDS, opened, substate


def _calendar(spec: EventSpec | None) -> tuple[str, Calendar]:
    assert spec is not None
    args = {name._js_expr: value._var_value for name, value in spec.args}  # type: ignore[attr-defined]
    url: str = args["url"]
    prefix = "data:text/calendar;base64,"
    assert url.startswith(prefix)
    return args["filename"], Calendar.from_ical(base64.b64decode(url.removeprefix(prefix)))


async def test_a_verified_link_gets_its_appointment(portal_runtime, create_message) -> None:
    _, token = await create_message("appointment", **KINDS["appointment"])
    state = await opened(token)
    filename, calendar = _calendar(state.download_calendar())
    (event,) = calendar.events
    assert state._message is not None and state._message.appointment is not None
    assert event.decoded("DTSTART") == state._message.appointment.starts_at.replace(microsecond=0)
    assert event["LOCATION"] == "Raum 1.043"
    assert filename == f"appointment-{event.decoded('DTSTART').date().isoformat()}.ics"


async def test_nothing_without_a_verified_link_or_an_appointment(portal_runtime, create_message) -> None:
    assert substate(ReplyState).download_calendar() is None
    _, token = await create_message("question")
    assert (await opened(token)).download_calendar() is None


async def test_a_sent_request_for_another_date_keeps_the_old_date(portal_runtime, create_message) -> None:
    _, token = await create_message("appointment", **KINDS["appointment"])
    state = await opened(token)
    await state.next_step()
    await state.set_appointment_answer("reschedule")
    await state.set_appointment_reason("Ich bin verreist")
    # Chosen but not sent: nothing is asked yet, so the file says nothing about it.
    (event,) = _calendar(state.download_calendar())[1].events
    assert i18n.translate(state.lang, "calendar.reschedule_pending").split(".")[0] not in str(event["DESCRIPTION"])
    await state.next_step()
    await state.set_declaration(True)
    await state.submit()
    assert state.step == "done", state.problems
    (event,) = _calendar(state.download_calendar())[1].events
    assert state._message is not None and state._message.appointment is not None
    assert event.decoded("DTSTART") == state._message.appointment.starts_at.replace(microsecond=0)
    assert str(event["DESCRIPTION"]).startswith(i18n.translate(state.lang, "calendar.reschedule_pending").split("{")[0])
