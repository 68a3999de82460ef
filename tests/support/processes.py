"""The processes tests start, through one harness.

:class:`ServerProcess` is every server a test runs (the case service, clamd, the built portal): it
starts the command with its output in a log file, waits until the server says it is ready, stops
it politely and then firmly, and shows the log's end when something goes wrong. A server module
(``case_service``, ``clamd``, ``portal_process``) says only what to run and how to ask "ready?".

:func:`run_module` and :func:`run_portal_command` run a one-off ``python -m`` command as an
operator would; :func:`wait_until` waits on a condition outside the browser.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], T], what: str, timeout: float = 30.0, interval: float = 0.1) -> T:
    """Ask ``condition`` until it gives something true and return that; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s in vain for {what}")
        time.sleep(interval)


class ServerProcess:
    """A server for the tests. Subclasses name it, give its command, environment and log file,
    and answer :meth:`is_ready`; ``start()`` returns once it is ready, ``stop()`` ends it."""

    name = "server"
    start_timeout = 30.0
    stop_timeout = 10.0
    poll_interval = 0.1
    # A server that starts children of its own (``reflex run`` starts node) is stopped as a group.
    own_session = False
    cwd: Path = ROOT
    _process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def is_ready(self) -> bool:
        raise NotImplementedError

    def prepare(self) -> None:
        """Called before each start: write configuration, make folders."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start (or start again, with the same port and data) and wait until it is ready."""
        if self.running:
            return
        self.prepare()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                cwd=self.cwd,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=self.own_session,
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code, self._process = self._process.returncode, None
                raise RuntimeError(
                    f"{self.name} exited with {code} while starting; {self.log_path}:\n{self.log_tail()}"
                )
            if self.is_ready():
                return
            time.sleep(self.poll_interval)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready within {self.start_timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM, wait, SIGKILL if it would not go; a server already gone is fine."""
        process, self._process = self._process, None
        if process is None:
            return
        # Signalled even when it has exited already: children in its session may still run.
        self._signal(process, signal.SIGTERM)
        try:
            process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            self._signal(process, signal.SIGKILL)
            process.wait(self.stop_timeout)

    def kill(self) -> None:
        """SIGKILL, to it and (with ``own_session``) every child: a crash, nothing cleaned up."""
        process, self._process = self._process, None
        if process is not None:
            self._signal(process, signal.SIGKILL)
            process.wait(self.stop_timeout)

    def _signal(self, process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        try:
            if self.own_session:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)
        except ProcessLookupError:
            pass

    def log_paths(self) -> list[Path]:
        return [self.log_path]

    def log_tail(self, lines: int = 40) -> str:
        texts = [path.read_text(errors="replace") for path in self.log_paths() if path.exists()]
        return "\n".join("\n".join(texts).splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def run_module(*args: str, env: Mapping[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m <args>`` from the repository with exactly ``env``; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(env),
        timeout=60,
        check=False,
    )


def run_portal_command(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """A portal command with only ``PORTAL_DATA_DIR`` of the portal's settings set (hermetic)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env["PORTAL_DATA_DIR"] = str(data_dir)
    return run_module(*args, env=env, stdin=stdin)
