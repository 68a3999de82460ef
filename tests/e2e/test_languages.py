"""Issue #4 in the browser: every page in every language, the first-visit choice, right to left."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from portal.domain import i18n
from tests.e2e.a11y import assert_accessible
from tests.e2e.portal_page import (
    button,
    field,
    fill,
    follow_sockets,
    footer_link,
    heading,
    language_select,
    next_step,
)
from tests.e2e.test_reply_flow import _link_for
from tests.support import messages
from tests.support.portal_process import PortalProcess
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e
LANGUAGES = i18n.available_languages()
RAW_KEY = re.compile(r"\b[a-z_]+(?:\.[a-z_]+){1,3}\b")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "rtl"


def _no_raw_text(page: Page, where: str) -> None:
    text = page.locator("body").inner_text()
    keys = {k for k in RAW_KEY.findall(text) if k in i18n.catalogue("de")}
    assert not keys, f"{where}: raw keys {keys}"
    assert not PLACEHOLDER.findall(text), f"{where}: unfilled placeholders {PLACEHOLDER.findall(text)}"


def _choose(page: Page, lang: str) -> None:
    language_select(page).select_option(lang)
    expect(page.locator("html")).to_have_attribute("lang", i18n.html_lang(lang))
    expect(page.locator("html")).to_have_attribute("dir", i18n.text_direction(lang))


def _not_available(page: Page, lang: str, reason: str) -> None:
    field(page, "item.not_available", lang).check()
    fill(field(page, "item.reason", lang), reason)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_in_every_language(portal: PortalProcess, case_service: Any, page: Page, lang: str) -> None:
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000500"))
    page.goto(_link_for(portal, created))
    expect(button(page, "overview.start")).to_be_visible()
    _choose(page, lang)
    expect(button(page, "overview.start", lang)).to_be_visible()
    _no_raw_text(page, f"{lang} overview")
    next_step(page, button(page, "overview.start", lang))
    button(page, "nav.next", lang).click()  # nothing given: the error summary shows
    expect(page.locator("#error-summary")).to_be_visible()
    _no_raw_text(page, f"{lang} item with error")
    for _ in range(6):
        if button(page, "review.submit", lang).count():
            break
        if field(page, "item.not_available", lang).count():
            _not_available(page, lang, "—")
        next_step(page, button(page, "nav.next", lang))
        _no_raw_text(page, f"{lang} step")
    button(page, "review.submit", lang).click()  # declaration missing
    expect(page.locator("#error-summary")).to_be_visible()
    # Focus moves to the summary and scrolls the page: only then does the footer hold still.
    expect(page.locator("#error-summary")).to_be_focused()
    _no_raw_text(page, f"{lang} review with error")
    for name in ("help", "accessibility", "privacy", "imprint"):
        footer_link(page, name, lang).click()
        expect(page).to_have_url(re.compile(f"/{name}$"))
        expect(heading(page)).to_have_text(i18n.translate(lang, f"pages.{name}.title"))
        _no_raw_text(page, f"{lang} {name}")
    page.goto(f"{portal.url}/r/{'B' * 43}")
    expect(heading(page)).to_have_text(i18n.translate(lang, "link.link_unknown_title"))
    _no_raw_text(page, f"{lang} unknown link")


def test_first_visit_language_order(portal: PortalProcess, case_service: Any, browser: Browser) -> None:
    def page_lang(preferred: str, accept: str, expected: str) -> None:
        created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000501", language=preferred))
        ctx = browser.new_context(locale=accept.split(",")[0], extra_http_headers={"Accept-Language": accept})
        try:
            pg = ctx.new_page()
            pg.goto(_link_for(portal, created))
            # Set by script after the texts arrive: wait for it rather than read it once.
            expect(pg.locator("html")).to_have_attribute("lang", expected)
            expect(button(pg, "overview.start", expected)).to_be_visible()
        finally:
            ctx.close()

    page_lang("ar", "en-US,en;q=0.9", "ar")  # the case's preferred language first
    page_lang("ti", "tr-TR,tr;q=0.9", "tr")  # then the browser's
    page_lang("ti", "ja-JP", "de")  # then German


VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 900}}


@pytest.mark.parametrize("screen", VIEWPORTS)
def test_a_case_without_a_language_opens_in_the_browsers_and_a_pick_is_kept(
    portal: PortalProcess, case_service: Any, browser: Browser, screen: str
) -> None:
    """An Arabic phone opens an Arabic page when the authority recorded no language; English
    picked on the page is what the next link on this device opens in, whatever the case says."""
    ctx = follow_sockets(
        browser.new_context(
            viewport=VIEWPORTS[screen], locale="ar", extra_http_headers={"Accept-Language": "ar,en;q=0.5"}
        )
    )
    try:
        page = ctx.new_page()
        first = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000510", language=None))
        page.goto(_link_for(portal, first))
        expect(page.locator("html")).to_have_attribute("lang", "ar")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(button(page, "overview.start", "ar")).to_be_visible()
        assert_accessible(page, f"{screen}: Arabic chosen by the browser")
        assert not [c for c in ctx.cookies() if c["name"] == i18n.LANGUAGE_COOKIE]  # nothing picked yet
        _choose(page, "en")
        expect(button(page, "overview.start", "en")).to_be_visible()
        [cookie] = wait_until(
            lambda: [c for c in ctx.cookies() if c["name"] == i18n.LANGUAGE_COOKIE], "the language cookie"
        )
        # Only the code; for this site, not sent along from other sites; kept for months, not forever.
        assert (cookie["value"], cookie["path"], cookie["sameSite"]) == ("en", "/", "Lax")
        assert 170 * 86400 < cookie["expires"] - time.time() < 190 * 86400
        for reference, recorded in (("ABH-P-2026-000511", None), ("ABH-P-2026-000512", "ar")):
            created = messages.create(case_service, messages.message_in(reference=reference, language=recorded))
            later = ctx.new_page()
            later.goto(_link_for(portal, created))
            expect(later.locator("html")).to_have_attribute("lang", "en")
            expect(later.locator("html")).to_have_attribute("dir", "ltr")
            expect(button(later, "overview.start", "en")).to_be_visible()
            later.close()
        assert_accessible(page, f"{screen}: English picked")
    finally:
        ctx.close()


@pytest.mark.parametrize("lang", ["ar", "fa"])
def test_right_to_left_is_mirrored(portal: PortalProcess, case_service: Any, page: Page, lang: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000502"))
    page.goto(_link_for(portal, created))
    expect(button(page, "overview.start")).to_be_visible()
    _choose(page, lang)
    start_button = button(page, "overview.start", lang)
    expect(start_button).to_be_visible()
    width = page.viewport_size["width"] if page.viewport_size else 360
    title = heading(page).bounding_box()
    start = start_button.bounding_box()
    assert title and start
    # Mirrored: blocks hug the right edge, the start button sits at the right.
    assert width - (start["x"] + start["width"]) < 40 < start["x"]
    # No horizontal scrolling at 360 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(SHOTS / f"request-{lang}.png"), full_page=True)
    # The case reference (Latin digits and hyphens) stays in order inside right-to-left text.
    expect(page.locator("bdi", has_text="ABH-P-2026-000502")).to_be_visible()
    next_step(page, start_button)
    for _ in range(3):
        _not_available(page, lang, "لاحقاً")
        next_step(page, button(page, "nav.next", lang))
    next_step(page, button(page, "nav.next", lang))
    next_step(page, button(page, "nav.next", lang))
    submit_button = button(page, "review.submit", lang)
    expect(submit_button).to_be_visible()
    submit = submit_button.bounding_box()
    assert submit and width - (submit["x"] + submit["width"]) < 40
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(SHOTS / f"review-{lang}.png"), full_page=True)


def test_changing_the_language_keeps_the_keyboard_focus(portal: PortalProcess, case_service: Any, page: Page) -> None:
    """The header is rebuilt for a new language; focus goes back to the select just used."""
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000110"))
    page.goto(_link_for(portal, created))
    expect(page.locator("blockquote.original")).to_be_visible()
    select = language_select(page)
    select.focus()
    select.select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(field(page, "language.label", "en")).to_be_focused()
    page.keyboard.press("Tab")  # and the keyboard goes on from there, not from the page's start
    assert page.evaluate("document.activeElement.closest('header') === null")
