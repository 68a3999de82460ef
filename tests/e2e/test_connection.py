"""The portal's own connection notice (replacing Reflex's toaster and overlay).

The server goes away while the request is on screen: the page says so in an alert that passes
axe and keeps what is shown; the notice goes once the server is back.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.a11y import assert_accessible
from tests.support import messages
from tests.support.portal_process import PortalProcess

pytestmark = pytest.mark.e2e


def test_connection_lost_and_back(portal: PortalProcess, case_service: Any, page: Page) -> None:
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000401"))
    page.goto(f"{portal.url}/r/{created['reply_link'].rsplit('/r/', 1)[1]}")
    expect(page.locator("blockquote.original")).to_be_visible()
    # The server's copy is readable at once; the notice belongs to the live page, once it has taken over.
    expect(page.locator("#start-button")).to_be_visible()
    notice = page.locator(".connection-notice")
    expect(notice).to_have_count(0)

    portal.stop()
    try:
        expect(notice).to_be_visible(timeout=30_000)
        expect(notice).to_have_attribute("role", "alert")
        expect(notice).to_contain_text("Ihre Eingaben bleiben erhalten")
        expect(page.locator("blockquote.original")).to_be_visible()  # what is shown stays
        assert_accessible(page, "connection lost")
    finally:
        portal.start()
    # Reconnected, the notice goes by itself. (What the page then shows is the restarted
    # server's: `reflex run` empties its disk state at start, see the README's known limits.)
    expect(notice).to_have_count(0, timeout=60_000)
