"""The built portal's metrics endpoint: closed without the key, and its counters move when a
browser opens reply links (the counters are the process's, shared with the other browser tests of
this session, so the test reads what changed)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import METRICS_KEY
from tests.e2e.portal_page import heading
from tests.support import messages
from tests.support.portal_process import PortalProcess

pytestmark = pytest.mark.e2e


def _openings(portal: PortalProcess) -> dict[str, float]:
    with httpx.Client(base_url=portal.url, trust_env=False, timeout=10) as http:
        assert http.get("/_metrics").status_code == 401
        response = http.get("/_metrics", headers={"Authorization": f"Bearer {METRICS_KEY}"})
    assert response.status_code == 200, response.text
    return {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "portal_link_openings_total"
    }


def test_link_openings_are_counted_by_outcome(portal: PortalProcess, case_service: Any, page: Page) -> None:
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000501"))
    token = created["reply_link"].rsplit("/r/", 1)[1]
    before = _openings(portal)
    page.goto(f"{portal.url}/r/{token}")
    expect(page.locator("blockquote.original")).to_be_visible()
    page.goto(f"{portal.url}/r/{'C' * 43}")
    expect(heading(page)).to_contain_text("kennen wir nicht")
    after = _openings(portal)
    changed = {outcome: after[outcome] - before.get(outcome, 0.0) for outcome in after}
    assert {outcome: n for outcome, n in changed.items() if n} == {"opened": 1, "link_unknown": 1}
