"""Words that do not mislead, in the browser: the right to be heard named as the glossary names it,
and file names that keep their own direction inside right-to-left sentences."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from portal.domain import i18n
from tests.e2e.a11y import assert_accessible
from tests.e2e.portal_page import button, choose_files, heading, language_select, next_step, uploaded
from tests.e2e.test_reply_flow import _link_for
from tests.fixtures.corpus import blank_pdf
from tests.support import messages
from tests.support.portal_process import PortalProcess

pytestmark = pytest.mark.e2e
# What these languages called the Anhörung before: an oral hearing, which it is not.
ORAL_HEARING = {"ar": "الاستماع", "fa": "استماع", "sq": "Dëgjim", "en": "Hearing:"}
FILE_NAME = "2024 (1).pdf"


def _open(page: Page, portal: PortalProcess, case_service: Any, message: dict[str, Any], lang: str) -> None:
    created = messages.create(case_service, message)
    page.goto(_link_for(portal, created))
    expect(heading(page).first).to_be_visible()
    language_select(page).select_option(lang)
    expect(page.locator("html")).to_have_attribute("lang", i18n.html_lang(lang))


@pytest.mark.parametrize("lang", ["ar", "fa", "sq", "en", "de-simple"])
def test_the_intent_to_refuse_names_the_right_to_comment(
    portal: PortalProcess, case_service: Any, page: Page, lang: str
) -> None:
    message = messages.message_in(
        "intent_to_refuse",
        reference="ABH-P-2026-000530",
        subject="Anhörung vor der beabsichtigten Ablehnung Ihres Antrags",
        body="Sie haben Gelegenheit zur Stellungnahme im Rahmen der Anhörung.",
    )
    _open(page, portal, case_service, message, lang)
    term = i18n.glossary(lang)["anhoerung"]["term"]
    expect(page.get_by_text(i18n.translate(lang, "kind.intent_to_refuse"), exact=True)).to_be_visible()
    # The glossary offered for the authority's German words says the same.
    page.get_by_text(i18n.translate(lang, "glossary_ui.heading"), exact=True).click()
    expect(page.locator("#glossary dt", has_text=term)).to_be_visible()
    main = page.locator("main").inner_text()
    assert term.casefold() in main.casefold()
    if lang in ORAL_HEARING:
        assert ORAL_HEARING[lang].casefold() not in main.casefold()
    if lang == "de-simple":  # plain German says that nothing is decided yet
        assert "Noch ist nichts entschieden." in main
    assert_accessible(page, f"{lang} intent to refuse")


def test_a_file_name_keeps_its_order_in_arabic_sentences(
    portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path
) -> None:
    _open(page, portal, case_service, messages.message_in(reference="ABH-P-2026-000531"), "ar")
    next_step(page, button(page, "overview.start", "ar"))
    good = tmp_path / "good" / FILE_NAME
    good.parent.mkdir()
    good.write_bytes(blank_pdf())
    empty = tmp_path / "empty" / FILE_NAME
    empty.parent.mkdir()
    empty.write_bytes(b"")
    choose_files(page, good, empty, lang="ar")
    # In the list of files: the name in its own <bdi>.
    expect(uploaded(page, "ar")).to_have_count(1)
    expect(uploaded(page, "ar").locator(".file-name bdi")).to_have_text(FILE_NAME)
    # In the sentence that refuses the empty one: the name isolated (U+2068 … U+2069).
    refusal = page.locator("#upload-errors li")
    expect(refusal).to_have_count(1)
    isolated = i18n.isolate(FILE_NAME)
    assert isolated in refusal.inner_text()
    assert refusal.inner_text() == i18n.translate("ar", "error.file_empty", name=isolated)
    assert_accessible(page, "ar file name in a sentence")
    # And in the sentence that says it was removed.
    uploaded(page, "ar").get_by_role("button", name=i18n.translate("ar", "upload.remove")).click()
    expect(uploaded(page, "ar")).to_have_count(0)
    expect(page.locator("#announcement")).to_have_text(i18n.translate("ar", "upload.removed", name=isolated))


def test_a_submitted_document_keeps_its_german_title_and_arabic_date_apart(
    portal: PortalProcess, case_service: Any, page: Page
) -> None:
    _open(page, portal, case_service, messages.message_in(reference="ABH-P-2026-000532"), "ar")
    entry = page.locator("li", has=page.locator("bdi[lang='de']", has_text="Reisepass"))
    expect(entry).to_have_count(1)
    isolates = entry.locator("bdi")
    # The title in German and the date in the page's language, each isolated in its direction.
    expect(isolates).to_have_count(2)
    date = isolates.nth(1).inner_text()
    assert date and all(not ("a" <= ch.lower() <= "z") for ch in date)
    assert entry.inner_text().replace("\u2068", "").replace("\u2069", "") == f"Reisepass ({date})"
