"""Asking for more time, in Chromium against the real portal and case service.

In German, English and Arabic, on a 360 px phone and on a desktop: the request page says what
happens when the deadline passes, the applicant asks for more time alone or with a document that
is ready, sees it on the review and the confirmation (a request: the deadline stands), and the
case service holds it as the reply's own field; the staff list names it. axe finds nothing on
any of these screens.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from portal import presenter
from portal.domain import formatting, i18n
from tests.e2e.a11y import assert_accessible
from tests.e2e.portal_page import button, choose_files, field, fill, follow_sockets, heading, next_step, sends, uploaded
from tests.e2e.test_reply_flow import _link_for, _wait_for_reply
from tests.e2e.test_staff import _rows, _search, _sign_in, staff_users  # noqa: F401 (a fixture)
from tests.fixtures.corpus import blank_pdf
from tests.support import messages
from tests.support.portal_process import PortalProcess

pytestmark = pytest.mark.e2e

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
REASON = {
    "de": "Mein Arbeitgeber stellt den Vertrag erst Ende des Monats aus.",
    "en": "My employer issues the contract only at the end of the month.",
    "ar": "صاحب العمل لن يصدر العقد إلا في نهاية الشهر.",
}
# Each language once on each screen, alone and with a document, a question and a hearing.
CASES = [
    ("de", "phone", "alone", "question"),
    ("de", "desktop", "with_document", "intent_to_refuse"),
    ("en", "phone", "with_document", "question"),
    ("en", "desktop", "alone", "intent_to_refuse"),
    ("ar", "phone", "alone", "intent_to_refuse"),
    ("ar", "desktop", "with_document", "question"),
]


@pytest.fixture()
def screen(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    lang, size = request.param
    phone = size == "phone"
    ctx = follow_sockets(
        browser.new_context(
            viewport=PHONE if phone else DESKTOP,
            locale={"de": "de-DE", "en": "en-GB", "ar": "ar"}[lang],
            is_mobile=phone,
            has_touch=phone,
        )
    )
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        ctx.close()


def _until(deadline: date) -> date:
    return deadline + timedelta(days=21)


def _ask(page: Page, lang: str, until: date) -> None:
    next_step(page, button(page, "extension.ask", lang), lang=lang)
    expect(heading(page)).to_have_text(i18n.translate(lang, "extension.heading"))
    button(page, "nav.next", lang).click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text(i18n.translate(lang, "error.extension_date_missing"))
    expect(summary).to_contain_text(i18n.translate(lang, "error.extension_reason_missing"))
    assert_accessible(page, f"{lang} more time with errors")
    date_field = field(page, "extension.until", lang)
    with sends(page, until.isoformat()):
        date_field.fill(until.isoformat())
    fill(field(page, "extension.reason", lang), REASON[lang])
    assert_accessible(page, f"{lang} more time filled in")


@pytest.mark.parametrize(
    ("screen", "lang", "how", "kind"),
    [((lang, size), lang, how, kind) for lang, size, how, kind in CASES],
    indirect=["screen"],
    ids=[f"{lang}-{size}-{how}" for lang, size, how, _ in CASES],
)
def test_more_time_alone_or_with_a_document(
    portal: PortalProcess, case_service: Any, screen: Page, tmp_path: Path, lang: str, how: str, kind: str
) -> None:
    page = screen
    reference = f"ABH-P-2026-0090{[c[0] + c[2] for c in CASES].index(lang + how):02d}"
    created = messages.create(case_service, messages.message_in(kind, reference=reference, language=lang))
    deadline = date.fromisoformat(messages.message_in(kind)["deadline"])
    until = _until(deadline)
    page.goto(_link_for(portal, created))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    # The request page says what happens when the deadline passes, for this kind of message.
    expect(page.locator("#deadline-consequence")).to_have_text(i18n.translate(lang, f"extension.consequence_{kind}"))
    assert_accessible(page, f"{lang} request with the offer of more time")

    if how == "alone" and lang == "de":
        # Asked and withdrawn before anything is sent: the offer is as it was.
        next_step(page, button(page, "extension.ask", lang), lang=lang)
        next_step(page, button(page, "extension.withdraw", lang), lang=lang)
        expect(button(page, "extension.ask", lang)).to_be_visible()
    _ask(page, lang, until)
    next_step(page, lang=lang)  # the first requested item
    if how == "with_document":
        pdf = tmp_path / "Krankenversicherung.pdf"
        pdf.write_bytes(blank_pdf())
        choose_files(page, pdf, lang=lang)
        expect(uploaded(page, lang).filter(has_text=pdf.name)).to_be_visible()
    review = i18n.translate(lang, "review.heading")
    while heading(page).text_content() != review:
        next_step(page, lang=lang)  # open items, the text, further documents: all may stay empty

    expected = presenter.extension_summary(until, deadline, lang)
    expect(page.locator("#review-extension")).to_have_text(expected)
    assert formatting.format_date_long(deadline, lang) in expected
    assert_accessible(page, f"{lang} review with more time asked")
    field(page, "review.declaration", lang).check()
    button(page, "review.submit", lang).click()
    expect(page.locator("#done-reference")).to_be_visible()
    expect(page.locator("#done-extension")).to_have_text(expected)
    assert_accessible(page, f"{lang} confirmation of a request for more time")
    # The receipt names the request too, in German whatever the page's language.
    with page.expect_download() as download:
        button(page, "receipt.download", lang).click()
    receipt = "\n".join(p.extract_text() or "" for p in PdfReader(download.value.path()).pages)
    assert i18n.translate("de", "receipt.extension") in receipt
    if lang != "ar":  # pypdf gives shaped Arabic back as presentation forms
        assert REASON[lang] in receipt.replace("\n", " ")

    reply = _wait_for_reply(case_service, created["id"])
    assert reply["extension_request"] == {"until": until.isoformat(), "reason": REASON[lang]}
    assert [(i["item_id"], i["status"]) for i in reply["items"]] == (
        [("item-1", "provided")] if how == "with_document" else []
    )
    assert REASON[lang] not in reply["text"]  # a field of its own, not buried in the free text


def test_the_staff_list_names_the_request(
    portal: PortalProcess,
    case_service: Any,
    browser: Browser,
    staff_users: None,  # noqa: F811
) -> None:
    created = messages.create(case_service, messages.message_in("question", reference="ABH-P-2026-009100"))
    deadline = date.fromisoformat(messages.message_in("question")["deadline"])
    ctx = follow_sockets(browser.new_context(viewport=PHONE, locale="de-DE", is_mobile=True, has_touch=True))
    try:
        page = ctx.new_page()
        page.goto(_link_for(portal, created))
        _ask(page, "de", _until(deadline))
        review = i18n.translate("de", "review.heading")
        while heading(page).text_content() != review:
            next_step(page)
        field(page, "review.declaration").check()
        button(page, "review.submit").click()
        expect(page.locator("#done-reference")).to_be_visible()
    finally:
        ctx.close()
    _wait_for_reply(case_service, created["id"])
    staff_ctx = follow_sockets(browser.new_context(viewport=DESKTOP, locale="de-DE"))
    try:
        staff = staff_ctx.new_page()
        _sign_in(staff, portal, "staff-a")
        _search(staff, "ABH-P-2026-009100")
        wanted = i18n.translate("de", "extension.staff_until", date=formatting.format_date_long(_until(deadline), "de"))
        expect(_rows(staff).first).to_contain_text(wanted)
        assert_accessible(staff, "staff list with a request for more time")
    finally:
        staff_ctx.close()
