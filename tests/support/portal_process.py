"""Builds and runs the real portal (``reflex run --env prod --single-port``) for browser tests.

portal = PortalProcess(data_dir, case_service.url, case_service.portal_key, extra_env={...})
portal.start()                      # built and serving (the first build takes minutes)
portal.url, portal.log_path
portal.stop(); portal.start()       # the same port and data: a restart mid-test
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deploy.cluster import reflex_environment
from tests.support.processes import ROOT, ServerProcess, free_port

# Delivery retried within a second, so a test waits seconds, not minutes, for a reply to arrive.
FAST_DELIVERY = {
    "PORTAL_DELIVERY_RETRY_INITIAL_SECONDS": "0.5",
    "PORTAL_DELIVERY_RETRY_MAX_SECONDS": "1",
    "PORTAL_DELIVERY_POLL_SECONDS": "0.5",
}
# One test browser on one address opens links and uploads far faster than people do; the limits
# themselves are tested in tests/portal and measured by bench/abuse.py.
GENEROUS_LIMITS = {
    "PORTAL_LINK_OPENS_PER_ADDRESS": "10000",
    "PORTAL_LINK_OPENS_PER_LINK": "10000",
    "PORTAL_UPLOADS_PER_ADDRESS": "10000",
    "PORTAL_UPLOADS_PER_LINK": "10000",
}


@dataclass
class PortalProcess(ServerProcess):
    data_dir: Path
    case_service_url: str
    case_service_key: str
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    # Where `reflex run` runs: the portal, or another app (bench/lighthouse.py's blank app).
    cwd: Path = ROOT

    name = "the portal"
    # The first start builds the frontend.
    start_timeout = 600.0
    stop_timeout = 20.0
    poll_interval = 1.0
    own_session = True

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "portal.log"

    def command(self) -> list[str]:
        port = str(self.port)
        return ["reflex", "run", "--env", "prod", "--single-port", "--frontend-port", port, "--backend-port", port]

    def environment(self) -> dict[str, str]:
        return {
            **reflex_environment(os.environ),
            "PORTAL_PORT": str(self.port),
            "PORTAL_PUBLIC_URL": self.url,
            "PORTAL_DATA_DIR": str(self.data_dir),
            "PORTAL_CASE_SERVICE_URL": self.case_service_url,
            "PORTAL_CASE_SERVICE_KEY": self.case_service_key,
            **FAST_DELIVERY,
            **self.extra_env,
        }

    def is_ready(self) -> bool:
        # The backend answers /ping before the frontend is built; the page needs both.
        try:
            return (
                httpx.get(f"{self.url}/ping", timeout=2).status_code == 200
                and httpx.get(f"{self.url}/", timeout=5).status_code == 200
            )
        except httpx.HTTPError:
            return False
