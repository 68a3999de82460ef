"""Each message kind shown as what it is; the appointment answer; the language switch keeps input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.portal_page import button, field, fill, heading, language_select, next_step
from tests.e2e.test_reply_flow import _link_for, _wait_for_reply
from tests.support import messages
from tests.support.portal_process import PortalProcess

pytestmark = pytest.mark.e2e


def _appointment() -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=10)).replace(hour=8, minute=30, second=0, microsecond=0)
    return messages.message_in(
        "appointment",
        reference="ABH-P-2026-000201",
        subject="Terminmitteilung: persönliche Vorsprache",
        appointment={
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=30)).isoformat(),
            "place": "Friedrich-Ebert-Straße 79/81, Haus 1, Raum 2.14",
            "bring": "Reisepass im Original",
        },
    )


def test_appointment_reschedule(portal: PortalProcess, case_service: Any, page: Page) -> None:
    created = messages.create(case_service, _appointment())
    page.goto(_link_for(portal, created))
    expect(page.get_by_text("Raum 2.14")).to_be_visible()
    next_step(page, button(page, "overview.start"))
    button(page, "nav.next").click()
    expect(page.locator("#error-summary")).to_contain_text("Termin")  # no answer chosen
    page.get_by_label("Nein, ich brauche einen anderen Termin.").check()
    fill(page.get_by_label("Warum können Sie nicht kommen?"), "Ich bin an dem Tag auf einer Dienstreise.")
    fill(page.get_by_label("Wann könnten Sie kommen?"), "Jeden Dienstag ab 14 Uhr")
    button(page, "nav.next").click()
    expect(page.get_by_text("Dienstreise")).to_be_visible()  # the review lists the answer
    field(page, "review.declaration").check()
    button(page, "review.submit").click()
    expect(page.locator("#done-reference")).to_be_visible()
    reply = _wait_for_reply(case_service, created["id"])
    assert reply["appointment"] == {
        "answer": "reschedule",
        "reason": "Ich bin an dem Tag auf einer Dienstreise.",
        "suitable_times": "Jeden Dienstag ab 14 Uhr",
    }


@pytest.mark.parametrize("kind", ["status", "not_responsible"])
def test_information_kinds_have_nothing_to_answer(
    portal: PortalProcess, case_service: Any, page: Page, kind: str
) -> None:
    # A not_responsible message names the authority that is (Landkreis Potsdam-Mittelmark).
    message = messages.message_in(kind, reference="ABH-P-2026-000202", subject=f"Mitteilung {kind}")
    created = messages.create(case_service, message)
    page.goto(_link_for(portal, created))
    expect(heading(page)).to_contain_text(f"Mitteilung {kind}")
    expect(page.get_by_text("müssen Sie nicht antworten")).to_be_visible()
    expect(button(page, "overview.start")).to_have_count(0)
    if kind == "not_responsible":
        expect(page.get_by_text("Potsdam-Mittelmark")).to_be_visible()


def test_language_switch_keeps_what_was_entered(portal: PortalProcess, case_service: Any, page: Page) -> None:
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000203"))
    page.goto(_link_for(portal, created))
    expect(page.locator("html")).to_have_attribute("lang", "de")
    next_step(page, button(page, "overview.start"))
    button(page, "nav.next").click()  # item 1 empty: error
    expect(page.locator("#error-summary")).to_be_visible()
    field(page, "item.not_available").check()
    fill(field(page, "item.reason"), "Die Kasse schickt die Bescheinigung per Post.")
    language_select(page).select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(button(page, "nav.next", "en")).to_have_text("Next")
    expect(field(page, "item.reason", "en")).to_have_value("Die Kasse schickt die Bescheinigung per Post.")
    expect(field(page, "item.not_available", "en")).to_be_checked()
    button(page, "nav.next", "en").click()
    expect(heading(page)).to_contain_text("employment contract", ignore_case=True)
