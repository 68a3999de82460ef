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

The applicant's protocol is ``bench/load_client.py``, the process sampler ``bench/procstats.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.load_client import Applicant, Failed, Upload, read_page  # noqa: E402
from bench.procstats import Processes  # noqa: E402
from tests.support import messages  # noqa: E402

TARGETS = {"openings_per_s": 30.0, "render_p95_s": 1.5, "rss_mb": 300.0}


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
