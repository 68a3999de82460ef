"""Run the real case service as a subprocess over HTTP, for the portal's test suites.

service = run_case_service(tmp_path)        # started, /health answered
service.url, service.portal_key, service.authority_keys["abh-potsdam"]
service.stop(); service.start()             # same port, same data: a restart mid-test
with run_case_service(tmp_path) as service: ...
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import httpx

from tests.support.processes import ROOT, ServerProcess, free_port

AUTHORITIES = ("abh-potsdam", "abh-cottbus")


class CaseServiceProcess(ServerProcess):
    name = "the case service"

    def __init__(
        self,
        data_dir: Path,
        port: int,
        portal_base_url: str = "http://localhost:3000",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.portal_base_url = portal_base_url
        self.portal_key = "portal-" + secrets.token_urlsafe(24)
        self.authority_keys: dict[str, str] = {
            authority: f"{authority}-" + secrets.token_urlsafe(24) for authority in AUTHORITIES
        }
        self.extra_env = extra_env or {}

    @property
    def log_path(self) -> Path:
        return self.data_dir / "casesvc.log"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "casesvc", "serve", "--host", "127.0.0.1", "--port", str(self.port)]

    def environment(self) -> dict[str, str]:
        # Hermetic: no CASESVC_* setting of the developer's shell leaks into the service under test.
        env = {name: value for name, value in os.environ.items() if not name.startswith("CASESVC_")}
        env.update(
            {
                "CASESVC_DATA_DIR": str(self.data_dir),
                "CASESVC_PORTAL_BASE_URL": self.portal_base_url,
                "CASESVC_PORTAL_KEY": self.portal_key,
                "CASESVC_AUTHORITY_KEYS": ",".join(f"{a}:{k}" for a, k in self.authority_keys.items()),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
            }
        )
        env.update(self.extra_env)
        return env

    def is_ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=1.0, trust_env=False).status_code == 200
        except httpx.TransportError:
            return False


def run_case_service(
    tmp_dir: Path,
    port: int | None = None,
    *,
    portal_base_url: str = "http://localhost:3000",
    extra_env: dict[str, str] | None = None,
) -> CaseServiceProcess:
    """Start the case service on ``port`` (a free one if None) with its data under ``tmp_dir``."""
    service = CaseServiceProcess(Path(tmp_dir), port or free_port(), portal_base_url, extra_env)
    service.start()
    return service
