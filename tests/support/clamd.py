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
import tempfile
import time
from pathlib import Path

from tests.support.processes import ServerProcess, free_port

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


class ClamdProcess(ServerProcess):
    name = "clamd"
    start_timeout = 15.0
    poll_interval = 0.02

    def __init__(self, work_dir: Path, *, stream_max_length: str = "30M", port: int | None = None) -> None:
        self.work_dir = work_dir
        self.db_dir = work_dir / "db"
        self.config_path = work_dir / "clamd.conf"
        socket_path = work_dir / "clamd.ctl"
        if len(str(socket_path)) > 100:  # sun_path holds 108 bytes
            socket_path = Path(tempfile.mkdtemp(prefix="clamd-")) / "clamd.ctl"
        self.socket_path = socket_path
        self.port = port or free_port()
        self.stream_max_length = stream_max_length
        self.started_in: float | None = None  # seconds from spawn to the first PONG
        self._began = 0.0

    @property
    def unix_address(self) -> str:
        return f"unix:{self.socket_path}"

    @property
    def tcp_address(self) -> str:
        return f"tcp:127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """What clamd writes to its console; its own log (``clamd_log``) has the scan results."""
        return self.work_dir / "clamd.out"

    @property
    def clamd_log(self) -> Path:
        return self.work_dir / "clamd.log"

    def log_paths(self) -> list[Path]:
        return [self.log_path, self.clamd_log]

    def command(self) -> list[str]:
        return [str(find_clamd()), f"--config-file={self.config_path}"]

    def prepare(self) -> None:
        find_clamd()
        self.work_dir.mkdir(parents=True, exist_ok=True)
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
            "LogFile": str(self.clamd_log),
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
        self._began = time.monotonic()

    def is_ready(self) -> bool:
        if not raw_ping(self.socket_path):
            return False
        self.started_in = time.monotonic() - self._began
        return True


def run_clamd(work_dir: Path, *, stream_max_length: str = "30M", port: int | None = None) -> ClamdProcess:
    """A started clamd in ``work_dir``; stop it with ``stop()`` or use it as a context manager."""
    clamd = ClamdProcess(work_dir, stream_max_length=stream_max_length, port=port)
    clamd.start()
    return clamd
