"""The whole reply, end to end: authority API → link → phone browser → outbox → authority API."""

from __future__ import annotations

import hashlib
import io
import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.e2e.portal_page import choose_files, fill, follow_sockets, heading, next_step, uploaded
from tests.support import messages
from tests.support.portal_process import PortalProcess
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


def _pdf(path: Path) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (600, 800), "white").save(buf, "PDF")
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def _jpeg(path: Path) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 180, 150)).save(buf, "JPEG", quality=85)
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def _link_for(portal: PortalProcess, created: dict[str, Any]) -> str:
    # The case service mints links for its configured portal; tests point them at this portal.
    token = created["reply_link"].rsplit("/r/", 1)[1]
    return f"{portal.url}/r/{token}"


def _wait_for_reply(case_service: Any, message_id: str, timeout: float = 30) -> dict[str, Any]:
    found = wait_until(lambda: messages.replies_for(case_service, message_id), "the reply at the case service", timeout)
    assert len(found) == 1
    return found[0]


def _outbox_entry(portal: PortalProcess, message_id: str) -> tuple[str, int] | None:
    """The state and delivery attempts of the portal's outbox entry for a message."""
    with sqlite3.connect(portal.data_dir / "portal.sqlite3") as db:
        row = db.execute("SELECT state, attempts FROM outbox WHERE message_id = ?", (message_id,)).fetchone()
    return (str(row[0]), int(row[1])) if row else None


def _upload(page: Page, path: Path, key: str = "upload.add") -> None:
    choose_files(page, path, key=key)
    expect(uploaded(page).filter(has_text=path.name)).to_be_visible()


def _answer_question(page: Page, tmp_path: Path, link: str) -> tuple[bytes, bytes]:
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/reply$"))
    expect(heading(page)).to_contain_text("Rückfrage zu Ihrem Antrag")
    expect(page.get_by_text("ABH-P-2026-")).to_be_visible()
    next_step(page, page.get_by_role("button", name="Jetzt antworten"))
    expect(page.get_by_text("Nachweis 1 / 3", exact=True)).to_be_visible()

    pdf = _pdf(tmp_path / "versicherung.pdf")
    _upload(page, tmp_path / "versicherung.pdf")
    next_step(page)

    jpg = _jpeg(tmp_path / "IMG_0789.jpg")
    expect(heading(page)).to_contain_text("Arbeitsvertrag")
    _upload(page, tmp_path / "IMG_0789.jpg")
    next_step(page)

    expect(heading(page)).to_contain_text("Gehalts")
    page.get_by_label("Ich kann diesen Nachweis jetzt nicht einreichen.").check()
    fill(
        page.get_by_label("Warum können Sie ihn jetzt nicht einreichen?"),
        "Mein Arbeitgeber stellt sie erst am Monatsende aus.",
    )
    next_step(page)

    fill(page.get_by_label("Möchten Sie der Behörde etwas schreiben? (freiwillig)"), "Guten Tag, anbei die Unterlagen.")
    next_step(page)
    next_step(page)  # no further documents
    expect(heading(page)).to_contain_text("prüfen")
    return pdf, jpg


def _add_further_document(page: Page, tmp_path: Path) -> bytes:
    """From the review: change the further documents, add a registration certificate, come back."""
    page.get_by_role("button", name="Ändern").last.click()
    expect(heading(page)).to_contain_text("Weitere Unterlagen")
    page.get_by_label("Welche Art von Unterlage ist das?").select_option("registration_certificate")
    fill(page.get_by_label("Kurze Beschreibung (freiwillig)"), "Meldebescheinigung vom Bürgeramt")
    png = tmp_path / "scan.png"
    buf = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(buf, "PNG")
    png.write_bytes(buf.getvalue())
    _upload(page, png, key="extras.add")
    next_step(page)
    expect(heading(page)).to_contain_text("prüfen")
    expect(page.get_by_text("Meldebescheinigung: 1 Datei", exact=True)).to_be_visible()
    return buf.getvalue()


def _submit(page: Page) -> Locator:
    return page.get_by_role("button", name="Antwort verbindlich absenden")


def _declare(page: Page) -> None:
    page.get_by_label(
        "Ich versichere, dass meine Angaben richtig und vollständig sind und die Unterlagen echt sind."
    ).check()


def test_reply_end_to_end(portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path) -> None:
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000101"))
    files_dir = portal.data_dir / "files"
    files_before = set(files_dir.rglob("*")) if files_dir.exists() else set()
    pdf, jpg = _answer_question(page, tmp_path, _link_for(portal, created))
    # The token is out of the address bar once verified.
    assert "/r/" not in page.url
    png = _add_further_document(page, tmp_path)

    _submit(page).click()
    expect(page.locator("#error-summary")).to_be_visible()  # the declaration is missing
    _declare(page)
    _submit(page).click()
    expect(page.locator("#done-reference")).to_be_visible()

    reply = _wait_for_reply(case_service, created["id"])
    assert reply["text"] == "Guten Tag, anbei die Unterlagen."
    items = {i["code"]: i for i in reply["items"]}
    assert items["payslips"]["status"] == "not_available"
    assert "Monatsende" in items["payslips"]["reason"]
    bodies = {}
    for code in ("health_insurance", "employment_contract"):
        (file,) = items[code]["files"]
        assert "IMG_0789" not in file["name"] and "ABH-P-2026-000101" in file["name"]
        body = messages.authority_get(case_service, f"/api/v1/replies/{reply['id']}/files/{file['id']}").content
        # The SHA-512 is over the bytes handed over, and the authority gets exactly those bytes.
        assert file["sha512"] == hashlib.sha512(body).hexdigest()
        bodies[code] = body
    # A clean PDF is handed over byte for byte; a photo is re-encoded without its metadata.
    assert bodies["health_insurance"] == pdf
    assert bodies["employment_contract"].startswith(b"\xff\xd8") and bodies["employment_contract"] != jpg
    assert Image.open(io.BytesIO(bodies["employment_contract"])).size == (800, 600)
    (extra,) = reply["extra_documents"]
    assert extra["code"] == "registration_certificate"
    assert extra["description"] == "Meldebescheinigung vom Bürgeramt"
    extra_body = messages.authority_get(
        case_service, f"/api/v1/replies/{reply['id']}/files/{extra['files'][0]['id']}"
    ).content
    assert extra["files"][0]["sha512"] == hashlib.sha512(extra_body).hexdigest()
    assert Image.open(io.BytesIO(extra_body)).size == Image.open(io.BytesIO(png)).size

    # Files are deleted from the portal once the case service confirmed the reply.
    wait_until(lambda: not set(files_dir.rglob("*")) - files_before, "the reply's files deleted in the portal", 10)

    # The link now says it was answered, and when.
    page.goto(_link_for(portal, created))
    expect(heading(page)).to_contain_text("schon geantwortet")


def test_second_submission_gives_one_reply(portal: PortalProcess, case_service: Any, context, tmp_path) -> None:
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000102"))
    link = _link_for(portal, created)
    other_browser = follow_sockets(context.browser.new_context(viewport={"width": 360, "height": 740}))
    first, second = context.new_page(), other_browser.new_page()
    _answer_question(first, tmp_path, link)
    # The other browser finds the saved draft where the first left it: at the review.
    second.goto(link)
    expect(heading(second)).to_contain_text("prüfen")
    expect(second.get_by_text("Guten Tag, anbei die Unterlagen.")).to_be_visible()
    _declare(first)
    _submit(first).dblclick()
    expect(first.locator("#done-reference")).to_be_visible()
    # Sent from the first: the second's next step says so instead of sending again.
    _submit(second).click()
    expect(heading(second)).to_contain_text("schon")
    _wait_for_reply(case_service, created["id"])
    # Delivered, the portal sends it no more: one reply, however often the button was pressed.
    wait_until(lambda: (_outbox_entry(portal, created["id"]) or ("",))[0] == "delivered", "the delivery recorded")
    assert len(messages.replies_for(case_service, created["id"])) == 1
    other_browser.close()


def test_expired_and_revoked_and_bad_links(portal: PortalProcess, case_service: Any, page: Page) -> None:
    revoked = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000103"))
    r = httpx.post(
        f"{case_service.url}/api/v1/messages/{revoked['id']}/revoke",
        json={"reason": "Neue Nachricht folgt"},
        headers={"Authorization": f"Bearer {case_service.authority_keys['abh-potsdam']}"},
    )
    assert r.status_code == 200
    page.goto(_link_for(portal, revoked))
    expect(heading(page)).to_contain_text("gilt nicht mehr")

    # The case service refuses to mint a link that is expired already, so let time pass in its store.
    expired = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000104"))
    messages.expire_in_store(case_service, expired["id"])
    page.goto(_link_for(portal, expired))
    expect(heading(page)).to_contain_text("abgelaufen")

    page.goto(f"{portal.url}/r/{'A' * 43}")
    expect(heading(page)).to_contain_text("kennen wir nicht")
    page.goto(f"{portal.url}/r/abc")
    expect(heading(page)).to_contain_text("nicht vollständig")


def test_a_link_revoked_while_its_page_is_open_is_never_received(
    portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path
) -> None:
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000107"))
    _answer_question(page, tmp_path, _link_for(portal, created))
    messages.revoke(case_service, created["id"])
    _declare(page)
    _submit(page).click()
    expect(heading(page)).to_contain_text("gilt nicht mehr")
    expect(page.locator("#done-reference")).to_have_count(0)
    assert _outbox_entry(portal, created["id"]) is None


def test_submission_while_case_service_is_down_arrives_later(
    portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path
) -> None:
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000105"))
    _answer_question(page, tmp_path, _link_for(portal, created))
    case_service.stop()
    try:
        _declare(page)
        _submit(page).click()
        expect(page.locator("#done-reference")).to_be_visible()
        # Kept in the outbox through several failed attempts.
        wait_until(lambda: (_outbox_entry(portal, created["id"]) or ("", 0))[1] >= 2, "two failed deliveries")
    finally:
        case_service.start()
    reply = _wait_for_reply(case_service, created["id"])
    assert reply["text"] == "Guten Tag, anbei die Unterlagen."


def test_case_service_unreachable_shows_retry(portal: PortalProcess, case_service: Any, page: Page) -> None:
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000106"))
    case_service.stop()
    try:
        page.goto(_link_for(portal, created))
        expect(heading(page)).to_contain_text("nicht geladen werden")
    finally:
        case_service.start()
    page.get_by_role("button", name="Noch einmal versuchen").click()
    expect(heading(page)).to_contain_text("Rückfrage zu Ihrem Antrag")


def test_a_link_paints_before_the_app_starts_and_never_shows_its_token(
    portal: PortalProcess, case_service: Any, browser: Any
) -> None:
    """Issue #5: the link is served prerendered HTML; the token leaves the address bar at once."""
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000109"))
    link = _link_for(portal, created)
    token = link.rsplit("/r/", 1)[1]
    html = httpx.get(link).text
    assert "ABH-P-2026-000109" in html  # the first response carries the request itself
    assert token not in html

    # Without JavaScript the served page already shows the request.
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(link)
        expect(page.get_by_text("ABH-P-2026-000109")).to_be_visible()
    finally:
        context.close()

    # With JavaScript the token leaves the address bar and the tab's history once verified.
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(link)
        expect(page.locator("blockquote.original")).to_be_visible()
        expect(page).to_have_url(f"{portal.url}/reply")
        assert page.evaluate("location.hash") == ""
        page.go_back()  # the link's entry was replaced, not added: back leaves the portal
        assert token not in page.url
        assert token not in page.evaluate("document.documentElement.outerHTML")
    finally:
        context.close()
