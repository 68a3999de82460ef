"""Run parsers of untrusted files in child processes with hard limits on memory, CPU and time.

Why: a 1 MB upload can inflate to gigabytes inside a PDF renderer or an image decoder (a
decompression bomb), or keep a decoder busy for minutes. Limits inside the libraries cover only
what their authors thought of; a process limit covers everything, including C code. So every
parse, render and re-encode of an upload runs as a *job* in a child process that the kernel
stops at its limits, and the portal's own process never holds a decoded upload.

How: a fork server. The first job starts the *server* (:mod:`portal.intake.sandbox_server` in
a fresh, isolated interpreter with a minimal environment, so no secret of the portal's is in
it), which imports the parsing libraries once (Pillow with pillow-heif, pypdf, PDFium, libmagic:
the job registry :mod:`portal.intake.jobs`) and then forks one child per job. Forking the
prepared server costs about 10 ms; starting an interpreter and importing those libraries costs
about a second.

Each child, before it reads its request:

* ``RLIMIT_AS``: its address space may grow by at most ``Limits.sandbox_memory_bytes`` over the
  server's (allocations beyond fail: MemoryError in Python, an abort in C code);
* ``RLIMIT_CPU``: ``Limits.sandbox_seconds`` of CPU time (SIGXCPU, then SIGKILL);
* ``RLIMIT_FSIZE``: it writes no file larger than four times ``Limits.max_file_bytes`` (the
  write fails with EFBIG; a normalised image or sanitised PDF is near its original's size);
* ``RLIMIT_CORE`` 0: a crash never writes a core file with an applicant's document in it.

The server kills a child that runs longer than ``Limits.sandbox_seconds`` of wall-clock time
(a decoder blocked or sleeping uses no CPU), reaps it and appends its verdict (exit status or
signal, peak resident memory) to the job's socket. Jobs talk JSON, never pickle: a child that a
hostile file took over can send nothing but data, which the caller checks. This module is the
portal's side.

Callers use :func:`run`. At most ``Limits.sandbox_jobs`` jobs run at once per portal process
(the rest wait), so the memory the sandbox can take is bounded by jobs x memory. A job that is
killed, crashes or answers nonsense is refused with ``IntakeError("file_too_complex")``; a job's
own refusal (``IntakeError`` in the child) is raised again in the caller with its code and
parameters. Logs name the job and the reason, never the file.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal.domain.errors import IntakeError
from portal.intake.limits import Limits

__all__ = ["Usage", "read_all", "recent_usage", "run", "start", "stop"]

logger = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parents[2]
_REFUSED = "file_too_complex"
_MAX_REPLY = 1 << 20  # the largest answer is a thumbnail (<= 30 kB, base64)
_GRACE = 5.0  # beyond the server's own kill: only a wedged server takes the caller this long
_START_TIMEOUT = 60.0
# The environment the server gets: the interpreter needs no more, and the portal's secrets
# (case service key, database URL) stay out of processes that parse hostile files.
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "MAGIC")


@dataclass(frozen=True, slots=True)
class Usage:
    """What one job cost: for benchmarks, tests and the debug log."""

    job: str
    outcome: str  # ok, refused, killed (time), signal <n>, exit <n>, memory, error, no answer
    seconds: float
    # The child's peak resident set (ru_maxrss): what it allocated, plus the pages of the
    # server's it touched (shared with the server, so this overstates what the job added).
    peak_bytes: int


_usage: deque[Usage] = deque(maxlen=256)


def recent_usage() -> list[Usage]:
    """The last jobs' costs, oldest first."""
    return list(_usage)


# ---------------------------------------------------------------- the caller's side


def run(job: str, args: Mapping[str, Any], limits: Limits) -> Any:
    """Run ``job`` with ``args`` in a fresh child under ``limits``; its JSON answer. Blocking."""
    budget = {
        "memory": limits.sandbox_memory_bytes,
        "seconds": limits.sandbox_seconds,
        "fsize": 4 * limits.max_file_bytes,
    }
    request = json.dumps({"job": job, "args": args}).encode()
    with _slots(limits.sandbox_jobs):
        started = time.monotonic()
        try:
            raw = _exchange(json.dumps(budget).encode(), request, limits.sandbox_seconds + _GRACE)
        except (OSError, TimeoutError) as exc:
            logger.warning("sandbox job %s got no answer: %s", job, type(exc).__name__)
            _usage.append(Usage(job, "no answer", time.monotonic() - started, 0))
            raise IntakeError(_REFUSED) from exc
    return _verdict(job, raw, time.monotonic() - started)


def _verdict(job: str, raw: bytes, seconds: float) -> Any:
    # The server's line comes last; before it, the child's answer if it wrote one.
    lines = raw.split(b"\n")
    try:
        end = json.loads(lines[-2])
        status, peak = str(end["status"]), int(end["peak"])
    except (ValueError, KeyError, TypeError, IndexError):
        status, peak = "no answer", 0
    try:
        answer = json.loads(lines[-3]) if len(lines) >= 3 else {}
    except ValueError:
        answer = {}  # cut off when the child was killed while writing
    if status == "exit 0" and isinstance(answer, dict) and answer:
        if "ok" in answer:
            _usage.append(Usage(job, "ok", seconds, peak))
            return answer["ok"]
        if isinstance(answer.get("refused"), str):
            _usage.append(Usage(job, "refused", seconds, peak))
            params = answer.get("params")
            raise IntakeError(answer["refused"], **(params if isinstance(params, dict) else {}))
        status = str(answer.get("fault", "error"))
    _usage.append(Usage(job, status, seconds, peak))
    logger.warning("sandbox job %s stopped: %s after %.1f s, peak %d MB", job, status, seconds, peak // 10**6)
    raise IntakeError(_REFUSED)


_slot_lock = threading.Lock()
_slot_map: dict[int, threading.BoundedSemaphore] = {}


def _slots(count: int) -> threading.BoundedSemaphore:
    with _slot_lock:
        return _slot_map.setdefault(count, threading.BoundedSemaphore(count))


def _exchange(budget: bytes, request: bytes, timeout: float) -> bytes:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours:
        try:
            try:
                _server().submit(budget, theirs)
            except OSError:
                # The server died since it was last seen alive: _server() starts a new one.
                _server().submit(budget, theirs)
        finally:
            theirs.close()
        deadline = time.monotonic() + timeout
        ours.settimeout(timeout)
        ours.sendall(request)
        ours.shutdown(socket.SHUT_WR)
        return read_all(ours, _MAX_REPLY, deadline)


def read_all(sock: socket.socket, cap: int, deadline: float | None = None) -> bytes:
    """Everything ``sock`` sends until end-of-file; OSError past ``cap`` bytes or ``deadline``."""
    parts: list[bytes] = []
    size = 0
    while True:
        if deadline is not None:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
        part = sock.recv(65536)
        if not part:
            return b"".join(parts)
        size += len(part)
        if size > cap:
            raise OSError("answer too long")
        parts.append(part)


class _Server:
    """The fork server process and the control socket to it (datagrams: one fd per job)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {key: os.environ[key] for key in _ENV_KEEP if key in os.environ}
        # glibc reserves 64 MiB of address space per malloc arena, and libheif decodes on several
        # threads: without a cap on arenas, RLIMIT_AS would count reservations, not use.
        env["MALLOC_ARENA_MAX"] = "2"
        code = f"import sys; sys.path.insert(0, {str(_ROOT)!r}); import portal.intake.sandbox_server as s; s.serve()"
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-c", code, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                env=env,
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        self.control = ours
        self.control.settimeout(_START_TIMEOUT)
        try:
            ready = self.control.recv(16)
        except OSError:
            ready = b""
        if ready != b"ready":
            self.close()
            raise OSError("the sandbox server did not start")
        self.control.settimeout(None)
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.pid == os.getpid() and self.process.poll() is None

    def submit(self, budget: bytes, job_socket: socket.socket) -> None:
        with self.lock:
            socket.send_fds(self.control, [budget], [job_socket.fileno()])

    def close(self) -> None:
        self.control.close()  # the server sees end-of-file, kills its children and exits
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_server_lock = threading.Lock()
_current: _Server | None = None


def _server() -> _Server:
    global _current
    with _server_lock:
        if _current is None or not _current.alive():
            if _current is not None and _current.pid == os.getpid():
                _current.close()
            _current = _Server()
        return _current


def start() -> None:
    """Start the server now rather than on the first upload (it takes about a second)."""
    _server()


@atexit.register
def stop() -> None:
    """Stop the server (it would stop by itself when this process ends)."""
    global _current
    with _server_lock:
        if _current is not None and _current.pid == os.getpid():
            _current.close()
        _current = None
