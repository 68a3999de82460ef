"""Run the real case service as a subprocess over HTTP, for the portal's test suites.

service = run_case_service(tmp_path)        # started, /health answered
service.url, service.portal_key, service.authority_keys["abh-potsdam"]
service.stop(); service.start()             # same port, same data: a restart mid-test
with run_case_service(tmp_path) as service: ...
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from tests.support.processes import terminate

ROOT = Path(__file__).resolve().parents[2]
AUTHORITIES = ("abh-potsdam", "abh-cottbus")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CaseServiceProcess:
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
        self.log_path = data_dir / "casesvc.log"
        self._process: subprocess.Popen[bytes] | None = None

    def _env(self) -> dict[str, str]:
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

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        """Start (or start again) on the same port with the same data directory and keys."""
        if self.running:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "casesvc", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_healthy(timeout)

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"case service exited with {self._process.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0, trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"case service did not become healthy in {timeout} s; see {self.log_path}")

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        terminate(process, timeout)

    def __enter__(self) -> CaseServiceProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


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
