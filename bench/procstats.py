"""CPU time and resident memory of a set of processes and their children, for ``bench/load.py``
(``psutil`` if installed, else ``/proc``)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


class Processes:
    """CPU time and resident memory of a set of processes and their children, sampled in a thread."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self.peak_total = 0  # the largest sum over all processes at one moment
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def tree(self) -> list[int]:
        found: list[int] = []
        todo = list(self.pids)
        while todo:
            pid = todo.pop()
            if pid in found or not Path(f"/proc/{pid}").exists():
                continue
            found.append(pid)
            try:  # a process may end while it is looked at
                for task in Path(f"/proc/{pid}/task").glob("*/children"):
                    todo += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
        return sorted(found)

    @staticmethod
    def cpu_seconds(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    @staticmethod
    def rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    @staticmethod
    def _read(pid: int) -> tuple[list[str], int]:
        """A process's arguments and its parent's pid."""
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return ["?"], 0
        return [a for a in args if a], parent

    def name(self, pid: int) -> str:
        """What a process is: a watched one, a worker it started, the sandbox's server or a job."""
        if pid not in self.names:
            args, parent = self._read(pid)
            text = " ".join(args)
            if "sandbox_server" in text:
                job = "sandbox_server" in " ".join(self._read(parent)[0])
                self.names[pid] = "sandbox job" if job else "sandbox fork server"
            elif args:
                program = Path(args[1] if len(args) > 1 and "python" in args[0] else args[0]).name
                role = "watched" if pid in self.pids else f"child of {parent}"
                self.names[pid] = f"{program} {' '.join(args[2:4])} (pid {pid}, {role})"
            else:
                self.names[pid] = f"(pid {pid}, gone)"
        return self.names[pid]

    def snapshot(self) -> dict[int, tuple[float, int]]:
        """CPU seconds and RSS bytes of each process now."""
        return {pid: (self.cpu_seconds(pid), self.rss(pid)) for pid in self.tree()}

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            now = self.snapshot()
            self.peak_total = max(self.peak_total, sum(rss for _, rss in now.values()))
            for pid, (_, rss) in now.items():
                self.peak[pid] = max(self.peak.get(pid, 0), rss)
                self.name(pid)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


try:  # psutil reads the same numbers more portably when it is installed.
    import psutil

    def _cpu(pid: int) -> float:
        try:
            times = psutil.Process(pid).cpu_times()
            return float(times.user + times.system)
        except psutil.Error:
            return 0.0

    def _rss(pid: int) -> int:
        try:
            return int(psutil.Process(pid).memory_info().rss)
        except psutil.Error:
            return 0

    Processes.cpu_seconds = staticmethod(_cpu)  # type: ignore[method-assign]
    Processes.rss = staticmethod(_rss)  # type: ignore[method-assign]
except ImportError:
    pass
