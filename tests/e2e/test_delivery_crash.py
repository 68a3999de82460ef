"""The portal killed in the middle of handing a reply over: after the restart the reply arrives
within seconds, exactly once.

A proxy in front of the case service holds the hand-over half-way, the portal is killed (SIGKILL,
with its children), and started again: its delivery lease runs out and the restarted portal sends
the reply again under the same idempotency key. Held before the case service saw it ("request"),
it arrives now; held after ("response": the case service has it, the portal never learnt), the
case service answers with the reply it already has.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.e2e.portal_page import button, field, next_step
from tests.e2e.test_reply_flow import _link_for, _outbox_entry
from tests.support import messages
from tests.support.holding_proxy import HoldingProxy
from tests.support.portal_process import PortalProcess
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

WITHIN_SECONDS = 30.0


@pytest.mark.parametrize("hold", ["request", "response"])
def test_a_portal_killed_mid_delivery_delivers_once_after_restart(
    portal: PortalProcess, case_service: Any, context: BrowserContext, hold: str
) -> None:
    created = messages.create(case_service, messages.message_in("appointment", reference="ABH-P-2026-000141"))
    direct = portal.case_service_url
    with HoldingProxy(direct, hold) as proxy:  # type: ignore[arg-type]
        portal.stop()
        portal.case_service_url = proxy.url
        try:
            portal.start()
            page = context.new_page()
            page.goto(_link_for(portal, created))
            next_step(page, button(page, "overview.start"))
            field(page, "appointment.confirm").check()
            next_step(page)
            field(page, "review.declaration").check()
            button(page, "review.submit").click()
            expect(page.locator("#done-reference")).to_be_visible()
            page.close()
            assert proxy.held.wait(30), "the portal never handed the reply over"
            if hold == "response":
                # The case service has it; the portal is still waiting for the answer.
                wait_until(lambda: messages.replies_for(case_service, created["id"]), "the reply stored", 30)
            assert _outbox_entry(portal, created["id"]) == ("pending", 1)
            portal.kill()
        finally:
            portal.case_service_url = direct
    portal.start()
    restarted = time.monotonic()
    wait_until(lambda: _outbox_entry(portal, created["id"]) == ("delivered", 2), "the reply delivered", WITHIN_SECONDS)
    took = time.monotonic() - restarted
    print(f"hold={hold}: delivered {took:.1f} s after the restarted portal was ready")
    assert took <= WITHIN_SECONDS
    # Exactly once, whichever side of the case service the hand-over was held on.
    time.sleep(1)
    assert len(messages.replies_for(case_service, created["id"])) == 1
