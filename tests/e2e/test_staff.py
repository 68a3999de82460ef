"""Support staff's preview, in Chromium against the real portal and case service.

Staff of authority A sign in, find a message by case reference, preview it in Arabic and German
side by side, cannot reply (neither through the page nor by sending requests themselves) and
revoke the link; the applicant then sees the revoked page. Staff of authority B find nothing of
A's, and no staff page or action works without a session.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from portal.domain import i18n
from portal.outbox.store import PortalStore
from portal.state.language import LanguageState
from portal.state.reply import ReplyState
from portal.state.staff import StaffState
from portal.state.staff_preview import PreviewState
from tests.e2e.a11y import assert_accessible
from tests.e2e.portal_page import button, field, follow_sockets, heading, socket_of
from tests.support import messages
from tests.support.portal_process import PortalProcess
from tests.support.processes import run_portal_command

pytestmark = pytest.mark.e2e

WIDE = {"width": 1280, "height": 900}
SIGN_IN = re.compile(r"/staff/sign-in/?$")
PASSWORD = "ein-langes-Test-Passwort-2026"
# Records the app's websocket, so a test can send frames of its own on the same connection.
CAPTURE_SOCKET = (
    "(()=>{const send=WebSocket.prototype.send;"
    "WebSocket.prototype.send=function(d){window.__rkSocket=this;return send.call(this,d);};})();"
)


def _create_user(portal: PortalProcess, username: str, authority: str) -> None:
    """Through the real command, with the password on stdin as an operator would give it."""
    args = ("portal.staff", "create-user", "--username", username, "--authority", authority)
    done = run_portal_command(portal.data_dir, *args, stdin=PASSWORD + "\n")
    assert done.returncode == 0 or "staff_user_exists" in done.stderr, done.stderr


@pytest.fixture(scope="module")
def staff_users(portal: PortalProcess) -> None:
    _create_user(portal, "staff-a", "abh-potsdam")
    _create_user(portal, "staff-b", "abh-cottbus")


@pytest.fixture()
def wide(browser: Browser) -> Any:
    contexts: list[BrowserContext] = []

    def new_page() -> Page:
        ctx = follow_sockets(browser.new_context(viewport=WIDE, locale="de-DE"))
        ctx.add_init_script(CAPTURE_SOCKET)
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(20_000)
        return page

    yield new_page
    for ctx in contexts:
        ctx.close()


def _sign_in(page: Page, portal: PortalProcess, username: str) -> None:
    page.goto(f"{portal.url}/staff/sign-in")
    field(page, "staff.username").fill(username)
    field(page, "staff.password").fill(PASSWORD)
    button(page, "staff.sign_in").click()
    page.wait_for_url(f"{portal.url}/staff")
    expect(heading(page)).to_be_visible()


def _rows(page: Page) -> Locator:
    return page.get_by_role("list", name=i18n.translate("de", "staff.list_label")).get_by_role("listitem")


def _search(page: Page, query: str) -> None:
    field(page, "staff.search_label").fill(query)
    button(page, "staff.search").click()


def _send_events(page: Page, *events: tuple[str, dict[str, Any]]) -> None:
    """Frames as the Reflex client sends them, for any handler: what a hand-made request can do.

    Returns once the portal has handled them: it handles a tab's events one after the other, and
    answers the keep-alive sent last with a script (which resets the session timer).
    """

    def frame(handler: str, payload: dict[str, Any]) -> str:
        event = {"name": handler, "payload": payload, "router_data": {"pathname": "/reply", "asPath": "/reply"}}
        return json.dumps(["event", event])

    def answers_keep_alive(payload: str | bytes) -> bool:
        return isinstance(payload, str) and "__rkSessionReset" in payload

    with socket_of(page).expect_event("framereceived", predicate=answers_keep_alive):
        for handler, payload in [*events, (f"{LanguageState.get_full_name()}.keep_alive", {})]:
            page.evaluate("f => window.__rkSocket.send('42/_event,' + f)", frame(handler, payload))


def _message(case_service: Any, message_id: str) -> dict[str, Any]:
    response = messages.authority_get(case_service, f"/api/v1/messages/{message_id}")
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


def _replies_for(case_service: Any, message_id: str) -> list[dict[str, Any]]:
    replies = messages.authority_get(case_service, "/api/v1/replies?after=0&limit=100").json()["replies"]
    return [r for r in replies if r["message_id"] == message_id]


def _outbox_entry(portal: PortalProcess, message_id: str) -> Any:
    databases = list(portal.data_dir.rglob("*.sqlite3"))
    assert databases, "the portal's database was not found"
    store = PortalStore(f"sqlite:///{databases[0]}")
    try:
        return store.by_message(message_id)
    finally:
        store.dispose()


def _link(portal: PortalProcess, created: dict[str, Any]) -> str:
    return f"{portal.url}/r/{created['reply_link'].rsplit('/r/', 1)[1]}"


def test_staff_preview_side_by_side_no_reply_and_revoke(
    portal: PortalProcess, case_service: Any, staff_users: None, wide: Any, page: Page
) -> None:
    body = messages.message_in(reference="ABH-P-2026-000301")
    created_subject = body["subject"]
    created = messages.create(case_service, body)
    message_id = created["id"]
    # The applicant opened the link and started answering: staff see both.
    page.goto(_link(portal, created))
    expect(page.locator("blockquote.original")).to_be_visible()
    button(page, "overview.start").click()
    expect(page.locator("#step-heading")).not_to_contain_text("Rückfrage")

    staff = wide()
    staff.goto(f"{portal.url}/staff/sign-in")
    expect(field(staff, "staff.username")).to_be_visible()
    assert_accessible(staff, "staff sign-in")
    _sign_in(staff, portal, "staff-a")
    expect(_rows(staff).first).to_be_visible()
    assert_accessible(staff, "staff list")
    _search(staff, "ABH-P-2026-000301")
    rows = _rows(staff)
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".status")).to_contain_text("Antwort begonnen am")
    expect(rows.first).not_to_contain_text("Noch nie geöffnet")
    rows.first.get_by_role("link", name=created_subject).click()
    staff.wait_for_url(f"{portal.url}/staff/message/{message_id}")
    expect(staff.locator("#preview-banner")).to_be_visible()
    expect(staff.locator("#last-opened")).not_to_contain_text("Noch nie")

    # Arabic and German side by side, each column in its own language and direction.
    field(staff, "staff.preview_language").select_option("ar")
    columns = staff.locator(".preview-column > div")
    expect(columns).to_have_count(2)
    expect(columns.nth(0)).to_have_attribute("lang", "ar")
    expect(columns.nth(0)).to_have_attribute("dir", "rtl")
    expect(columns.nth(1)).to_have_attribute("lang", "de")
    expect(columns.nth(0)).to_contain_text("طلبكم")
    expect(columns.nth(1)).to_contain_text("Ihr Antrag")
    assert_accessible(staff, "staff preview, Arabic beside German")
    left, right = (columns.nth(i).bounding_box() for i in (0, 1))
    assert left and right and abs(left["y"] - right["y"]) < 2 and right["x"] > left["x"] + left["width"] - 1

    # No way to reply in the page: every control of the applicant's page is disabled.
    controls = staff.locator("#preview :is(input, button, textarea, select)")
    assert controls.count() > 0
    assert staff.evaluate(
        "[...document.querySelectorAll('#preview :is(input,button,textarea,select)')].every(e => e.disabled)"
    )
    expect(staff.locator("#submit-button")).to_have_count(0)

    # Nor by hand: uploads and a submit sent straight from the staff tab are refused by the server.
    files_dir = portal.data_dir / "files"
    before = set(files_dir.rglob("*")) if files_dir.exists() else set()
    token = staff.evaluate("sessionStorage.getItem('token')")
    refusals = {
        f"{ReplyState.get_full_name()}.upload": (403, "link_not_verified"),
        f"{PreviewState.get_full_name()}.upload": (400, "upload_handler_unknown"),
    }
    for handler, (status, code) in refusals.items():
        response = httpx.post(
            f"{portal.url}/_upload",
            headers={"Reflex-Client-Token": token, "Reflex-Event-Handler": handler},
            files={"files": ("Pass.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
            timeout=30,
        )
        # Refused before Reflex sees it: the staff tab verified no link, and the preview has no
        # upload handler. No byte is kept (checked below).
        assert (response.status_code, response.json()) == (status, {"code": code}), response.text
    for name in ("next_step", "set_declaration", "submit"):
        payload = {"checked": True} if name == "set_declaration" else {}
        _send_events(
            staff,
            (f"{ReplyState.get_full_name()}.{name}", payload),
            (f"{PreviewState.get_full_name()}.{name}", payload),
        )
    assert (set(files_dir.rglob("*")) if files_dir.exists() else set()) == before
    assert _replies_for(case_service, message_id) == []
    assert _outbox_entry(portal, message_id) is None
    expect(staff.locator("#preview-banner")).to_be_visible()  # the page is still the preview

    # Revoke, with a confirmation and a reason.
    button(staff, "staff.revoke").click()
    expect(field(staff, "staff.revoke_reason")).to_be_focused()
    assert_accessible(staff, "staff revoke confirmation")
    button(staff, "staff.revoke_now").click()
    assert _message(case_service, message_id)["link_state"] == "open"  # nothing without a reason
    field(staff, "staff.revoke_reason").fill("Bescheid ist ergangen, Anhörung erledigt")
    button(staff, "staff.revoke_now").click()
    expect(staff.locator("#preview-status")).to_contain_text("zurückgezogen")
    assert _message(case_service, message_id)["link_state"] == "revoked"
    assert token not in staff.content() and created["reply_link"].rsplit("/r/", 1)[1] not in staff.content()

    # The applicant's link now shows the revoked page.
    applicant = wide()
    applicant.goto(_link(portal, created))
    expect(heading(applicant)).to_contain_text("gilt nicht mehr")

    # Recorded: sign-in, preview and revocation, by whom and from where; no reason or token in it.
    entries = messages.authority_get(case_service, "/api/v1/audit").json()["entries"]
    mine = [e for e in entries if e["actor"] == "staff-a"]
    assert {"sign_in", "preview", "revoke"} <= {e["action"] for e in mine}
    assert all(e["message_id"] == message_id for e in mine if e["action"] in ("preview", "revoke"))
    assert all(e["source"] for e in mine)
    assert "Anhörung erledigt" not in json.dumps(entries)


def test_the_applicants_language_cookie_leaves_the_staff_area_alone(
    portal: PortalProcess, case_service: Any, staff_users: None, wide: Any
) -> None:
    """A shared front-desk computer where an applicant picked English: the staff area follows the
    staff member's browser, the preview the case's language, and nothing there changes the pick."""
    arabic = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000310", language="ar"))
    unknown = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000311", language=None))
    staff = wide()
    staff.context.add_cookies([{"name": i18n.LANGUAGE_COOKIE, "value": "en", "url": portal.url}])
    _sign_in(staff, portal, "staff-a")  # found by its German labels
    expect(staff.locator("html")).to_have_attribute("lang", "de")
    for created, reference, shown in ((arabic, "ABH-P-2026-000310", "ar"), (unknown, "ABH-P-2026-000311", "de")):
        _search(staff, reference)
        rows = _rows(staff)
        expect(rows).to_have_count(1)
        if shown == "de":  # the list says that the case records no language
            expect(rows.first).to_contain_text(i18n.translate("de", "staff.language_unknown"))
        rows.first.get_by_role("link").first.click()
        staff.wait_for_url(f"{portal.url}/staff/message/{created['id']}")
        expect(staff.locator(".preview-column > div").first).to_have_attribute("lang", shown)
        staff.go_back()
        expect(_rows(staff).first).to_be_visible()
    staff.get_by_label(i18n.translate("de", "language.label"), exact=True).select_option("ar")
    expect(staff.locator("html")).to_have_attribute("dir", "rtl")
    assert [c["value"] for c in staff.context.cookies() if c["name"] == i18n.LANGUAGE_COOKIE] == ["en"]


def test_other_authority_sees_nothing(portal: PortalProcess, case_service: Any, staff_users: None, wide: Any) -> None:
    body = messages.message_in(reference="ABH-P-2026-000302")
    created = messages.create(case_service, body)
    staff = wide()
    _sign_in(staff, portal, "staff-b")
    expect(_rows(staff).filter(has_text="ABH-P-2026-000302")).to_have_count(0)
    for query in ("ABH-P-2026-000302", created["id"]):
        _search(staff, query)
        expect(staff.get_by_text("keine Nachricht", exact=False)).to_be_visible()
        expect(_rows(staff)).to_have_count(0)
    staff.goto(f"{portal.url}/staff/message/{created['id']}")
    expect(staff.get_by_role("alert")).to_contain_text("gibt es in Ihrer Behörde nicht")
    expect(staff.locator("#preview-banner")).to_have_count(0)
    assert body["subject"] not in staff.content()
    for authority in ("abh-potsdam", "abh-cottbus"):
        entries = messages.authority_get(case_service, "/api/v1/audit", authority=authority).json()["entries"]
        assert not [e for e in entries if e["action"] == "preview" and e["message_id"] == created["id"]]


def test_no_staff_route_or_action_without_a_session(
    portal: PortalProcess, case_service: Any, staff_users: None, wide: Any, browser: Browser
) -> None:
    body = messages.message_in(reference="ABH-P-2026-000303")
    created = messages.create(case_service, body)
    message_id = created["id"]
    page = wide()
    for route in ("/staff", "/staff/", f"/staff/message/{message_id}", "/staff/message/unknown"):
        page.goto(f"{portal.url}{route}")
        page.wait_for_url(SIGN_IN)
        expect(field(page, "staff.username")).to_be_visible()
        assert body["subject"] not in page.content()

    staff_state, preview_state = StaffState.get_full_name(), PreviewState.get_full_name()

    def try_everything(tab: Page) -> None:
        _send_events(
            tab,
            (f"{staff_state}.search", {"form": {"query": "ABH-P-2026-000303"}}),
            (f"{preview_state}.ask_revoke", {}),
            (f"{preview_state}.show_language", {"lang": "ar"}),
            (f"{preview_state}.revoke", {"form": {"reason": "ohne Sitzung"}}),
        )
        assert _message(case_service, message_id)["link_state"] == "open"

    # A preview open in one browser; its client token copied into another gets nothing there.
    _sign_in(page, portal, "staff-a")
    page.goto(f"{portal.url}/staff/message/{message_id}")
    expect(page.locator("#preview-banner")).to_be_visible()
    token = page.evaluate("sessionStorage.getItem('token')")
    # Reflex gives a token that is still connected elsewhere a new one, so the tab goes first:
    # closed, its connection is gone (a tab that only navigates away reports no socket closing).
    first_browser = page.context
    page.close()
    thief = follow_sockets(
        browser.new_context(viewport=WIDE, locale="de-DE", user_agent="Mozilla/5.0 (X11; Linux) Other/1.0")
    )
    try:
        thief.add_init_script(f"sessionStorage.setItem('token', {json.dumps(token)});" + CAPTURE_SOCKET)
        other = thief.new_page()
        other.goto(f"{portal.url}/staff/message/{message_id}")
        other.wait_for_url(SIGN_IN)
        assert other.evaluate("sessionStorage.getItem('token')") == token  # really the same state
        assert body["subject"] not in other.content()
        try_everything(other)
    finally:
        thief.close()

    # Signed out: the same session, back in a tab of the first browser, can do nothing any more,
    # whatever it sends.
    first_browser.add_init_script(f"sessionStorage.setItem('token', {json.dumps(token)});")
    page = first_browser.new_page()
    page.set_default_timeout(20_000)
    _sign_in(page, portal, "staff-a")
    assert page.evaluate("sessionStorage.getItem('token')") == token
    page.goto(f"{portal.url}/staff/message/{message_id}")
    expect(page.locator("#preview-banner")).to_be_visible()
    button(page, "staff.sign_out").click()
    page.wait_for_url(SIGN_IN)
    expect(page.locator("#signed-out")).to_be_visible()
    assert body["subject"] not in page.content()
    try_everything(page)
    page.goto(f"{portal.url}/staff")
    page.wait_for_url(SIGN_IN)
    assert "ABH-P-2026-000303" not in page.content()


def test_staff_sign_in_refuses_wrong_passwords_and_locks(
    portal: PortalProcess, case_service: Any, staff_users: None, wide: Any, tmp_path: Path
) -> None:
    _create_user(portal, "staff-lock", "abh-potsdam")
    page = wide()
    page.goto(f"{portal.url}/staff/sign-in")
    for _ in range(5):
        field(page, "staff.username").fill("staff-lock")
        field(page, "staff.password").fill("falsches-Passwort-123")
        button(page, "staff.sign_in").click()
        expect(page.locator("#sign-in-error")).to_be_visible()
    expect(page.locator("#sign-in-error")).to_contain_text("gesperrt")
    # Locked: even the right password is refused for now.
    field(page, "staff.username").fill("staff-lock")
    field(page, "staff.password").fill(PASSWORD)
    button(page, "staff.sign_in").click()
    expect(page.locator("#sign-in-error")).to_contain_text("gesperrt")
    assert page.url.rstrip("/") == f"{portal.url}/staff/sign-in"


@pytest.fixture()
def restart_portal(portal: PortalProcess) -> Any:
    """The same portal restarted with other settings, then restored.

    Not a second process beside it: both would build into the one .web folder, whose frontend
    names its server's port.
    """
    saved = dict(portal.extra_env)

    def restart(settings: dict[str, str]) -> PortalProcess:
        portal.stop()
        portal.extra_env.update(settings)
        portal.start()
        return portal

    yield restart
    portal.stop()
    portal.extra_env.clear()
    portal.extra_env.update(saved)
    portal.start()


PROXY_HEADERS = {"X-Remote-User": "sso.mueller", "X-Remote-Authority": "abh-potsdam"}


def test_single_sign_on_through_trusted_proxy_headers(restart_portal: Any, case_service: Any, browser: Browser) -> None:
    sso = restart_portal({"PORTAL_STAFF_AUTH": "headers", "PORTAL_STAFF_TRUSTED_PROXIES": "127.0.0.1/32,::1/128"})
    messages.create(case_service, messages.message_in(reference="ABH-P-2026-000304"))
    # What the authenticating proxy adds to every request it passes on (the websocket's too).
    ctx = browser.new_context(viewport=WIDE, locale="de-DE", extra_http_headers=PROXY_HEADERS)
    try:
        page = ctx.new_page()
        page.goto(f"{sso.url}/staff")
        page.wait_for_url(f"{sso.url}/staff")
        expect(_rows(page).filter(has_text="ABH-P-2026-000304")).to_have_count(1)
        expect(page.locator(".staff-bar")).to_contain_text("sso.mueller")
        # Signing out stays signed out although the proxy still sends who it is ...
        button(page, "staff.sign_out").click()
        page.wait_for_url(SIGN_IN)
        expect(page.locator("#signed-out")).to_be_visible()
        page.goto(f"{sso.url}/staff")
        page.wait_for_url(SIGN_IN)
        assert "ABH-P-2026-000304" not in page.content()
        # ... until the staff member asks to come back.
        button(page, "staff.sign_in_again").click()
        page.wait_for_url(f"{sso.url}/staff")
        expect(_rows(page).filter(has_text="ABH-P-2026-000304")).to_have_count(1)
    finally:
        ctx.close()

    # Without the proxy's headers there is no way in, and no password form to try.
    ctx = browser.new_context(viewport=WIDE, locale="de-DE")
    try:
        page = ctx.new_page()
        page.goto(f"{sso.url}/staff")
        page.wait_for_url(SIGN_IN)
        expect(page.get_by_role("alert")).to_be_visible()
        expect(field(page, "staff.password")).to_have_count(0)
        assert "ABH-P-2026-000304" not in page.content()
    finally:
        ctx.close()
    entries = messages.authority_get(case_service, "/api/v1/audit").json()["entries"]
    assert {"sign_in", "sign_out"} <= {e["action"] for e in entries if e["actor"] == "sso.mueller"}


def test_identity_headers_from_an_untrusted_peer_count_for_nothing(
    restart_portal: Any, case_service: Any, browser: Browser
) -> None:
    # The proxy is configured elsewhere: this browser's own headers (and a forged peer) are ignored.
    sso = restart_portal({"PORTAL_STAFF_AUTH": "headers", "PORTAL_STAFF_TRUSTED_PROXIES": "192.0.2.1/32"})
    forged = {**PROXY_HEADERS, "X-Forwarded-For": "192.0.2.1", "asgi-scope-client": "192.0.2.1"}
    ctx = browser.new_context(viewport=WIDE, locale="de-DE", extra_http_headers=forged)
    try:
        page = ctx.new_page()
        page.goto(f"{sso.url}/staff")
        page.wait_for_url(SIGN_IN)
        expect(page.get_by_role("alert")).to_contain_text("zentrale Anmeldung konnte nicht bestätigt werden")
        expect(_rows(page)).to_have_count(0)
    finally:
        ctx.close()
