"""Stopping the servers the tests start (case service, clamd): politely, then firmly."""

from __future__ import annotations

import subprocess


def terminate(process: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """SIGTERM, wait, SIGKILL if it would not go; a process already gone is fine."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)
