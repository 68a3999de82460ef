"""Load benchmark: many applicants open their reply links at once and answer them, without a browser.

    python bench/load.py                          # starts a case service and the built portal
    python bench/load.py --links 100 --concurrency 50
    python bench/load.py --url http://127.0.0.1:8080 --case-service http://127.0.0.1:8100 \\
        --authority-key KEY --pid 1234 --pid 1235  # a running portal (e.g. scripts/cluster)

Each simulated applicant is a fresh phone browser and speaks the portal's protocols as the browser
does: ``GET /r/<token>`` (the prerendered reply page) and the assets that page names, then the
websocket at ``/_event`` (Socket.IO, namespace ``/_event``, the tab's client token in the query,
the hydrate event in the CONNECT packet with the address the head script leaves,
``/reply#t=<token>``), whose load handler opens the link. "Rendered" is the update in which the
reply state's ``phase`` is ``ready`` with the message. Then it answers: the steps, a PDF and a
JPEG (``tests/fixtures/corpus.py``) through ``POST /_upload`` with Reflex's headers, a text, the
declaration, submit; each event's round trip is the time until its effect arrives.

Phase 1 opens ``--links`` links, ``--concurrency`` at a time (all at once when equal); phase 2
answers them, as many at a time. Printed: link openings per second, p50/p95 from the link request
to the request rendered (and its parts), p95 event and upload round trips, and CPU and resident
memory of every process of the portal (``psutil`` if installed, else ``/proc``).

A portal started here trusts one proxy hop, so each applicant speaks from its own address
(``X-Forwarded-For``, documentation range 198.18.0.0/15) and the per-address limits count as they
would in the field. A portal given by ``--url`` must do the same (or have limits above the load):
refused openings are counted and printed. Traffic goes only to the given addresses.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
import socketio  # noqa: E402  (python-socketio's AsyncClient, on aiohttp)

from tests.support import messages  # noqa: E402

# What Reflex names on the wire (reflex/app.py EventNamespace, the built utils/state.js).
EVENT_PATH = "/_event"
UPLOAD_PATH = "/_upload"
ROOT_STATE = "reflex___state____state"
REPLY_STATE = f"{ROOT_STATE}.portal___state___language____language_state.portal___state___reply____reply_state"
SUFFIX = "_rx_state_"
USER_AGENT = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile"
ACCEPT_LANGUAGE = "de-DE,de;q=0.9,en;q=0.8"
# Client addresses for the applicants (RFC 2544's benchmarking range): no traffic goes there.
ADDRESSES = ipaddress.ip_network("198.18.0.0/15")
STEP_TIMEOUT = 60.0
TARGETS = {"openings_per_s": 30.0, "render_p95_s": 1.5, "rss_mb": 300.0}


# ---------------------------------------------------------------- what the built page tells


@dataclass(frozen=True)
class Page:
    """What every applicant's browser reads from the served reply page."""

    assets: tuple[str, ...]
    state_hashes: tuple[str, ...]
    state_schema: str


_ASSET = re.compile(r'(?:href|src)="(/[^"]+\.(?:js|css|ico|png|svg|woff2?))"')
_HASHES = re.compile(r"initialStateHashes\s*=\s*\[([^\]]*)\]")
_SCHEMA = re.compile(r"stateSchema\s*=\s*[`\"']([0-9a-f]+)[`\"']")


async def read_page(http: httpx.AsyncClient, html: str) -> Page:
    """The assets the page names, and the state hashes its hydrate event carries (from the
    module that holds the compiled initial state)."""
    assets = tuple(dict.fromkeys(_ASSET.findall(html)))
    for asset in (a for a in assets if "/context" in a and a.endswith(".js")):
        script = (await http.get(asset)).text
        hashes, schema = _HASHES.search(script), _SCHEMA.search(script)
        if hashes and schema:
            return Page(assets, tuple(re.findall(r"[0-9a-f]{16}", hashes.group(1))), schema.group(1))
    raise SystemExit("the reply page names no module with the initial state's hashes (not a Reflex 0.10 build?)")


# ---------------------------------------------------------------- one applicant


class Failed(Exception):
    pass


@dataclass(frozen=True)
class Upload:
    name: str
    body: bytes
    media_type: str


@dataclass
class Timings:
    render: float = 0.0  # link request → request rendered
    page: float = 0.0  # the HTML
    assets: float = 0.0  # every asset the HTML names, fetched six at a time
    socket: float = 0.0  # websocket open → request rendered (hydrate, link check, request)
    events: list[float] = field(default_factory=list)
    uploads: list[float] = field(default_factory=list)


class Applicant:
    """One phone browser with one reply link: its own address, client token and connections."""

    def __init__(self, base: str, token: str, number: int, page: Page, files: dict[str, Upload]) -> None:
        self.base = base
        self.token = token
        self.page = page
        self.files = files
        self.client_token = str(uuid.uuid4())
        address = str(ADDRESSES[number + 1])
        self.headers = {
            "User-Agent": USER_AGENT,
            "Accept-Language": ACCEPT_LANGUAGE,
            "X-Forwarded-For": address,
        }
        # Made when the applicant starts (aiohttp wants a running loop): six connections per host,
        # as browsers keep, shared with the websocket. aiohttp rather than httpx: with hundreds of
        # connections in one process, httpx's pools stalled for seconds in the client itself.
        self.http: aiohttp.ClientSession | None = None
        self.sio: socketio.AsyncClient | None = None
        self.state: dict[str, Any] = {}
        self.changed = asyncio.Event()
        self.timings = Timings()

    def _session(self) -> aiohttp.ClientSession:
        if self.http is None:
            connector = aiohttp.TCPConnector(limit_per_host=6)
            timeout = aiohttp.ClientTimeout(total=STEP_TIMEOUT)
            self.http = aiohttp.ClientSession(headers=self.headers, connector=connector, timeout=timeout)
        return self.http

    def _socket(self) -> socketio.AsyncClient:
        if self.sio is None:
            self.sio = socketio.AsyncClient(reconnection=False, http_session=self._session())
            self.sio.on("event", self._update, namespace=EVENT_PATH)
        return self.sio

    # -------------------------------------------------------------- the wire

    async def _update(self, update: dict[str, Any]) -> None:
        self._apply(update)

    def _apply(self, update: dict[str, Any]) -> None:
        for name, values in (update.get("delta") or {}).items():
            if name == REPLY_STATE:
                self.state.update({key.removesuffix(SUFFIX): value for key, value in values.items()})
        self.changed.set()
        # Frontend events (scripts: focus, address bar, document language) run in the browser;
        # nothing of them goes back to the server in this flow.

    async def _until(self, done: Callable[[dict[str, Any]], bool], what: str) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while not done(self.state):
            if self.state.get("phase") == "error":
                raise Failed(f"{what}: the page shows the error {self.state.get('error_code')!r}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), deadline - time.monotonic())
            except TimeoutError:
                raise Failed(f"{what}: nothing after {STEP_TIMEOUT:.0f} s") from None

    @staticmethod
    def _router(as_path: str = "/reply") -> dict[str, str]:
        return {"pathname": "/reply", "asPath": as_path}

    async def event(self, handler: str, payload: dict[str, Any], done: Callable[[dict[str, Any]], bool]) -> None:
        """Sends one event as the page does and waits for its effect; records the round trip."""
        body: dict[str, Any] = {"name": f"{REPLY_STATE}.{handler}", "router_data": self._router()}
        if payload:
            body["payload"] = payload
        start = time.perf_counter()
        await self._socket().emit("event", body, namespace=EVENT_PATH)
        await self._until(done, handler)
        self.timings.events.append(time.perf_counter() - start)

    async def upload(self, file: Upload) -> None:
        """``POST /_upload`` as Reflex's upload helper sends it; the answer streams state updates."""
        headers = {
            "Reflex-Client-Token": self.client_token,
            "Reflex-Event-Handler": f"{REPLY_STATE}.upload",
            "Origin": self.base,
        }
        form = aiohttp.FormData()
        form.add_field("files", file.body, filename=file.name, content_type=file.media_type)
        start = time.perf_counter()
        async with self._session().post(self.base + UPLOAD_PATH, data=form, headers=headers) as response:
            if response.status != 200:
                raise Failed(f"upload of {file.name}: HTTP {response.status}")
            async for line in response.content:  # one state update per line
                if line.strip():
                    self._apply(json.loads(line))
        self.timings.uploads.append(time.perf_counter() - start)
        if self.state.get("upload_errors"):
            raise Failed(f"upload of {file.name} refused: {self.state['upload_errors']}")

    # -------------------------------------------------------------- what the applicant does

    async def open(self) -> None:
        """From the link to the request on screen."""
        start = time.perf_counter()
        http = self._session()
        async with http.get(f"{self.base}/r/{self.token}") as response:
            await response.read()
            if response.status != 200:
                raise Failed(f"link: HTTP {response.status}")
        self.timings.page = time.perf_counter() - start
        # A fresh browser fetches what the page names (six connections per host).
        statuses = await asyncio.gather(*(self._fetch(asset) for asset in self.page.assets))
        if bad := [status for status in statuses if status != 200]:
            raise Failed(f"assets: HTTP {bad}")
        connected = time.perf_counter()
        self.timings.assets = connected - start - self.timings.page
        # The head script has put /reply#t=<token> in the address bar; the hydrate event rides in
        # the CONNECT packet and carries it (state.js connect(): bootAuth).
        boot = {
            "event": {
                "name": f"{ROOT_STATE}.hydrate_and_load",
                "payload": {"hashes": list(self.page.state_hashes)},
                "router_data": self._router(f"/reply#t={self.token}"),
            },
            "state_schema": self.page.state_schema,
        }
        ws_headers = {**self.headers, "Origin": self.base}
        await self._socket().connect(
            f"{self.base}?token={self.client_token}",
            headers=ws_headers,
            auth=boot,
            transports=["websocket"],
            namespaces=[EVENT_PATH],
            socketio_path=EVENT_PATH,
            wait_timeout=int(STEP_TIMEOUT),
        )
        await self._until(lambda s: s.get("phase") == "ready" and bool((s.get("msg") or {}).get("subject")), "open")
        now = time.perf_counter()
        self.timings.socket = now - connected
        self.timings.render = now - start

    async def answer(self) -> str:
        """A question with two required documents and an optional one; returns the reference."""
        await self.event("next_step", {}, lambda s: s.get("step") == "item" and s.get("item_index") == 0)
        await self.upload(self.files["pdf"])
        await self.event("next_step", {}, lambda s: s.get("step") == "item" and s.get("item_index") == 1)
        await self.upload(self.files["jpeg"])
        await self.event("next_step", {}, lambda s: s.get("step") == "item" and s.get("item_index") == 2)
        await self.event("next_step", {}, lambda s: s.get("step") == "text")
        text = "Guten Tag, anbei die Unterlagen."
        await self.event("set_text", {"value": text}, lambda s: s.get("text") == text)
        await self.event("next_step", {}, lambda s: s.get("step") == "extras")
        await self.event("next_step", {}, lambda s: s.get("step") == "review")
        await self.event("set_declaration", {"checked": True}, lambda s: s.get("declaration") is True)
        await self.event("submit", {}, lambda s: s.get("step") == "done" and bool(s.get("done_reference")))
        return str(self.state["done_reference"])

    async def _fetch(self, path: str) -> int:
        async with self._session().get(self.base + path) as response:
            await response.read()
            return response.status

    async def close(self) -> None:
        if self.sio is not None and self.sio.connected:
            await self.sio.disconnect()
        if self.http is not None:
            await self.http.close()


# ---------------------------------------------------------------- the portal's processes


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


# ---------------------------------------------------------------- the run


@dataclass
class Target:
    url: str
    case_service: str
    authority_key: str
    pids: list[int]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


async def create_links(target: Target, count: int) -> list[str]:
    """``count`` new messages through the authority API; their tokens."""
    headers = {"Authorization": f"Bearer {target.authority_key}"}
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=target.case_service, headers=headers, timeout=30, trust_env=False) as http:

        async def one(n: int) -> str:
            body = messages.message_in(reference=f"ABH-P-2026-{700000 + n:06d}", applicant=f"Person Nummer{n}")
            async with limit:
                response = await http.post("/api/v1/messages", json=body)
            if response.status_code != 201:
                raise SystemExit(f"the authority API refused a message: {response.status_code} {response.text[:200]}")
            return str(response.json()["reply_link"]).rsplit("/r/", 1)[1]

        return list(await asyncio.gather(*(one(n) for n in range(count))))


async def run_phase(
    applicants: list[Applicant], concurrency: int, work: Callable[[Applicant], Any]
) -> tuple[float, dict[str, int]]:
    """Runs ``work`` for every applicant, ``concurrency`` at a time; wall time and failures."""
    gate = asyncio.Semaphore(concurrency)
    failures: dict[str, int] = {}

    async def one(applicant: Applicant) -> None:
        async with gate:
            try:
                await work(applicant)
            except Exception as exc:  # every failure is counted and printed, none ends the run
                reason = str(exc) if isinstance(exc, Failed) else f"{type(exc).__name__}: {exc}"
                failures[reason[:120]] = failures.get(reason[:120], 0) + 1
                applicant.state["phase"] = "failed"

    start = time.perf_counter()
    await asyncio.gather(*(one(a) for a in applicants))
    return time.perf_counter() - start, failures


async def measure(target: Target, links: int, concurrency: int, folder: Path) -> dict[str, Any]:
    from tests.fixtures.corpus import build_corpus

    corpus = build_corpus(folder / "corpus")
    files = {
        "pdf": Upload("Krankenversicherung.pdf", corpus["blank.pdf"].read_bytes(), "application/pdf"),
        "jpeg": Upload("IMG_0789.jpg", corpus["photo.jpg"].read_bytes(), "image/jpeg"),
    }
    tokens = await create_links(target, links + 1)
    async with httpx.AsyncClient(base_url=target.url, timeout=30) as http:
        page = await read_page(
            http, (await http.get(f"/r/{tokens[-1]}", headers={"X-Forwarded-For": "198.19.255.254"})).text
        )
    # One applicant first, not counted: imports, the sandbox's first fork, connection pools.
    warm = Applicant(target.url, tokens.pop(), links, page, files)
    await warm.open()
    await warm.answer()
    await warm.close()

    load_before = os.getloadavg()[0]
    processes = Processes(target.pids)
    processes.start()
    await asyncio.sleep(1.0)
    idle = processes.snapshot()
    applicants = [Applicant(target.url, token, n, page, files) for n, token in enumerate(tokens)]
    own = time.process_time()
    opened_wall, open_failures = await run_phase(applicants, concurrency, Applicant.open)
    after_open = processes.snapshot()
    own_open = time.process_time() - own
    ready = [a for a in applicants if a.state.get("phase") == "ready"]
    answered_wall, answer_failures = await run_phase(ready, concurrency, Applicant.answer)
    after_answer = processes.snapshot()
    await asyncio.gather(*(a.close() for a in applicants))
    processes.stop()
    return {
        "links": links,
        "concurrency": concurrency,
        "page": page,
        "opened_wall": opened_wall,
        "opened": len(ready),
        "open_failures": open_failures,
        "answered_wall": answered_wall,
        "answered": sum(1 for a in ready if a.state.get("step") == "done"),
        "answer_failures": answer_failures,
        "timings": [a.timings for a in applicants],
        "ready_timings": [a.timings for a in ready],
        "idle": idle,
        "after_open": after_open,
        "after_answer": after_answer,
        "peak": processes.peak,
        "names": {pid: processes.name(pid) for pid in processes.peak},
        "peak_total": processes.peak_total,
        "own_cpu_open": own_open,
        "load_before": load_before,
    }


def report(result: dict[str, Any]) -> None:
    t = result["ready_timings"]
    ms = [x * 1000 for x in (v.render for v in t)]

    def quantiles(values: list[float]) -> str:
        return f"p50 {percentile(values, 50) * 1000:6.0f} ms   p95 {percentile(values, 95) * 1000:6.0f} ms"

    rate = result["opened"] / result["opened_wall"] if result["opened_wall"] else 0.0
    print()
    print(f"links {result['links']}, {result['concurrency']} at a time; page names {len(result['page'].assets)} assets")
    # Others' work on the machine shows in the figures: a busy machine is told, not hidden.
    print(f"machine load average before / after: {result['load_before']:.1f} / {os.getloadavg()[0]:.1f}")
    print(f"opened      {result['opened']:4d} in {result['opened_wall']:6.2f} s = {rate:5.1f} openings/s")
    for reason, n in result["open_failures"].items():
        print(f"  failed {n}x: {reason}")
    print(f"render      {quantiles([x / 1000 for x in ms])}   (link request -> request on screen)")
    print(f"  page      {quantiles([v.page for v in t])}")
    print(f"  assets    {quantiles([v.assets for v in t])}")
    print(f"  socket    {quantiles([v.socket for v in t])}   (connect, hydrate, link check, request)")
    events = [e for v in t for e in v.events]
    uploads = [u for v in t for u in v.uploads]
    print(f"answered    {result['answered']:4d} in {result['answered_wall']:6.2f} s")
    for reason, n in result["answer_failures"].items():
        print(f"  failed {n}x: {reason}")
    print(f"events      {quantiles(events)}   ({len(events)} round trips)")
    print(f"uploads     {quantiles(uploads)}   ({len(uploads)} files)")
    print(f"bench's own CPU while opening: {result['own_cpu_open']:.1f} s")
    idle, opened, answered, peak = result["idle"], result["after_open"], result["after_answer"], result["peak"]
    print()
    print(f"{'process':60s} {'idle MB':>8s} {'peak MB':>8s} {'CPU open':>9s} {'CPU answer':>11s}")
    # Processes that came and went during the run: the sandbox's jobs.
    jobs = [pid for pid in peak if pid not in idle and pid not in answered]
    for pid in sorted(set(peak) - set(jobs)):
        cpu_open = (opened.get(pid, (0, 0))[0] - idle.get(pid, (0, 0))[0]) / result["opened_wall"]
        cpu_answer = (answered.get(pid, (0, 0))[0] - opened.get(pid, (0, 0))[0]) / max(result["answered_wall"], 1e-9)
        idle_mb = idle.get(pid, (0, 0))[1] / 2**20
        print(
            f"{result['names'][pid][:60]:60s} {idle_mb:8.0f} {peak[pid] / 2**20:8.0f} "
            f"{cpu_open * 100:8.0f}% {cpu_answer * 100:10.0f}%"
        )
    if jobs:
        largest_job = max(peak[pid] for pid in jobs) / 2**20
        print(f"{f'short-lived children ({len(jobs)}: sandbox jobs)':60s} {'':8s} {largest_job:8.0f}")
    print(
        f"{'all of them at one moment':60s} {sum(v[1] for v in idle.values()) / 2**20:8.0f} "
        f"{result['peak_total'] / 2**20:8.0f}"
    )
    print()
    render_p95 = percentile([v.render for v in t], 95)
    largest = max((peak[pid] for pid in peak if pid not in jobs), default=0) / 2**20
    for name, value, target, better in (
        ("openings/s", rate, TARGETS["openings_per_s"], "≥"),
        ("render p95 s", render_p95, TARGETS["render_p95_s"], "≤"),
        ("largest process RSS MB", largest, TARGETS["rss_mb"], "≤"),
    ):
        ok = value >= target if better == "≥" else value <= target
        print(f"target {name} {better} {target:g}: {value:.2f} {'met' if ok else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=100, help="links opened and answered (default 100)")
    parser.add_argument("--concurrency", type=int, default=50, help="applicants at a time (default 50)")
    parser.add_argument("--url", help="a running portal's public address (default: start one here)")
    parser.add_argument("--case-service", help="with --url: the case service's address")
    parser.add_argument("--authority-key", help="with --url: an authority's API key (abh-potsdam)")
    parser.add_argument("--pid", type=int, action="append", default=[], help="with --url: a portal process to watch")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the portal started here")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose portal is started (default: this)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        folder = Path(tmp)
        if args.url:
            if not (args.case_service and args.authority_key):
                parser.error("--url needs --case-service and --authority-key")
            target = Target(args.url.rstrip("/"), args.case_service.rstrip("/"), args.authority_key, args.pid)
            result = asyncio.run(measure(target, args.links, args.concurrency, folder))
        else:
            result = run_here(args, folder)
    report(result)


def run_here(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from tests.support.case_service import run_case_service
    from tests.support.portal_process import PortalProcess

    case_service = run_case_service(folder / "casesvc")
    extra = dict(item.split("=", 1) for item in args.env)
    portal = PortalProcess(
        data_dir=folder / "portal",
        case_service_url=case_service.url,
        case_service_key=case_service.portal_key,
        # The bench stands in for a proxy that appends each applicant's address.
        extra_env={"PORTAL_TRUSTED_PROXY_HOPS": "1", **extra},
        cwd=args.tree.resolve(),
    )
    print("building and starting the portal ...", flush=True)
    portal.start()
    try:
        assert portal.pid is not None
        # The case service is watched too: it shares the machine with the portal.
        pids = [portal.pid, case_service.pid] if case_service.pid else [portal.pid]
        target = Target(portal.url, case_service.url, case_service.authority_keys["abh-potsdam"], pids)
        return asyncio.run(measure(target, args.links, args.concurrency, folder))
    finally:
        portal.stop()
        case_service.stop()


if __name__ == "__main__":
    main()
