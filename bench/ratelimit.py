"""Rate limit benchmark: what one check costs in front of a link opening.

    python bench/ratelimit.py                 # SQLite in a temporary folder
    python bench/ratelimit.py --postgres URL  # and PostgreSQL (e.g. postgresql+psycopg://postgres@127.0.0.1/test)

Times ``RateLimiter.hit`` as the guard calls it for a link opening (two counters: the address and
the link, one transaction), from one thread and from eight at once (several requests counting
at the same time, as in a flood), and the guard's whole refusal path over ASGI (counting, the
translated 429 page, the headers). Prints median and 95th percentile in microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.protection.ratelimit import PortalRules, RateLimiter  # noqa: E402
from portal.settings import PortalSettings  # noqa: E402

RUNS = 2000


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e6, ordered[int(len(ordered) * 0.95)] * 1e6


def _sequential(limiter: RateLimiter, rules: PortalRules) -> list[float]:
    samples = []
    for i in range(RUNS):
        checks = [(rules.link_open_address, f"198.51.100.{i % 200}"), (rules.link_open_link, f"link-{i % 50}")]
        start = time.perf_counter()
        limiter.hit(checks)
        samples.append(time.perf_counter() - start)
    return samples


def _parallel(limiter: RateLimiter, rules: PortalRules, threads: int = 8) -> list[float]:
    samples: list[float] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        mine = []
        for i in range(RUNS // threads):
            checks = [(rules.link_open_address, f"203.0.113.{n}"), (rules.link_open_link, f"link-{i % 50}")]
            start = time.perf_counter()
            limiter.hit(checks)
            mine.append(time.perf_counter() - start)
        with lock:
            samples.extend(mine)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return samples


async def _refusals(limiter: RateLimiter) -> list[float]:
    import httpx

    from portal.server.guard import PortalGuard

    async def page(scope: object, receive: object, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"<html></html>"})

    settings = PortalSettings(link_opens_per_address=1)
    guard = PortalGuard(page, max_upload_request_bytes=1000, settings=settings, limiter=lambda: limiter)
    transport = httpx.ASGITransport(app=guard, client=("192.0.2.1", 1))
    samples = []
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        assert (await client.get("/r/" + "A" * 43)).status_code == 200
        for i in range(RUNS // 4):
            start = time.perf_counter()
            response = await client.get(f"/r/{'B' * 42}{i % 10}", headers={"accept-language": "ar"})
            samples.append(time.perf_counter() - start)
            assert response.status_code == 429
    return samples


def run(name: str, url: str) -> None:
    limiter = RateLimiter(url)
    limiter.create_all()
    # Counters of an earlier run (same addresses and links) would refuse this run's first opening:
    # start from none. The database must be one for measuring, never a portal's.
    limiter.purge(time.time() + 10**9)
    rules = PortalRules.from_settings(PortalSettings(link_opens_per_address=10**9, link_opens_per_link=10**9))
    try:
        _sequential(limiter, rules)  # warm-up: connections, statement cache
        for label, samples in (
            ("hit, 2 counters, 1 thread", _sequential(limiter, rules)),
            ("hit, 2 counters, 8 threads", _parallel(limiter, rules)),
            ("429 over ASGI (guard)", asyncio.run(_refusals(limiter))),
        ):
            median, p95 = _percentiles(samples)
            print(f"{name:<10} {label:<28} median {median:8.0f} µs   p95 {p95:8.0f} µs")
    finally:
        limiter.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--postgres",
        default="",
        help="a PostgreSQL URL to measure as well (a database for measuring: its counters are cleared)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run("SQLite", f"sqlite:///{Path(folder) / 'portal.sqlite3'}")
    if args.postgres:
        run("PostgreSQL", args.postgres)


if __name__ == "__main__":
    main()
