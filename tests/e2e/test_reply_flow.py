"""The whole reply, end to end: authority API → link → phone browser → outbox → authority API."""

from __future__ import annotations

import hashlib
import io
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.portal_process import PortalProcess
from tests.support import messages

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
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = messages.authority_get(case_service, "/api/v1/replies?after=0&limit=100").json()
        found = [r for r in page["replies"] if r["message_id"] == message_id]
        if found:
            assert len(found) == 1
            return found[0]
        time.sleep(0.5)
    raise AssertionError("the reply did not reach the case service")


def _upload(page: Page, path: Path) -> None:
    page.locator("#documents input[type=file]").set_input_files(str(path))
    expect(page.locator(".file-row", has_text=path.name)).to_be_visible()


def _answer_question(page: Page, tmp_path: Path, link: str) -> tuple[bytes, bytes]:
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/reply$"))
    expect(page.locator("h1")).to_contain_text("Rückfrage zu Ihrem Antrag")
    expect(page.get_by_text("ABH-P-2026-")).to_be_visible()
    page.locator("#start-button").click()

    pdf = _pdf(tmp_path / "versicherung.pdf")
    _upload(page, tmp_path / "versicherung.pdf")
    page.locator("#next-button").click()

    jpg = _jpeg(tmp_path / "IMG_0789.jpg")
    expect(page.locator("h1")).to_contain_text("Arbeitsvertrag")
    _upload(page, tmp_path / "IMG_0789.jpg")
    page.locator("#next-button").click()

    expect(page.locator("h1")).to_contain_text("Gehalts")
    page.locator("#not-available").check()
    page.locator("#reason").fill("Mein Arbeitgeber stellt sie erst am Monatsende aus.")
    page.wait_for_timeout(500)
    page.locator("#next-button").click()

    page.locator("#text").fill("Guten Tag, anbei die Unterlagen.")
    page.wait_for_timeout(500)
    page.locator("#next-button").click()
    page.locator("#next-button").click()  # no further documents
    expect(page.locator("h1")).to_contain_text("prüfen")
    return pdf, jpg


def _add_further_document(page: Page, tmp_path: Path) -> bytes:
    """From the review: change the further documents, add a registration certificate, come back."""
    page.get_by_role("button", name="Ändern").last.click()
    expect(page.locator("h1")).to_contain_text("Weitere Unterlagen")
    page.locator("#extra-code").select_option("registration_certificate")
    page.locator("#extra-description").fill("Meldebescheinigung vom Bürgeramt")
    page.wait_for_timeout(500)
    png = tmp_path / "scan.png"
    buf = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(buf, "PNG")
    png.write_bytes(buf.getvalue())
    _upload(page, png)
    page.locator("#next-button").click()
    expect(page.locator("h1")).to_contain_text("prüfen")
    return buf.getvalue()


def test_reply_end_to_end(portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path) -> None:
    created = messages.create(case_service, messages.question(reference="ABH-P-2026-000101"))
    files_dir = portal.data_dir / "files"
    files_before = set(files_dir.rglob("*")) if files_dir.exists() else set()
    pdf, jpg = _answer_question(page, tmp_path, _link_for(portal, created))
    # The token is out of the address bar once verified.
    assert "/r/" not in page.url
    png = _add_further_document(page, tmp_path)

    page.locator("#submit-button").click()
    expect(page.locator("#error-summary")).to_be_visible()  # the declaration is missing
    page.locator("#declaration").check()
    page.locator("#submit-button").click()
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
    deadline = time.monotonic() + 10
    while set(files_dir.rglob("*")) - files_before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(files_dir.rglob("*")) - files_before == set()

    # The link now says it was answered, and when.
    page.goto(_link_for(portal, created))
    expect(page.locator("h1")).to_contain_text("schon geantwortet")


def test_second_submission_gives_one_reply(portal: PortalProcess, case_service: Any, context, tmp_path) -> None:
    created = messages.create(case_service, messages.question(reference="ABH-P-2026-000102"))
    link = _link_for(portal, created)
    first, second = context.new_page(), context.browser.new_context(viewport={"width": 360, "height": 740}).new_page()
    _answer_question(first, tmp_path, link)
    _answer_question(second, tmp_path, link)
    first.locator("#declaration").check()
    first.locator("#submit-button").dblclick()
    expect(first.locator("#done-reference")).to_be_visible()
    second.locator("#declaration").check()
    second.locator("#submit-button").click()
    expect(second.locator("h1")).to_contain_text("schon")
    _wait_for_reply(case_service, created["id"])
    time.sleep(2)
    page = messages.authority_get(case_service, "/api/v1/replies?after=0&limit=100").json()
    assert len([r for r in page["replies"] if r["message_id"] == created["id"]]) == 1


def test_expired_and_revoked_and_bad_links(portal: PortalProcess, case_service: Any, page: Page) -> None:
    revoked = messages.create(case_service, messages.question(reference="ABH-P-2026-000103"))
    r = httpx.post(
        f"{case_service.url}/api/v1/messages/{revoked['id']}/revoke",
        json={"reason": "Neue Nachricht folgt"},
        headers={"Authorization": f"Bearer {case_service.authority_keys['abh-potsdam']}"},
    )
    assert r.status_code == 200
    page.goto(_link_for(portal, revoked))
    expect(page.locator("h1")).to_contain_text("gilt nicht mehr")

    # The case service refuses to mint a link that is expired already, so let time pass in its store.
    expired = messages.create(case_service, messages.question(reference="ABH-P-2026-000104"))
    messages.expire_in_store(case_service, expired["id"])
    page.goto(_link_for(portal, expired))
    expect(page.locator("h1")).to_contain_text("abgelaufen")

    page.goto(f"{portal.url}/r/{'A' * 43}")
    expect(page.locator("h1")).to_contain_text("kennen wir nicht")
    page.goto(f"{portal.url}/r/abc")
    expect(page.locator("h1")).to_contain_text("nicht vollständig")


def test_a_link_revoked_while_its_page_is_open_is_never_received(
    portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path
) -> None:
    created = messages.create(case_service, messages.question(reference="ABH-P-2026-000107"))
    _answer_question(page, tmp_path, _link_for(portal, created))
    messages.revoke(case_service, created["id"])
    page.locator("#declaration").check()
    page.locator("#submit-button").click()
    expect(page.locator("h1")).to_contain_text("gilt nicht mehr")
    expect(page.locator("#done-reference")).to_have_count(0)
    assert _outbox_entry_count(portal, created["id"]) == 0


def _outbox_entry_count(portal: PortalProcess, message_id: str) -> int:
    with sqlite3.connect(portal.data_dir / "portal.sqlite3") as db:
        return int(db.execute("SELECT count(*) FROM outbox WHERE message_id = ?", (message_id,)).fetchone()[0])


def test_submission_while_case_service_is_down_arrives_later(
    portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path
) -> None:
    created = messages.create(case_service, messages.question(reference="ABH-P-2026-000105"))
    _answer_question(page, tmp_path, _link_for(portal, created))
    case_service.stop()
    try:
        page.locator("#declaration").check()
        page.locator("#submit-button").click()
        expect(page.locator("#done-reference")).to_be_visible()
        time.sleep(2)  # several failed delivery attempts
    finally:
        case_service.start()
    reply = _wait_for_reply(case_service, created["id"])
    assert reply["text"] == "Guten Tag, anbei die Unterlagen."


def test_case_service_unreachable_shows_retry(portal: PortalProcess, case_service: Any, page: Page) -> None:
    created = messages.create(case_service, messages.question(reference="ABH-P-2026-000106"))
    case_service.stop()
    try:
        page.goto(_link_for(portal, created))
        expect(page.locator("h1")).to_contain_text("nicht geladen werden")
    finally:
        case_service.start()
    page.get_by_role("button", name="Noch einmal versuchen").click()
    expect(page.locator("h1")).to_contain_text("Rückfrage zu Ihrem Antrag")


def test_a_link_paints_before_the_app_starts_and_never_shows_its_token(
    portal: PortalProcess, case_service: Any, browser: Any
) -> None:
    """Issue #5: the link is served prerendered HTML; the token leaves the address bar at once."""
    created = messages.create(case_service, messages.question(reference="ABH-P-2026-000109"))
    link = _link_for(portal, created)
    token = link.rsplit("/r/", 1)[1]
    html = httpx.get(link).text
    assert 'id="step-heading"' in html and "Ihr Link wird geprüft" in html
    assert token not in html

    # Without JavaScript the served page already says what is happening.
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(link)
        expect(page.locator("h1")).to_contain_text("Ihr Link wird geprüft")
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
