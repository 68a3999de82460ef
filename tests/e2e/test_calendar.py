"""The appointment's calendar file as a person gets it: a click, a download, a file their calendar
reads, before answering and on the confirmation; after a request for another date the page and the
file say that the old date stands. German, English and Arabic, on a phone and a desktop; axe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from playwright.sync_api import Browser, Page, expect

from portal.domain import i18n
from tests.e2e.a11y import assert_accessible
from tests.e2e.portal_page import button, field, fill, follow_sockets, heading, language_select, next_step
from tests.e2e.test_reply_flow import _link_for
from tests.support import messages
from tests.support.portal_process import PortalProcess

pytestmark = pytest.mark.e2e

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


def _message(reference: str) -> tuple[dict[str, Any], datetime]:
    start = (datetime.now(UTC) + timedelta(days=12)).replace(hour=8, minute=30, second=0, microsecond=0)
    message = messages.message_in(
        "appointment",
        reference=reference,
        subject="Terminmitteilung: persönliche Vorsprache",
        appointment={
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=30)).isoformat(),
            "place": "Friedrich-Ebert-Straße 79/81, Haus 1, Raum 2.14",
            "bring": "Reisepass im Original",
        },
    )
    return message, start


def _download(page: Page, lang: str) -> tuple[str, Calendar]:
    """Press "Add to calendar" and read the file the browser saved."""
    with page.expect_download() as info:
        page.locator("#calendar-button").click()
    download = info.value
    path = download.path()
    return download.suggested_filename, Calendar.from_ical(path.read_bytes())


def _check(calendar: Calendar, start: datetime, lang: str, reference: str) -> str:
    (event,) = calendar.events
    assert event.decoded("DTSTART").astimezone(UTC) == start  # the same instant
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert [tz["TZID"] for tz in calendar.timezones] == ["Europe/Berlin"]
    (alarm,) = event.subcomponents
    assert alarm.decoded("TRIGGER") == timedelta(days=-1)
    assert event["LOCATION"] == "Friedrich-Ebert-Straße 79/81, Haus 1, Raum 2.14"
    notes = str(event["DESCRIPTION"])
    assert i18n.translate(lang, "calendar.bring", bring="Reisepass im Original") in notes
    assert i18n.translate(lang, "calendar.reference", reference=reference) in notes
    assert i18n.translate(lang, "calendar.phone", phone=messages.AUTHORITY["phone"]) in notes
    assert str(event["SUMMARY"]).startswith(i18n.translate(lang, "calendar.summary", authority="").strip())
    return notes


@pytest.mark.parametrize("screen", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["de", "en", "ar"])
def test_add_to_calendar_before_and_after_answering(
    portal: PortalProcess, case_service: Any, browser: Browser, lang: str, screen: str
) -> None:
    # On the phone the applicant confirms; on the desktop they ask for another date.
    reschedule = screen == "desktop"
    reference = f"ABH-P-2026-0007{['de', 'en', 'ar'].index(lang)}{int(reschedule)}"
    message, start = _message(reference)
    created = messages.create(case_service, message)
    phone = screen == "phone"
    context = follow_sockets(
        browser.new_context(viewport=PHONE if phone else DESKTOP, locale="de-DE", is_mobile=phone, has_touch=phone)
    )
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(_link_for(portal, created))
        expect(heading(page).first).to_be_visible()
        language_select(page).select_option(lang)
        expect(page.locator("html")).to_have_attribute("lang", i18n.html_lang(lang))

        # The request: the offer sits in the appointment's card.
        expect(button(page, "calendar.add", lang)).to_be_visible()
        assert_accessible(page, f"{lang} {screen} request with the calendar offer")
        name, calendar = _download(page, lang)
        assert name.endswith(".ics") and name.startswith("appointment-")
        notes = _check(calendar, start, lang, reference)
        pending = i18n.translate(lang, "calendar.reschedule_pending", when="").split("{")[0][:25]
        assert pending not in notes

        # The appointment step offers it again.
        next_step(page, button(page, "overview.start", lang), lang=lang)
        _check(_download(page, lang)[1], start, lang, reference)
        assert_accessible(page, f"{lang} {screen} appointment step")
        if reschedule:
            field(page, "appointment.reschedule", lang).check()
            fill(field(page, "appointment.reason", lang), "Dienstreise")
            fill(field(page, "appointment.times", lang), "Dienstags")
        else:
            field(page, "appointment.confirm", lang).check()
        next_step(page, lang=lang)
        field(page, "review.declaration", lang).check()
        button(page, "review.submit", lang).click()
        expect(page.locator("#done-reference")).to_be_visible()

        # The confirmation: after a request for another date the old one stands, and the page says so.
        if reschedule:
            expect(page.locator("#reschedule-pending")).to_be_visible()
            expect(page.locator("#reschedule-pending")).to_contain_text(pending)
            expect(button(page, "calendar.add_current", lang)).to_be_visible()
        else:
            expect(page.locator("#reschedule-pending")).to_have_count(0)
            expect(button(page, "calendar.add", lang)).to_be_visible()
        assert_accessible(page, f"{lang} {screen} confirmation with the calendar offer")
        # On paper the offer is gone and the state of the request stays.
        page.emulate_media(media="print")
        expect(page.locator(".calendar-offer")).to_be_hidden()
        if reschedule:
            expect(page.locator("#reschedule-pending")).to_be_visible()
        page.emulate_media(media="screen")
        notes = _check(_download(page, lang)[1], start, lang, reference)
        assert (pending in notes) is reschedule
    finally:
        context.close()
