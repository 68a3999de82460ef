"""The sandbox's fork server and its children (see :mod:`portal.intake.sandbox` for why and how).

Started by the portal as ``python -I -c "...serve()" <fd>`` with the control socket on ``fd``:
:func:`serve` imports :data:`JOBS_MODULE`, calls its ``preload()``, then forks one child per
job it receives (a datagram with the job's limits and the job's socket). A child sets its
limits, reads the request from its socket, runs ``JOBS[name](args)`` and answers one JSON line;
the server kills it at its deadline, reaps it and adds its own line (exit status or signal, peak
resident memory). Runs in its own process only; the portal never imports it.
"""

from __future__ import annotations

import errno
import gc
import importlib
import json
import math
import os
import resource
import select
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from portal.domain.errors import IntakeError
from portal.intake.sandbox import read_all

__all__ = ["JOBS_MODULE", "serve"]

# The module whose ``JOBS`` (name -> function of the JSON arguments) the server offers; its
# ``preload()``, if any, runs once in the server before the first fork.
JOBS_MODULE = "portal.intake.jobs"
Job = Callable[[dict[str, Any]], Any]
_MAX_REQUEST = 1 << 20


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
    """Field ``field`` of /proc/self/statm (0: address space, 1: resident set), in bytes."""
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
        request = json.loads(read_all(sock, _MAX_REQUEST))
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
    # The server kills a late child; should the server be gone, SIGALRM (default: terminate)
    # still ends it, a little later.
    signal.alarm(cpu + 5)


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
