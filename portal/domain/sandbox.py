"""Run parsers of untrusted files in child processes with hard limits on memory, CPU and time.

Why: a 1 MB upload can inflate to gigabytes inside a PDF renderer or an image decoder (a
decompression bomb), or keep a decoder busy for minutes. Limits inside the libraries cover only
what their authors thought of; a process limit covers everything, including C code. So every
parse, render and re-encode of an upload runs as a *job* in a child process that the kernel
stops at its limits, and the portal's own process never holds a decoded upload.

How: a fork server. The first job starts ``python -m portal.domain.sandbox`` (the *server*: a
fresh interpreter with a minimal environment, so no secret of the portal's is in it), which
imports the parsing libraries once (Pillow with pillow-heif, pypdf, PDFium, libmagic; the
registry :data:`JOBS_MODULE`) and then forks one child per job. Forking a prepared server costs a
few milliseconds; starting an interpreter and importing those libraries costs about a second.

Each child, before it reads its request:

* ``RLIMIT_AS``: its address space may grow by at most ``Limits.sandbox_memory_bytes`` over the
  server's (allocations beyond fail: MemoryError in Python, an abort in C code);
* ``RLIMIT_CPU``: ``Limits.sandbox_seconds`` of CPU time (SIGXCPU, then SIGKILL);
* ``RLIMIT_FSIZE``: it writes no file larger than four times ``Limits.max_file_bytes`` (the
  write fails; a normalised image or sanitised PDF is near its original's size);
* ``RLIMIT_CORE`` 0: a crash never writes a core file with an applicant's document in it.

The server kills a child that runs longer than ``Limits.sandbox_seconds`` of wall-clock time
(a decoder blocked or sleeping uses no CPU), reaps it and appends its verdict (exit status or
signal, peak resident memory) to the job's socket. Jobs talk JSON, never pickle: a child that a
hostile file took over can send nothing but data, which the caller checks.

Callers use :func:`run`. At most ``Limits.sandbox_jobs`` jobs run at once per portal process
(the rest wait), so the memory the sandbox can take is bounded by jobs x memory. A job that is
killed, crashes or answers nonsense is refused with ``IntakeError("file_too_complex")``; a job's
own refusal (``IntakeError`` in the child) is raised again in the caller with its code and
parameters. Logs name the job and the reason, never the file.
"""

from __future__ import annotations

import atexit
import errno
import gc
import importlib
import json
import logging
import math
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal.domain.errors import IntakeError
from portal.domain.limits import Limits

__all__ = ["JOBS_MODULE", "Usage", "recent_usage", "run", "start", "stop"]

logger = logging.getLogger(__name__)

# The module whose ``JOBS`` (name -> function of the JSON arguments) the server offers; its
# ``preload()``, if any, runs once in the server before the first fork.
JOBS_MODULE = "portal.domain.jobs"
Job = Callable[[dict[str, Any]], Any]

_ROOT = Path(__file__).resolve().parents[2]
_REFUSED = "file_too_complex"
_MAX_REQUEST = 1 << 20
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
    lines = raw.split(b"\n")
    try:
        end = json.loads(lines[-2])  # the server's line; the child's answer, if any, before it
        answer = json.loads(lines[-3]) if len(lines) >= 3 else {}
        status, peak = str(end["status"]), int(end["peak"])
    except (ValueError, KeyError, TypeError, IndexError):
        status, answer, peak = "no answer", {}, 0
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
        return _read_all(ours, _MAX_REPLY, deadline)


def _read_all(sock: socket.socket, cap: int, deadline: float | None = None) -> bytes:
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
        code = f"import sys; sys.path.insert(0, {str(_ROOT)!r}); from portal.domain.sandbox import serve; serve()"
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


# ---------------------------------------------------------------- the server (its own process)


@dataclass(slots=True)
class _Child:
    sock: socket.socket
    deadline: float
    killed: bool = False


def serve() -> None:
    """The server's main loop: fork a limited child per job, kill the late ones, report each end."""
    control = socket.socket(fileno=int(sys.argv[1]))
    module = importlib.import_module(JOBS_MODULE)
    getattr(module, "preload", lambda: None)()
    jobs: Mapping[str, Job] = module.JOBS
    # Objects that exist now are never collected: the children's collector then does not write to
    # (and so copy) every page of the server's heap it inherited.
    gc.freeze()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)  # wakes select through wake_w
    running: dict[int, _Child] = {}
    control.sendall(b"ready")
    try:
        while True:
            now = time.monotonic()
            timeout = max(min(c.deadline for c in running.values()) - now, 0) if running else None
            readable, _, _ = select.select([control.fileno(), wake_r], [], [], timeout)
            if wake_r in readable:
                _drain(wake_r)
            if control.fileno() in readable and not _accept(control, jobs, running):
                break
            _reap(running)
            now = time.monotonic()
            for pid, child in running.items():
                if not child.killed and now >= child.deadline:
                    os.kill(pid, signal.SIGKILL)
                    child.killed = True
    finally:
        for pid in running:
            os.kill(pid, signal.SIGKILL)


def _drain(fd: int) -> None:
    try:
        while len(os.read(fd, 512)) == 512:  # which signals woke us does not matter
            pass
    except BlockingIOError:
        pass


def _accept(control: socket.socket, jobs: Mapping[str, Job], running: dict[int, _Child]) -> bool:
    message, fds, _flags, _addr = socket.recv_fds(control, 4096, 1)
    if not message:
        return False  # the portal closed the control socket: it is gone or shutting down
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        return True
    sock = socket.socket(fileno=fds[0])
    budget = json.loads(message)
    try:
        pid = os.fork()
    except OSError:
        sock.close()  # the caller reads end-of-file without a verdict and refuses the file
        return True
    if pid == 0:
        _child(sock, budget, jobs)  # never returns
    running[pid] = _Child(sock, time.monotonic() + float(budget["seconds"]))
    return True


def _reap(running: dict[int, _Child]) -> None:
    while running:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        child = running.pop(pid, None)
        if child is None:
            continue
        if child.killed:
            outcome = "killed"
        elif os.WIFSIGNALED(status):
            outcome = f"signal {os.WTERMSIG(status)}"
        else:
            outcome = f"exit {os.waitstatus_to_exitcode(status)}"
        end = {"status": outcome, "peak": usage.ru_maxrss * 1024}  # ru_maxrss is in KiB on Linux
        try:
            child.sock.sendall(json.dumps(end).encode() + b"\n")
        except OSError:
            pass  # the caller gave up waiting
        child.sock.close()


def _statm(field: int) -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[field]) * resource.getpagesize()


def _child(sock: socket.socket, budget: dict[str, Any], jobs: Mapping[str, Job]) -> None:
    answer: dict[str, Any]
    try:
        # Only the job's socket stays open: the control socket, the wake-up pipe and other
        # jobs' sockets would otherwise stay open here and hide those jobs' ends.
        os.closerange(3, sock.fileno())
        os.closerange(sock.fileno() + 1, os.sysconf("SC_OPEN_MAX"))
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)  # library warnings about hostile files are not the portal's log
        _limit(budget)
        request = json.loads(_read_all(sock, _MAX_REQUEST))
        answer = {"ok": jobs[request["job"]](request["args"])}
    except BaseException as exc:  # whatever the parser raised becomes an answer
        answer = _failure(exc)
    try:
        sock.sendall(json.dumps(answer).encode() + b"\n")
    finally:
        os._exit(0)  # no atexit handlers or finalisers inherited from the server


# In a child: its address space when forked, and the most it may reach.
_memory_floor, _memory_ceiling = 0, 0


def _limit(budget: dict[str, Any]) -> None:
    global _memory_floor, _memory_ceiling
    _memory_floor = _statm(0)
    memory = _memory_ceiling = _memory_floor + int(budget["memory"])
    cpu = max(math.ceil(float(budget["seconds"])), 1)
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(budget["fsize"]), int(budget["fsize"])))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _failure(exc: BaseException) -> dict[str, Any]:
    # A parser that ran out of memory, or a writer stopped by RLIMIT_FSIZE (Python ignores
    # SIGXFSZ, so the write fails with EFBIG), raises whatever its authors chose; the refusal it
    # became (image_broken, pdf_broken) would tell the applicant the wrong thing.
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, MemoryError):
            return {"fault": "memory"}
        if isinstance(cause, OSError) and cause.errno == errno.EFBIG:
            return {"fault": "file size"}
        cause = cause.__cause__ or cause.__context__
    if _memory_exhausted():
        # C libraries report a failed allocation as a broken stream (libjpeg's "Insufficient
        # memory" is Pillow's "broken data stream"; libde265's is "did not give a decompressed
        # image"): a job that failed after using most of its memory is taken to have run out.
        return {"fault": "memory"}
    if not isinstance(exc, IntakeError):
        return {"fault": "error"}
    params = {k: v for k, v in exc.params.items() if isinstance(v, str | int | float)}
    return {"refused": exc.code, "params": params}


def _memory_exhausted() -> bool:
    if not _memory_ceiling:
        return False
    with open("/proc/self/status") as fh:
        peak = next((int(line.split()[1]) * 1024 for line in fh if line.startswith("VmPeak:")), 0)
    return peak - _memory_floor > (_memory_ceiling - _memory_floor) * 3 // 4
