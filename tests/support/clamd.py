"""Run a real ClamAV daemon (Debian's clamav-daemon) with a tiny signature database of our own.

No virus database is downloaded, freshclam never runs: the database holds one body signature for
the EICAR test file, which this module builds from parts so the repository never contains it.

    clamd = run_clamd(tmp_path)                  # started, PING answered (~0.2 s)
    clamd.unix_address, clamd.tcp_address       # "unix:/.../clamd.ctl", "tcp:127.0.0.1:<port>"
    env["PORTAL_CLAMD_ADDRESS"] = clamd.unix_address
    clamd.stop(); clamd.start()                  # same socket, port and database
    with run_clamd(tmp_path, stream_max_length="1M") as clamd: ...
    eicar() -> bytes                             # the EICAR test file's content (68 bytes)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tests.support.case_service import free_port
from tests.support.processes import terminate

CLAMD = Path("/usr/sbin/clamd")
MISSING = f"clamd not found at {CLAMD}: install clamav-daemon (scripts/setup --test does)"
SIGNATURE = "Eicar-Test-Signature"
# clamd marks signatures from databases that are not ClamAV's signed ones.
DETECTED_AS = f"{SIGNATURE}.UNOFFICIAL"


class ClamdMissing(RuntimeError):
    pass


def eicar() -> bytes:
    """The EICAR anti-virus test file, assembled here so no file of the repository contains it."""
    head = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$"
    middle = b"-".join([b"EICAR", b"STANDARD", b"ANTIVIRUS", b"TEST", b"FILE"])
    return head + middle + b"!$H+H*"


def find_clamd() -> Path:
    found = CLAMD if CLAMD.exists() else (Path(p) if (p := shutil.which("clamd")) else None)
    if found is None:
        raise ClamdMissing(MISSING)
    return found


def write_database(db_dir: Path) -> None:
    """One body signature (.ndb: name:target:offset:hex): EICAR anywhere in any file."""
    db_dir.mkdir(parents=True, exist_ok=True)
    (db_dir / "portal-test.ndb").write_text(f"{SIGNATURE}:0:*:{eicar().hex()}\n")


def raw_ping(socket_path: Path, timeout: float = 0.5) -> bool:
    """PING over the local socket without the portal's client (so the fixture tests nothing)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(socket_path))
            sock.sendall(b"zPING\0")
            return sock.recv(16) == b"PONG\0"
    except OSError:
        return False


class ClamdProcess:
    def __init__(self, work_dir: Path, *, stream_max_length: str = "30M", port: int | None = None) -> None:
        self.work_dir = work_dir
        self.db_dir = work_dir / "db"
        self.config_path = work_dir / "clamd.conf"
        self.log_path = work_dir / "clamd.log"
        socket_path = work_dir / "clamd.ctl"
        if len(str(socket_path)) > 100:  # sun_path holds 108 bytes
            socket_path = Path(tempfile.mkdtemp(prefix="clamd-")) / "clamd.ctl"
        self.socket_path = socket_path
        self.port = port or free_port()
        self.stream_max_length = stream_max_length
        self.started_in: float | None = None  # seconds from spawn to the first PONG
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def unix_address(self) -> str:
        return f"unix:{self.socket_path}"

    @property
    def tcp_address(self) -> str:
        return f"tcp:127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _write_config(self) -> None:
        write_database(self.db_dir)
        tmp = self.work_dir / "tmp"
        tmp.mkdir(exist_ok=True)
        lines = {
            "LocalSocket": str(self.socket_path),
            "FixStaleSocket": "yes",
            "TCPSocket": str(self.port),
            "TCPAddr": "127.0.0.1",
            "DatabaseDirectory": str(self.db_dir),
            "TemporaryDirectory": str(tmp),
            "PidFile": str(self.work_dir / "clamd.pid"),
            "LogFile": str(self.log_path),
            "LogTime": "yes",
            "Foreground": "yes",
            "StreamMaxLength": self.stream_max_length,
            "SelfCheck": "3600",
        }
        # Without User clamd keeps the user that started it; naming root keeps a root run explicit
        # (a non-root user cannot switch users, so User stays out then).
        if os.geteuid() == 0:
            lines["User"] = "root"
        self.config_path.write_text("".join(f"{key} {value}\n" for key, value in lines.items()))

    def start(self, timeout: float = 15.0) -> None:
        if self.running:
            return
        clamd = find_clamd()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        began = time.monotonic()
        with (self.work_dir / "clamd.out").open("ab") as out:
            self._process = subprocess.Popen(
                [str(clamd), f"--config-file={self.config_path}"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        while time.monotonic() - began < timeout:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise RuntimeError(f"clamd exited with {code}: {self._tail()}")
            if raw_ping(self.socket_path):
                self.started_in = time.monotonic() - began
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"clamd did not answer PING within {timeout} s: {self._tail()}")

    def _tail(self) -> str:
        texts = [p.read_text(errors="replace") for p in (self.work_dir / "clamd.out", self.log_path) if p.exists()]
        return "\n".join(texts)[-2000:]

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        terminate(process, timeout)

    def __enter__(self) -> ClamdProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def run_clamd(work_dir: Path, *, stream_max_length: str = "30M", port: int | None = None) -> ClamdProcess:
    """A started clamd in ``work_dir``; stop it with ``stop()`` or use it as a context manager."""
    clamd = ClamdProcess(work_dir, stream_max_length=stream_max_length, port=port)
    clamd.start()
    return clamd
