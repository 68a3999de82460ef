"""Issue #5: no axe-core violation on any page or state, in German, English and Arabic; keyboard only."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from portal.domain import i18n
from tests.e2e.a11y import assert_accessible
from tests.e2e.portal_page import (
    button,
    choose_files,
    field,
    fill,
    follow_sockets,
    footer_link,
    heading,
    language_select,
    next_step,
    sends,
    upload_button,
    uploaded,
)
from tests.e2e.test_kinds_and_language import _appointment
from tests.e2e.test_reply_flow import _link_for
from tests.support import messages
from tests.support.portal_process import PortalProcess

pytestmark = pytest.mark.e2e
LANGS = ["de", "en", "ar"]


def _open(page: Page, portal: PortalProcess, case_service: Any, message: dict[str, Any], lang: str) -> None:
    created = messages.create(case_service, message)
    page.goto(_link_for(portal, created))
    expect(heading(page).first).to_be_visible()
    language_select(page).select_option(lang)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")


@pytest.mark.parametrize("lang", LANGS)
def test_every_step_of_a_reply(portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path, lang: str) -> None:
    _open(page, portal, case_service, messages.message_in(reference="ABH-P-2026-000601"), lang)
    page.get_by_text(i18n.translate(lang, "glossary_ui.heading"), exact=True).click()
    assert_accessible(page, f"{lang} request")
    next_step(page, button(page, "overview.start", lang))
    assert_accessible(page, f"{lang} item")
    button(page, "nav.next", lang).click()
    expect(page.locator("#error-summary")).to_be_focused()
    assert_accessible(page, f"{lang} item with errors")
    photo = tmp_path / "foto.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (1200, 900), (20, 20, 20)).save(buf, "JPEG")
    photo.write_bytes(buf.getvalue())
    bad = tmp_path / "brief.pdf"
    bad.write_text("<html></html>")
    choose_files(page, photo, photo, bad, lang=lang)
    expect(uploaded(page, lang)).to_have_count(2)
    expect(page.locator("#upload-errors")).to_be_visible()
    assert_accessible(page, f"{lang} item with files, hints and a refusal")
    next_step(page, lang=lang)
    field(page, "item.not_available", lang).check()
    expect(field(page, "item.reason", lang)).to_be_visible()
    assert_accessible(page, f"{lang} item not available")
    fill(field(page, "item.reason", lang), "x")
    next_step(page, lang=lang)
    field(page, "item.not_available", lang).check()
    fill(field(page, "item.reason", lang), "x")
    next_step(page, lang=lang)
    assert_accessible(page, f"{lang} text")
    next_step(page, lang=lang)
    assert_accessible(page, f"{lang} further documents")
    next_step(page, lang=lang)
    button(page, "review.submit", lang).click()
    expect(page.locator("#error-summary")).to_be_focused()
    assert_accessible(page, f"{lang} review with errors")
    field(page, "review.declaration", lang).check()
    button(page, "review.submit", lang).click()
    expect(page.locator("#done-reference")).to_be_visible()
    assert_accessible(page, f"{lang} confirmation")


@pytest.mark.parametrize("lang", LANGS)
def test_every_kind_and_the_appointment_answer(portal: PortalProcess, case_service: Any, page: Page, lang: str) -> None:
    _open(page, portal, case_service, _appointment(), lang)
    assert_accessible(page, f"{lang} appointment request")
    next_step(page, button(page, "overview.start", lang))
    button(page, "nav.next", lang).click()
    expect(page.locator("#error-summary")).to_be_visible()
    field(page, "appointment.reschedule", lang).check()
    expect(field(page, "appointment.reason", lang)).to_be_visible()
    assert_accessible(page, f"{lang} appointment answer with errors")
    for kind, extra in (
        ("intent_to_refuse", {}),
        ("status", {}),
        ("not_responsible", {"responsible_authority": {"name": "LK PM"}}),
    ):
        message = messages.message_in(kind, reference="ABH-P-2026-000602", **extra)
        _open(page, portal, case_service, message, lang)
        assert_accessible(page, f"{lang} {kind}")


@pytest.mark.parametrize("lang", LANGS)
def test_error_and_information_pages(portal: PortalProcess, case_service: Any, page: Page, lang: str) -> None:
    page.goto(f"{portal.url}/")
    language_select(page).select_option(lang)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    assert_accessible(page, f"{lang} start page")
    for name in ("help", "accessibility", "privacy", "imprint"):
        footer_link(page, name, lang).click()
        expect(heading(page)).to_have_text(i18n.translate(lang, f"pages.{name}.title"))
        assert_accessible(page, f"{lang} {name}")
    revoked = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000603"))
    messages.revoke(case_service, revoked["id"])
    expired = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000604"))
    messages.expire_in_store(case_service, expired["id"])
    for where, url in (
        ("revoked", _link_for(portal, revoked)),
        ("expired", _link_for(portal, expired)),
        ("unknown", f"{portal.url}/r/{'C' * 43}"),
        ("malformed", f"{portal.url}/r/x"),
        ("no session", f"{portal.url}/reply"),
    ):
        page.goto(url)
        expect(heading(page)).to_be_visible()
        assert_accessible(page, f"{lang} {where}")


def test_case_service_down_page(portal: PortalProcess, case_service: Any, page: Page) -> None:
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000605"))
    case_service.stop()
    try:
        page.goto(_link_for(portal, created))
        expect(page.get_by_role("button", name="Noch einmal versuchen")).to_be_visible()
        assert_accessible(page, "case service down")
    finally:
        case_service.start()


def test_the_whole_reply_with_the_keyboard_alone(
    portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path
) -> None:
    """Tab, Shift+Tab, Space and Enter only; files go in through the file input, as a keyboard user's picker does."""
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000606"))
    page.goto(_link_for(portal, created))
    expect(button(page, "overview.start")).to_be_visible()

    def tab_to(target: Locator, limit: int = 80) -> None:
        for _ in range(limit):
            if target.evaluate("e => e === document.activeElement"):
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"{target} is not reachable with Tab")

    def enter_to_next_step(target: Locator) -> None:
        before = page.locator("#step-heading").text_content()
        tab_to(target)
        page.keyboard.press("Enter")
        expect(page.locator("#step-heading")).not_to_have_text(before or "")
        expect(page.locator("#step-heading")).to_be_focused()

    def type_text(text: str) -> None:
        with sends(page, text):
            page.keyboard.type(text)

    tab_to(button(page, "overview.start"))
    before = heading(page).first.text_content()
    page.keyboard.press("Enter")
    expect(page.locator("#step-heading")).not_to_have_text(before or "")
    expect(page.locator("#step-heading")).to_be_focused()
    pdf = tmp_path / "nachweis.pdf"
    buf = io.BytesIO()
    Image.new("RGB", (600, 800), "white").save(buf, "PDF")
    pdf.write_bytes(buf.getvalue())
    upload = upload_button(page)
    tab_to(upload)
    # Enter on the focused button opens the picker (react-dropzone may ignore a press that comes
    # while it still thinks a dialog is open; a person would press again, so does the test).
    for attempt in range(3):
        try:
            with page.expect_file_chooser(timeout=5_000) as chooser:
                page.keyboard.press("Enter")
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            upload.focus()
    chooser.value.set_files(str(pdf))
    expect(uploaded(page)).to_have_count(1)
    next_button = button(page, "nav.next")
    enter_to_next_step(next_button)
    for _ in range(2):
        tab_to(field(page, "item.not_available"))
        page.keyboard.press("Space")
        tab_to(field(page, "item.reason"))
        type_text("Kommt nächste Woche.")
        enter_to_next_step(next_button)
    tab_to(field(page, "text.label"))
    type_text("Mit freundlichen Grüßen")
    enter_to_next_step(next_button)
    enter_to_next_step(next_button)
    submit = button(page, "review.submit")
    expect(submit).to_be_visible()
    declaration = field(page, "review.declaration")
    tab_to(declaration)
    page.keyboard.press("Space")
    expect(declaration).to_be_checked()
    enter_to_next_step(submit)
    expect(page.locator("#done-reference")).to_be_visible()


def test_session_warning_before_expiry_can_extend(portal: PortalProcess, case_service: Any, page: Page) -> None:
    """WCAG 2.2.1: five minutes before the idle expiry the page warns and lets the applicant stay."""
    page.clock.install()
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000607"))
    page.goto(_link_for(portal, created))
    expect(button(page, "overview.start")).to_be_visible()
    warning = page.locator("#session-warning")
    expect(warning).to_be_hidden()
    page.clock.run_for("54:00")
    expect(warning).to_be_hidden()
    page.clock.run_for("01:30")
    expect(warning).to_be_visible()
    expect(warning).to_have_attribute("role", "alertdialog")
    expect(button(page, "session.extend")).to_be_focused()
    assert_accessible(page, "session warning")
    page.keyboard.press("Enter")
    expect(warning).to_be_hidden()
    # The count starts anew: no warning until the next 55 quiet minutes have passed.
    page.clock.run_for("50:00")
    expect(warning).to_be_hidden()
    page.clock.run_for("06:00")
    expect(warning).to_be_visible()


def _no_horizontal_scroll(page: Page, where: str) -> None:
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{where}: scrolls sideways"


def _small_targets(page: Page) -> list[str]:
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('button, a[href], select, summary, input[type=date], textarea')]
              .filter(e => e.offsetParent !== null)
              .map(e => [e, e.getBoundingClientRect()])
              .filter(([e, r]) => r.height < 44 || r.width < 44)
              .map(([e, r]) => `${e.tagName}#${e.id}.${e.className} ${Math.round(r.width)}x${Math.round(r.height)}`)"""
        )
    )


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_reflow_zoom_and_touch_targets(
    portal: PortalProcess, case_service: Any, browser: Any, tmp_path: Path, lang: str
) -> None:
    """1.4.10 reflow at 320 CSS px, 1.4.4 text at 200 %, touch targets of at least 44 px."""
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000609"))
    ctx = follow_sockets(browser.new_context(viewport={"width": 320, "height": 640}))
    try:
        page = ctx.new_page()
        page.goto(_link_for(portal, created))
        expect(button(page, "overview.start")).to_be_visible()
        language_select(page).select_option(lang)
        expect(page.locator("html")).to_have_attribute("lang", lang)

        def measure(where: str) -> None:
            _no_horizontal_scroll(page, f"{lang} {where} at 320 px")
            assert not _small_targets(page), f"{lang} {where}: {_small_targets(page)}"
            # 1.4.4: text at 200 % on a small tablet (640 px, what 200 % zoom of 320 px would be).
            page.set_viewport_size({"width": 640, "height": 800})
            page.evaluate("document.documentElement.style.fontSize = '200%'")
            _no_horizontal_scroll(page, f"{lang} {where} with text at 200 %")
            page.evaluate("document.documentElement.style.fontSize = ''")
            page.set_viewport_size({"width": 320, "height": 640})

        measure("request")
        next_step(page, button(page, "overview.start", lang))
        choose_files(page, _long_named_pdf(tmp_path), lang=lang)
        expect(uploaded(page, lang)).to_have_count(1)
        measure("item with a long file name")
        next_step(page, lang=lang)
        button(page, "nav.next", lang).click()
        expect(page.locator("#error-summary")).to_be_visible()
        measure("item with errors")
        for _ in range(2):
            field(page, "item.not_available", lang).check()
            fill(field(page, "item.reason", lang), "x")
            next_step(page, lang=lang)
        measure("text")
        next_step(page, lang=lang)
        measure("further documents")
        next_step(page, lang=lang)
        measure("review")
    finally:
        ctx.close()


def _long_named_pdf(tmp_path: Path) -> Path:
    path = tmp_path / ("Mitgliedsbescheinigung_der_Krankenversicherung_" * 3 + ".pdf")
    buf = io.BytesIO()
    Image.new("RGB", (600, 800), "white").save(buf, "PDF")
    path.write_bytes(buf.getvalue())
    return path
