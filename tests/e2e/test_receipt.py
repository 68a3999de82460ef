"""The receipt PDF in the browser: downloaded from the confirmation, and again from the answered page.

In German, English and Arabic, on a 360 px phone and on a desktop: the applicant answers a
question with one document, downloads the receipt on the confirmation page, opens the link again
(the "already answered" page) and downloads it again; both are the same PDF, hold the file's
SHA-512 and are the receipt the authority fetches from the case service. Axe finds nothing on
either page.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from portal.domain import i18n
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import PHONE
from tests.e2e.portal_page import button, choose_files, field, follow_sockets, heading, language_select, next_step
from tests.e2e.test_reply_flow import _link_for, _wait_for_reply
from tests.support import messages
from tests.support.portal_process import PortalProcess

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
ONE_ITEM = ({"code": "health_insurance", "required": True, "note": "Mitgliedsbescheinigung"},)


def _download(page: Page, lang: str) -> bytes:
    with page.expect_download() as info:
        button(page, "receipt.download", lang).click()
    path = info.value.path()
    assert info.value.suggested_filename.startswith("Eingangsbestaetigung_RK-")
    return Path(path).read_bytes()


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def _answer(page: Page, link: str, lang: str, document: Path) -> None:
    page.goto(link)
    expect(heading(page).first).to_be_visible()
    language_select(page).select_option(lang)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    next_step(page, button(page, "overview.start", lang), lang=lang)
    choose_files(page, document, lang=lang)
    expect(page.get_by_text(document.name).first).to_be_visible()
    while page.locator("#submit-button").count() == 0:
        next_step(page, lang=lang)
    field(page, "review.declaration", lang).check()
    button(page, "review.submit", lang).click()
    expect(page.locator("#done-reference")).to_be_visible()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["de", "en", "ar"])
def test_the_receipt_is_downloaded_after_sending_and_again_from_the_answered_page(
    portal: PortalProcess, case_service: Any, browser: Browser, tmp_path: Path, lang: str, viewport: str
) -> None:
    size = PHONE if viewport == "phone" else DESKTOP
    context = follow_sockets(browser.new_context(viewport=size, locale="de-DE", accept_downloads=True))
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        reference = f"ABH-P-2026-7{len(lang)}{viewport[0]}{lang[0]}".upper()
        created = messages.create(case_service, messages.message_in(reference=reference, items=ONE_ITEM, language=lang))
        document = tmp_path / "versicherung.pdf"
        buf = io.BytesIO()
        Image.new("RGB", (600, 800), "white").save(buf, "PDF")
        document.write_bytes(buf.getvalue())
        link = _link_for(portal, created)

        _answer(page, link, lang, document)
        number = (page.locator("#done-reference").text_content() or "").strip()
        assert_accessible(page, f"{lang} {viewport} confirmation with the receipt")
        first = _download(page, lang)
        text = _text(first)
        assert number in text and reference in text
        assert hashlib.sha512(buf.getvalue()).hexdigest() in text.replace("\n", "")
        assert i18n.translate("de", "receipt.title") in text  # the German section is always there

        # The authority has the same document, as a file of its own.
        reply = _wait_for_reply(case_service, created["id"])
        assert reply["receipt"]["sha512"] == hashlib.sha512(first).hexdigest()
        fetched = messages.authority_get(case_service, f"/api/v1/replies/{reply['id']}/files/{reply['receipt']['id']}")
        assert fetched.content == first

        # The link again, later: the answered page offers the same receipt.
        page.goto(link)
        expect(heading(page)).to_have_text(i18n.translate(lang, "link.link_answered_title"))
        expect(button(page, "receipt.download", lang)).to_be_visible()
        assert_accessible(page, f"{lang} {viewport} answered page with the receipt")
        assert _download(page, lang) == first
    finally:
        context.close()


def test_a_page_without_the_link_offers_no_receipt(portal: PortalProcess, page: Page) -> None:
    page.goto(f"{portal.url}/reply")
    expect(heading(page)).to_have_text(i18n.translate("de", "link.none_title"))
    expect(button(page, "receipt.download")).to_have_count(0)
