"""Half a reply survives a restart of the portal and moves to another device.

The applicant answers half on a phone; the portal restarts (every session gone); the link opened
on a second device (a new browser context) shows everything as it was, and the reply sent from
there reaches the authority with every file.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import PHONE
from tests.e2e.portal_page import button, fill, follow_sockets, heading, next_step, uploaded
from tests.e2e.test_reply_flow import _declare, _jpeg, _link_for, _pdf, _submit, _upload, _wait_for_reply
from tests.support import messages
from tests.support.portal_process import PortalProcess

pytestmark = pytest.mark.e2e

REASON = "Mein Arbeitgeber stellt sie erst am Monatsende aus."


def _half_answer(page: Page, tmp_path: Path, link: str) -> bytes:
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/reply$"))
    next_step(page, page.get_by_role("button", name="Jetzt antworten"))
    pdf = _pdf(tmp_path / "versicherung.pdf")
    _upload(page, tmp_path / "versicherung.pdf")
    next_step(page)
    _jpeg(tmp_path / "IMG_0789.jpg")
    _upload(page, tmp_path / "IMG_0789.jpg")
    next_step(page)
    expect(heading(page)).to_contain_text("Gehalts")
    page.get_by_label("Ich kann diesen Nachweis jetzt nicht einreichen.").check()
    fill(page.get_by_label("Warum können Sie ihn jetzt nicht einreichen?"), REASON)
    # The page says what is saved, and when.
    expect(page.locator("#draft-saved")).to_contain_text(re.compile(r"Gespeichert um \d{1,2}:\d{2}"))
    return pdf


def test_half_a_reply_survives_a_restart_and_moves_to_another_device(
    portal: PortalProcess, case_service: Any, browser: Browser, tmp_path: Path
) -> None:
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000131"))
    link = _link_for(portal, created)
    phone = follow_sockets(browser.new_context(viewport=PHONE, locale="de-DE"))
    try:
        pdf = _half_answer(phone.new_page(), tmp_path, link)
    finally:
        phone.close()

    portal.stop()
    portal.start()

    laptop = follow_sockets(browser.new_context(locale="de-DE"))
    try:
        page = laptop.new_page()
        page.goto(link)
        # Back where the phone left off, with the reason it typed and the box it ticked.
        expect(heading(page)).to_contain_text("Gehalts")
        expect(page.get_by_label("Ich kann diesen Nachweis jetzt nicht einreichen.")).to_be_checked()
        expect(page.get_by_label("Warum können Sie ihn jetzt nicht einreichen?")).to_have_value(REASON)
        expect(page.locator("#draft-saved")).to_contain_text("Gespeichert um")
        next_step(page, button(page, "nav.back"))
        expect(uploaded(page).filter(has_text="IMG_0789.jpg")).to_be_visible()
        next_step(page, button(page, "nav.back"))
        expect(uploaded(page).filter(has_text="versicherung.pdf")).to_be_visible()
        for _ in range(3):
            next_step(page)
        fill(page.get_by_label("Möchten Sie der Behörde etwas schreiben? (freiwillig)"), "Vom Laptop gesendet.")
        next_step(page)
        next_step(page)  # no further documents
        expect(heading(page)).to_contain_text("prüfen")
        _declare(page)
        _submit(page).click()
        expect(page.locator("#done-reference")).to_be_visible()
    finally:
        laptop.close()

    reply = _wait_for_reply(case_service, created["id"])
    assert reply["text"] == "Vom Laptop gesendet."
    items = {i["code"]: i for i in reply["items"]}
    assert (items["payslips"]["status"], items["payslips"]["reason"]) == ("not_available", REASON)
    (insurance,) = items["health_insurance"]["files"]
    (contract,) = items["employment_contract"]["files"]
    body = messages.authority_get(case_service, f"/api/v1/replies/{reply['id']}/files/{insurance['id']}").content
    assert body == pdf and insurance["sha512"] == hashlib.sha512(body).hexdigest()
    assert contract["media_type"] == "image/jpeg" and contract["original_name"] == "IMG_0789.jpg"


def test_two_browsers_on_one_draft_never_overwrite_each_other_silently(
    portal: PortalProcess, case_service: Any, browser: Browser
) -> None:
    created = messages.create(case_service, messages.message_in("appointment", reference="ABH-P-2026-000132"))
    link = _link_for(portal, created)
    phone = follow_sockets(browser.new_context(viewport=PHONE, locale="de-DE"))
    laptop = follow_sockets(browser.new_context(locale="de-DE"))
    try:
        on_phone, on_laptop = phone.new_page(), laptop.new_page()
        on_phone.goto(link)
        next_step(on_phone, button(on_phone, "overview.start"))
        # The laptop opens the link where the phone is: at the appointment's answer.
        on_laptop.goto(link)
        expect(on_laptop.get_by_label("Ja, ich komme zu dem Termin.")).to_be_visible()
        on_phone.get_by_label("Nein, ich brauche einen anderen Termin.").check()
        fill(on_phone.get_by_label("Warum können Sie nicht kommen?"), "Dienstreise (vom Telefon)")
        expect(on_phone.locator("#draft-saved")).to_contain_text("Gespeichert um")
        # The laptop, still showing the empty answer, picks "I will come": not applied over the
        # phone's answer; the page says so and now shows the phone's.
        on_laptop.get_by_label("Ja, ich komme zu dem Termin.").click()
        expect(on_laptop.locator("#draft-notice")).to_contain_text("nicht gespeichert")
        expect(on_laptop.get_by_label("Nein, ich brauche einen anderen Termin.")).to_be_checked()
        expect(on_laptop.get_by_label("Warum können Sie nicht kommen?")).to_have_value("Dienstreise (vom Telefon)")
    finally:
        phone.close()
        laptop.close()
