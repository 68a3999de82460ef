"""Abuse benchmark: what crafted input and floods cost the running portal (loopback only, bounded).

    python bench/abuse.py            # builds and starts the portal; about four minutes

Starts the reference case service and the built portal (``reflex run --env prod``) on loopback,
drives Debian's Chromium with Playwright, and prints:

1. the portal's resident memory (its whole process tree) when idle, and the peak above idle
   while an applicant uploads files named as format strings and decompression bombs of every
   accepted format, and while a browser sends the old text-lookup event with a format-string key
   (target: under 300 MB above idle);
2. how many requests the rate limits refused under a flood of link openings and staff sign-ins;
3. an applicant's link-check latency (link request → request heading visible) during that
   flood, p50 and p95 (target p95 under 300 ms).

Every loop is bounded in count and time and sends traffic only to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from tests.support import messages  # noqa: E402
from tests.support.browser import launch  # noqa: E402
from tests.support.case_service import run_case_service  # noqa: E402
from tests.support.portal_process import PortalProcess  # noqa: E402

MEMORY_TARGET_MB = 300
LATENCY_TARGET_MS = 300
# Documentation addresses (RFC 5737) as the proxy reports them: no traffic goes there.
ATTACKER = "192.0.2.66"
APPLICANT = "198.51.100.7"
FLOOD_REQUESTS = 1500
FLOOD_SECONDS = 40
SIGN_IN_ATTEMPTS = 30
LATENCY_SAMPLES = 15
# Records the app's websocket, so the bench can send frames of its own on it.
CAPTURE_SOCKET = (
    "(()=>{const send=WebSocket.prototype.send;"
    "WebSocket.prototype.send=function(d){window.__rkSocket=this;return send.call(this,d);};})();"
)
# Times the link check in the page: from the moment the token is handed over on the websocket (the
# page's first event, whose on_load handler verifies the token) to the moment the verified request
# (its "Reply now" button) is on screen.
TIME_LINK_CHECK = (
    "(()=>{const send=WebSocket.prototype.send;"
    "WebSocket.prototype.send=function(d){if(typeof d==='string'&&d.includes('hydrate')"
    "&&window.__rkHandOver===undefined){window.__rkHandOver=performance.now();}return send.call(this,d);};"
    "new MutationObserver(()=>{const b=document.getElementById('start-button');"
    "if(window.__rkShown===undefined&&b&&b.offsetParent!==null){window.__rkShown=performance.now();}})"
    ".observe(document,{subtree:true,childList:true,attributes:true});})();"
)


# ---------------------------------------------------------------- crafted files


def crafted_files(folder: Path) -> list[Path]:
    """Names that look like format strings, and the test suite's bombs of every accepted format."""
    from tests.fixtures import bombs
    from tests.fixtures.corpus import blank_pdf

    made: dict[str, Callable[[], bytes]] = {
        "{operator_name:>20000000}.pdf": blank_pdf,
        "{0}{1}.pdf": blank_pdf,
        "bomb-1gib-content.pdf": bombs.pdf_content_bomb,
        "bomb-1gib-form.pdf": bombs.pdf_form_bomb,
        "bomb-object-stream.pdf": bombs.pdf_object_stream_bomb,
        "bomb-image-60k.pdf": bombs.pdf_image_bomb,
        "bomb-100k-px.png": bombs.png_dimensions_bomb,
        "bomb-59mp-16bit.png": bombs.png_memory_bomb,
        "bomb-1gib-text.png": bombs.png_text_bomb,
        "bomb-65k-px.jpg": bombs.jpeg_dimensions_bomb,
        "bomb-60k-px.heic": bombs.heic_dimensions_bomb,
        "bomb-canvas.webp": bombs.webp_canvas_bomb,
        "bomb-50k-frames.tif": bombs.tiff_many_frames,
        "bomb-huge-frame.tif": bombs.tiff_huge_frame,
    }
    paths = []
    for name, build in made.items():
        path = folder / name
        path.write_bytes(build())
        paths.append(path)
    return paths


# ---------------------------------------------------------------- measuring


class MemorySampler:
    """Resident memory of a process and its children, sampled every 20 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        total = 0
        for proc in [self.root, *self.root.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.02)

    def __enter__(self) -> MemorySampler:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _portal_pid(portal: PortalProcess) -> int:
    pid = portal.pid  # the bench measures the process the harness started
    assert pid is not None
    return pid


def _link(portal: PortalProcess, created: dict[str, Any]) -> str:
    return f"{portal.url}/r/{created['reply_link'].rsplit('/r/', 1)[1]}"


def _open_request(page: Page, link: str) -> tuple[float, float]:
    """Milliseconds from the link request to the request on screen, and of that the link check
    (token handed over → verified request shown; needs TIME_LINK_CHECK in the page)."""
    start = time.perf_counter()
    page.goto(link, wait_until="commit")
    page.locator("#start-button").wait_for(state="visible", timeout=30_000)
    whole = (time.perf_counter() - start) * 1000
    check = page.evaluate("window.__rkShown !== undefined ? window.__rkShown - window.__rkHandOver : null")
    return whole, float(check) if check is not None else float("nan")


def attempts(browser: Browser, portal: PortalProcess, case_service: Any, folder: Path) -> dict[str, Any]:
    """Format strings and bombs sent the way a browser sends them; peak memory above idle."""
    files = crafted_files(folder)
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-900001"))
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": APPLICANT})
    context.add_init_script(CAPTURE_SOCKET)
    page = context.new_page()
    _open_request(page, _link(portal, created))
    page.locator("#start-button").click()
    sampler = MemorySampler(_portal_pid(portal))
    time.sleep(2)
    idle = sampler.rss()
    outcomes: dict[str, str] = {}
    with sampler:
        for path in files:
            page.locator("#documents input[type=file]").set_input_files(str(path))
            # The name shows in its file row (accepted) or in the refusal: the portal has answered.
            page.get_by_text(path.name).first.wait_for(timeout=60_000)
            refused = page.locator("#upload-errors", has_text=path.name)
            outcomes[path.name] = "refused" if refused.count() else "accepted"
            for button in page.get_by_role("button", name="Entfernen").all():
                button.click()
        # The old text lookup, called as an event with a format-string key.
        frame = [
            "event",
            {
                "name": f"{_language_state()}.tr",
                "payload": {"key": "{operator_name:>1000000000}"},
                "router_data": {"pathname": "/reply", "asPath": "/reply"},
            },
        ]
        page.evaluate("f => window.__rkSocket.send('42/_event,' + f)", json.dumps(frame))
        time.sleep(3)
    context.close()
    return {"idle_mb": idle / 2**20, "peak_above_idle_mb": (sampler.peak - idle) / 2**20, "outcomes": outcomes}


def _language_state() -> str:
    from portal.state.language import LanguageState

    return LanguageState.get_full_name()


def flood(browser: Browser, portal: PortalProcess, case_service: Any) -> dict[str, Any]:
    """Link openings and sign-ins from one address, while an applicant opens their link."""
    statuses: dict[int, int] = {}
    stop = threading.Event()

    def open_links() -> None:
        with httpx.Client(base_url=portal.url, headers={"X-Forwarded-For": ATTACKER}, timeout=10) as http:
            deadline = time.monotonic() + FLOOD_SECONDS
            for n in range(FLOOD_REQUESTS):
                if stop.is_set() or time.monotonic() > deadline:
                    break
                status = http.get(f"/r/{os.urandom(24).hex()}-{n}").status_code
                statuses[status] = statuses.get(status, 0) + 1

    sign_ins: dict[str, int] = {}

    def sign_in() -> None:
        context = browser.new_context(extra_http_headers={"X-Forwarded-For": ATTACKER})
        page = context.new_page()
        for n in range(SIGN_IN_ATTEMPTS):
            if stop.is_set():
                break
            # A fresh page each time: the answer read is this attempt's, not the last one's.
            page.goto(f"{portal.url}/staff/sign-in")
            page.locator("#username").fill(f"staff-{n % 3}")
            page.locator("#password").fill("wrong-password")
            page.locator("#sign-in-button").click()
            message = page.locator("[role=alert]").first
            message.wait_for(timeout=10_000)
            text = message.inner_text()
            sign_ins[text] = sign_ins.get(text, 0) + 1
        context.close()

    context = browser.new_context()
    context.add_init_script(TIME_LINK_CHECK)
    page = context.new_page()

    def link_checks(first: int) -> list[tuple[float, float]]:
        taken = []
        for n in range(first, first + LATENCY_SAMPLES):
            created = messages.create(case_service, messages.message_in(reference=f"ABH-P-2026-91{n:04d}"))
            # Each sample is another applicant (own address), as on a real day.
            page.set_extra_http_headers({"X-Forwarded-For": f"198.51.100.{10 + n}"})
            taken.append(_open_request(page, _link(portal, created)))
        return taken

    quiet = link_checks(0)
    flooder = threading.Thread(target=open_links, daemon=True)
    flooder.start()
    try:
        latencies = link_checks(LATENCY_SAMPLES)
        sign_in()
    finally:
        stop.set()
        flooder.join()
        context.close()
    return {
        "link_statuses": statuses,
        "sign_in_messages": sign_ins,
        "quiet": _quantiles(quiet),
        "flood": _quantiles(latencies),
    }


def _quantiles(samples: list[tuple[float, float]]) -> dict[str, float]:
    """p50 and p95 of the whole opening and of the link check."""
    out = {}
    for index, name in ((0, "open"), (1, "check")):
        values = sorted(sample[index] for sample in samples)
        out[f"{name}_p50"] = statistics.median(values)
        out[f"{name}_p95"] = values[max(0, round(0.95 * len(values)) - 1)]
    return out


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-abuse-") as tmp:
        folder = Path(tmp)
        case_service = run_case_service(folder / "casesvc")
        portal = PortalProcess(
            data_dir=folder / "portal",
            case_service_url=case_service.url,
            case_service_key=case_service.portal_key,
            # The bench stands in for a proxy that appends each client's address.
            extra_env={"PORTAL_TRUSTED_PROXY_HOPS": "1"},
        )
        print("building and starting the portal ...", flush=True)
        portal.start()
        try:
            with sync_playwright() as p:
                browser = launch(p)
                memory = attempts(browser, portal, case_service, folder)
                floods = flood(browser, portal, case_service)
                browser.close()
        finally:
            portal.stop()
            case_service.stop()
    print()
    print(f"portal idle memory            {memory['idle_mb']:8.1f} MB")
    ok = "met" if memory["peak_above_idle_mb"] < MEMORY_TARGET_MB else "NOT met"
    print(f"peak above idle under attacks {memory['peak_above_idle_mb']:8.1f} MB  (target < {MEMORY_TARGET_MB}: {ok})")
    for name, outcome in memory["outcomes"].items():
        print(f"  {name[:40]:40s} {outcome}")
    print(f"link openings by status       {dict(sorted(floods['link_statuses'].items()))}")
    answers = "; ".join(f"{n}× {text[:60]!r}" for text, n in floods["sign_in_messages"].items())
    print(f"sign-in answers               {answers}")
    for phase in ("quiet", "flood"):
        q = floods[phase]
        print(
            f"applicant, {phase:5s}  link check p50 {q['check_p50']:4.0f} ms, p95 {q['check_p95']:4.0f} ms;"
            f"  whole opening p50 {q['open_p50']:4.0f} ms, p95 {q['open_p95']:4.0f} ms"
        )
    ok = "met" if floods["flood"]["check_p95"] < LATENCY_TARGET_MS else "NOT met"
    print(f"link check p95 during the flood: target < {LATENCY_TARGET_MS} ms: {ok}")


if __name__ == "__main__":
    main()
