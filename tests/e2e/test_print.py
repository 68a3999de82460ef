"""The request, the review and the confirmation printed on A4 as Chromium prints them: only the
content (no navigation, language switcher, skip link, buttons or upload zone), links written out,
right-to-left pages right to left, and no item cut between two pages (read back from the PDF)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from portal.domain import i18n
from tests.e2e.portal_page import button, field, fill, heading, language_select, next_step
from tests.e2e.test_reply_flow import _link_for
from tests.support import messages
from tests.support.portal_process import PortalProcess

pytestmark = pytest.mark.e2e

# What only a screen needs; none of it may be on paper.
SCREEN_ONLY = {
    "skip link": ".skip-link",
    "language switcher": "#language-select",
    "navigation": "nav",
    "buttons": "button",
    "upload zone": ".upload-zone",
    "calendar offer": ".calendar-offer",
}
# One reason per requested item, each naming its item, so the PDF shows whether a card was cut.
# No closing full stop: in a right-to-left paragraph it stands on the other side of Latin text.
REASONS = [f"Begründung Nummer {n}: die Bescheinigung kommt mit der Post" for n in (1, 2, 3)]
# A statement long enough to push the cards after it onto a second page.
STATEMENT = "\n".join(f"Absatz {n}: Ich reiche die fehlenden Unterlagen so bald wie möglich nach" for n in range(1, 31))


def _open(page: Page, portal: PortalProcess, case_service: Any, message: dict[str, Any], lang: str) -> None:
    created = messages.create(case_service, message)
    page.goto(_link_for(portal, created))
    expect(heading(page).first).to_be_visible()
    language_select(page).select_option(lang)
    expect(page.locator("html")).to_have_attribute("dir", i18n.text_direction(lang))


def _visible(page: Page, selector: str) -> list[str]:
    """The elements matching ``selector`` that take up room in the current media."""
    found: list[str] = page.eval_on_selector_all(
        selector, "els => els.filter(e => e.checkVisibility({visibilityProperty: true})).map(e => e.outerHTML)"
    )
    return found


def _printed(page: Page, where: str, tmp_path: Path) -> list[str]:
    """The page as printed on A4: checks what print media hides, returns each PDF page's text."""
    page.emulate_media(media="print")
    try:
        for what, selector in SCREEN_ONLY.items():
            assert _visible(page, selector) == [], f"{where}: {what} printed"
        direction = page.evaluate("getComputedStyle(document.querySelector('#main')).direction")
        assert direction == i18n.text_direction(page.locator("html").get_attribute("lang") or "de")
        pdf = page.pdf(format="A4", print_background=True)
    finally:
        page.emulate_media(media="screen")
    name = tmp_path / where.replace(" ", "-")
    name.with_suffix(".pdf").write_bytes(pdf)
    pages = [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]
    assert 1 <= len(pages) <= 6, f"{where}: {len(pages)} pages"
    _as_pictures(name.with_suffix(".pdf"), len(pages))
    return pages


def _as_pictures(pdf: Path, count: int) -> None:
    """The pages as a person sees them (PNG files beside the PDF, kept with the test's files): A4
    upright, and none of them blank."""
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm is not None, "pdftoppm is missing: run scripts/setup --test (poppler-utils)"
    subprocess.run([pdftoppm, "-r", "40", "-png", str(pdf), str(pdf.with_suffix(""))], check=True)
    pictures = sorted(pdf.parent.glob(pdf.stem + "-*.png"))
    assert len(pictures) == count
    for picture in pictures:
        with Image.open(picture) as image:
            width, height = image.size
            assert abs(height / width - 297 / 210) < 0.01, f"{picture.name}: not A4"
            darkest, _ = image.convert("L").getextrema()
            assert darkest < 64, f"{picture.name}: blank"


def _on_one_page(pages: list[str], *parts: str) -> None:
    """All ``parts`` (found by their text, whitespace aside) on the same PDF page."""
    flat = ["".join(text.split()) for text in pages]
    wanted = ["".join(part.split()) for part in parts]
    assert any(all(w in text for w in wanted) for text in flat), f"not on one page: {parts}"


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_request_review_and_confirmation_print_on_a4(
    portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path, lang: str
) -> None:
    reference = f"ABH-P-2026-00081{int(lang == 'ar')}"
    _open(page, portal, case_service, messages.message_in(reference=reference), lang)

    pages = _printed(page, f"{lang} request", tmp_path)
    _on_one_page(pages, reference, messages.APPLICANT)
    _on_one_page(pages, messages.AUTHORITY["phone"], messages.AUTHORITY["email"])

    next_step(page, button(page, "overview.start", lang), lang=lang)
    for n, reason in enumerate(REASONS):
        field(page, "item.not_available", lang).check()
        fill(field(page, "item.reason", lang), reason)
        next_step(page, lang=lang)
        assert n < len(REASONS)
    fill(field(page, "text.label", lang), STATEMENT)
    next_step(page, lang=lang)
    next_step(page, lang=lang)
    expect(button(page, "review.submit", lang)).to_be_visible()
    pages = _printed(page, f"{lang} review", tmp_path)
    assert len(pages) >= 2, "the statement should take the review past one page"
    # Each item's card whole on one page: its title and its reason together.
    for code, reason in zip(("health_insurance", "employment_contract", "payslips"), REASONS, strict=True):
        if lang == "de":
            _on_one_page(pages, i18n.translate(lang, f"catalogue.{code}.title"), reason)
        else:
            _on_one_page(pages, reason)
    # The statement's card is taller than what was left of the first page: it starts on the next.
    _on_one_page(pages, "Absatz 1:", "Absatz 30:")

    field(page, "review.declaration", lang).check()
    button(page, "review.submit", lang).click()
    expect(page.locator("#done-reference")).to_be_visible()
    receipt = page.locator("#done-reference").inner_text()
    pages = _printed(page, f"{lang} confirmation", tmp_path)
    assert len(pages) == 1
    _on_one_page(pages, receipt, messages.AUTHORITY["phone"])


def test_links_are_written_out_on_paper(portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path) -> None:
    website = "https://www.potsdam-mittelmark.de/auslaenderbehoerde"
    message = messages.message_in(
        "not_responsible",
        reference="ABH-P-2026-000820",
        responsible_authority={"name": "Landkreis Potsdam-Mittelmark", "phone": "+49 33841 91-0", "website": website},
    )
    _open(page, portal, case_service, message, "de")
    link = page.get_by_role("link", name=i18n.translate("de", "links.responsible_website"))
    expect(link).to_have_attribute("href", website)
    after = "el => getComputedStyle(el, '::after').content"
    assert link.evaluate(after) == "none"  # on screen the link is a link
    page.emulate_media(media="print")
    assert link.evaluate(after) == f'" ({website})"'
    # A link inside the page says nothing on paper (and is not printed at all).
    assert page.locator(".skip-link").evaluate(after) == "none"
    page.emulate_media(media="screen")
    pages = _printed(page, "de not responsible", tmp_path)
    _on_one_page(pages, i18n.translate("de", "links.responsible_website"), website)
