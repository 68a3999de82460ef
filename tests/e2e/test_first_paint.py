"""A reply link's first response carries the request: readable before (and without) any script,
the same as the live page, which takes over without a jump and without opening the link again."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from portal.domain import i18n
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import PHONE
from tests.e2e.portal_page import follow_sockets, heading
from tests.e2e.test_reply_flow import _link_for
from tests.support import messages
from tests.support.portal_process import PortalProcess

pytestmark = pytest.mark.e2e

STATIC = "#ssr-page"


def _context(browser: Browser, lang: str, *, scripts: bool) -> BrowserContext:
    return browser.new_context(
        viewport=PHONE,
        locale="ar" if lang == "ar" else "de-DE",
        is_mobile=True,
        has_touch=True,
        java_script_enabled=scripts,
    )


@pytest.fixture()
def no_script_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    ctx = _context(browser, getattr(request, "param", "de"), scripts=False)
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


def _created(case_service: Any, kind: str = "question") -> dict[str, Any]:
    body = messages.message_in(kind)
    return {**messages.create(case_service, body), "subject": body["subject"]}


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_without_scripts_the_request_reads_in_full(
    portal: PortalProcess, case_service: Any, browser: Browser, lang: str
) -> None:
    created = _created(case_service)
    ctx = _context(browser, lang, scripts=False)
    # The applicant's own pick on this device comes first (the case may record another language).
    ctx.add_cookies([{"name": i18n.LANGUAGE_COOKIE, "value": lang, "url": portal.url}])
    try:
        page = ctx.new_page()
        response = page.goto(_link_for(portal, created))
        assert response is not None and response.status == 200
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
        token = created["reply_link"].rsplit("/r/", 1)[1]
        assert token not in page.content()
        static = page.locator(STATIC)
        expect(static).to_be_visible()
        assert page.locator("html").get_attribute("lang") == i18n.html_lang(lang)
        assert page.locator("html").get_attribute("dir") == i18n.text_direction(lang)
        expect(static.get_by_role("heading", level=1)).to_have_text(created["subject"])
        expect(static.get_by_role("heading", name=i18n.translate(lang, "request.contact"))).to_be_visible()
        expect(static.get_by_role("heading", name=i18n.translate(lang, "overview.items_heading"))).to_be_visible()
        expect(static.locator("blockquote.original")).to_be_visible()
        note = static.locator(".static-noscript")
        expect(note).to_be_visible()
        expect(note).to_contain_text(i18n.translate(lang, "static.needs_script", contact="").split("{")[0][:20])
        # The live page's frame is not shown beside it.
        expect(page.locator("body > div.page")).to_be_hidden()
        # Nothing sideways at 360 px.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        ctx.close()


def test_with_failed_scripts_the_request_stays_and_says_how_to_answer(
    portal: PortalProcess, case_service: Any, browser: Browser
) -> None:
    created = _created(case_service, "appointment")
    ctx = _context(browser, "de", scripts=True)
    # The app's modules never arrive (a filter, a dropped connection); the page's own inline
    # scripts still run, so <noscript> stays silent.
    ctx.route("**/assets/*.js", lambda route: route.abort())
    try:
        page = ctx.new_page()
        page.goto(_link_for(portal, created))
        static = page.locator(STATIC)
        expect(static).to_be_visible()
        expect(static.get_by_role("heading", level=1)).to_have_text(created["subject"])
        expect(static.locator(".static-late")).to_be_visible()
        expect(static.locator(".static-late")).to_contain_text(
            i18n.translate("de", "static.needs_script", contact="")[:20]
        )
        expect(page.locator("body > div.page")).to_be_hidden()
        assert_accessible(page, "server-rendered request")
    finally:
        ctx.close()


def _message_fetches(case_service: Any, message_id: str) -> int:
    return case_service.log_path.read_text().count(f"/messages/{message_id} ")


CLS = """
window.__cls = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) { if (!entry.hadRecentInput) window.__cls += entry.value; }
}).observe({type: 'layout-shift', buffered: true});
"""


def test_the_live_page_takes_over_without_a_jump_or_a_second_opening(
    portal: PortalProcess, case_service: Any, browser: Browser
) -> None:
    created = _created(case_service)
    ctx = follow_sockets(_context(browser, "de", scripts=True))
    try:
        ctx.add_init_script(CLS)
        page = ctx.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(_link_for(portal, created))
        expect(heading(page)).to_have_text(created["subject"])
        expect(page.locator(STATIC)).to_have_count(0)
        expect(page).to_have_url(f"{portal.url}/reply")
        expect(page.locator("#start-button")).to_be_visible()
        assert page.evaluate("window.__cls") == 0
        # The first response opened the link; the websocket took what it kept instead of asking again.
        assert _message_fetches(case_service, created["id"]) == 1
        # React hydrated the live page beside the server's copy without a mismatch.
        assert problems == []
    finally:
        ctx.close()


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("malformed", 404, "link_malformed"),
        ("unknown", 404, "link_unknown"),
        ("expired", 410, "link_expired"),
        ("revoked", 410, "link_revoked"),
        ("answered", 200, "link_answered"),
    ],
)
def test_a_bad_link_gets_its_page_without_scripts(
    portal: PortalProcess, case_service: Any, no_script_page: Page, case: str, status: int, code: str
) -> None:
    if case == "malformed":
        url = f"{portal.url}/r/short"
    elif case == "unknown":
        url = f"{portal.url}/r/{'Z' * 43}"
    else:
        created = _created(case_service)
        if case == "expired":
            messages.expire_in_store(case_service, created["id"])
        elif case == "revoked":
            messages.revoke(case_service, created["id"])
        else:
            _answered_in_store(case_service, created["id"])
        url = _link_for(portal, created)
    response = no_script_page.goto(url)
    assert response is not None and response.status == status
    assert response.headers["cache-control"] == "no-store"
    static = no_script_page.locator(STATIC)
    expect(static.get_by_role("heading", level=1)).to_have_text(i18n.translate("de", f"link.{code}_title"))
    expect(static).to_contain_text(i18n.translate("de", f"link.{code}_body"))
    if case == "answered":
        expect(static).to_contain_text(i18n.translate("de", "link.answered_when"))


def _answered_in_store(case_service: Any, message_id: str) -> None:
    """The message answered, as the case service records a delivered reply."""
    db = sqlite3.connect(case_service.data_dir / "casesvc.sqlite3")
    try:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        assert db.execute("UPDATE messages SET answered_at = ? WHERE id = ?", (now, message_id)).rowcount == 1
        db.commit()
    finally:
        db.close()


# What a person reads of the overview, taken alike from the server's copy and from the live page.
OUTLINE = """
([root, contactHeading]) => {
  const text = (el) => (el ? el.textContent.replace(/\\s+/g, ' ').trim() : '');
  const main = root.querySelector('main');
  const shown = (el) => !el.closest('[hidden]');
  const contact = [...main.querySelectorAll('section')].find((s) => text(s.querySelector('h2')) === contactHeading);
  return {
    headings: [...main.querySelectorAll('h1, h2, h3')].filter(shown).map(text),
    kind: text(main.querySelector('.kind-label')),
    deadline: text(main.querySelector('.deadline')),
    items: [...main.querySelectorAll('.checklist li')].map(text),
    contact: text(contact),
    original: text(main.querySelector('blockquote.original')),
  };
}
"""


@pytest.mark.parametrize("kind", ["question", "appointment", "intent_to_refuse", "status", "not_responsible"])
@pytest.mark.parametrize("lang", ["de", "ar"])
def test_the_server_and_the_live_page_show_the_same_request(
    portal: PortalProcess, case_service: Any, browser: Browser, kind: str, lang: str
) -> None:
    created = _created(case_service, kind)
    ctx = follow_sockets(_context(browser, lang, scripts=True))
    ctx.add_cookies([{"name": i18n.LANGUAGE_COOKIE, "value": lang, "url": portal.url}])
    contact_heading = i18n.translate(lang, "request.contact")
    try:
        page = ctx.new_page()
        response = page.goto(_link_for(portal, created))
        assert response is not None
        first = response.text()
        expect(page.locator(STATIC)).to_have_count(0)
        expect(heading(page)).to_have_text(created["subject"])
        served = page.evaluate(
            "([html, contact]) => (" + OUTLINE + ")([new DOMParser().parseFromString(html, 'text/html')"
            ".getElementById('ssr-page'), contact])",
            [first, contact_heading],
        )
        live = page.evaluate(
            "(contact) => (" + OUTLINE + ")([document.querySelector('body > div.page'), contact])", contact_heading
        )
        assert served["headings"][0] == created["subject"]
        assert served["contact"] and (served["deadline"] or kind in ("status", "not_responsible"))
        # The live page's buttons (reply, more time) have no heading; everything read is the same.
        assert served == live
    finally:
        ctx.close()
