"""The built portal answers its health paths through its whole middleware stack."""

from __future__ import annotations

import httpx

from tests.support.portal_process import PortalProcess


def test_the_running_portal_is_live_and_ready(portal: PortalProcess) -> None:
    with httpx.Client(base_url=portal.url, trust_env=False, timeout=10) as http:
        live = http.get("/health/live")
        assert live.status_code == 200 and live.json() == {"status": "live"}
        ready = http.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "status": "ready",
            "checks": {"store": "ok", "receipt_fonts": "ok", "case_service": "ok"},
        }
        # The guard's security headers are on these answers too.
        assert ready.headers["cache-control"] == "no-store" and "x-content-type-options" in ready.headers
