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

import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from tests.e2e.portal_process import PortalProcess  # noqa: E402
from tests.support import messages  # noqa: E402
from tests.support.case_service import run_case_service  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
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


# ---------------------------------------------------------------- crafted files


def _pdf_bomb() -> bytes:
    """One page whose content stream inflates to 1 GiB of spaces (about 1 MB on the wire)."""
    packer = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    body = b"".join(packer.compress(chunk) for _ in range(1024)) + packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(body) + body + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _png(width: int, height: int) -> bytes:
    """A 1-bit PNG of ``width`` × ``height`` zero pixels: a few kB, gigabytes when decoded as RGB."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _ztxt_png() -> bytes:
    """A small PNG with a compressed text chunk that inflates to 200 MB."""
    import struct

    base = _png(64, 64)
    packer = zlib.compressobj(9)
    text = b"".join(packer.compress(b"A" * (1 << 20)) for _ in range(200)) + packer.flush()
    data = b"Comment\x00\x00" + text
    ztxt = struct.pack(">I", len(data)) + b"zTXt" + data + struct.pack(">I", zlib.crc32(b"zTXt" + data))
    return base[:33] + ztxt + base[33:]


def _jpeg_header(width: int, height: int) -> bytes:
    """A baseline JPEG whose header claims ``width`` × ``height`` pixels, with a tiny scan."""
    from PIL import Image

    small = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(small, "JPEG")
    data = bytearray(small.getvalue())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def _tiff_frames(frames: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    pages = [Image.new("1", (2000, 2000)) for _ in range(frames)]
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    return out.getvalue()


def _webp(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (width, height)).save(out, "WEBP", lossless=True)
    return out.getvalue()


def crafted_files(folder: Path) -> list[Path]:
    made: dict[str, Callable[[], bytes]] = {
        "{operator_name:>20000000}.pdf": _small_pdf,
        "{0}{1}.pdf": _small_pdf,
        "bomb-1gib-stream.pdf": _pdf_bomb,
        "bomb-400mp.png": lambda: _png(20000, 20000),
        "bomb-ztxt.png": _ztxt_png,
        "bomb-65k.jpg": lambda: _jpeg_header(65000, 65000),
        "bomb-16k.webp": lambda: _webp(16383, 16383),
        "bomb-300-frames.tif": lambda: _tiff_frames(300),
    }
    paths = []
    for name, build in made.items():
        path = folder / name
        path.write_bytes(build())
        paths.append(path)
    return paths


def _small_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


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
    proc = portal._proc  # noqa: SLF001 - the bench measures the process the harness started
    assert proc is not None
    return proc.pid


def _link(portal: PortalProcess, created: dict[str, Any]) -> str:
    return f"{portal.url}/r/{created['reply_link'].rsplit('/r/', 1)[1]}"


def _open_request(page: Page, link: str) -> float:
    """Seconds from the link request to the request's heading on screen."""
    start = time.perf_counter()
    page.goto(link, wait_until="commit")
    page.locator("#start-button").wait_for(state="visible", timeout=30_000)
    return time.perf_counter() - start


def attempts(browser: Browser, portal: PortalProcess, case_service: Any, folder: Path) -> dict[str, Any]:
    """Format strings and bombs sent the way a browser sends them; peak memory above idle."""
    files = crafted_files(folder)
    created = messages.create(case_service, messages.question(reference="ABH-P-2026-900001"))
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
            # Accepted (a file row) or refused (the error list): either way the portal answered.
            page.locator(f".file-row:has-text('{path.name[:12]}'), #upload-errors").first.wait_for(timeout=60_000)
            errors = page.locator("#upload-errors")
            outcomes[path.name] = "refused" if errors.count() and errors.is_visible() else "accepted"
            for button in page.get_by_role("button", name="Entfernen").all():
                button.click()
        # The old text lookup, called as an event with a format-string key.
        frame = ["event", {"name": f"{_language_state()}.tr", "payload": {"key": "{operator_name:>1000000000}"},
                           "router_data": {"pathname": "/reply", "asPath": "/reply"}}]
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
        page.goto(f"{portal.url}/staff/sign-in")
        for n in range(SIGN_IN_ATTEMPTS):
            if stop.is_set():
                break
            page.locator("#username").fill(f"staff-{n % 3}")
            page.locator("#password").fill("wrong-password")
            page.locator("#sign-in-button").click()
            message = page.locator("[role=alert]").first
            message.wait_for(timeout=10_000)
            text = message.inner_text()
            sign_ins[text] = sign_ins.get(text, 0) + 1
        context.close()

    context = browser.new_context(extra_http_headers={"X-Forwarded-For": APPLICANT})
    page = context.new_page()

    def link_checks(first: int) -> list[float]:
        taken = []
        for n in range(first, first + LATENCY_SAMPLES):
            created = messages.create(case_service, messages.question(reference=f"ABH-P-2026-91{n:04d}"))
            taken.append(_open_request(page, _link(portal, created)) * 1000)
        return sorted(taken)

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
        "quiet_p50_ms": statistics.median(quiet),
        "quiet_p95_ms": _p95(quiet),
        "latency_p50_ms": statistics.median(latencies),
        "latency_p95_ms": _p95(latencies),
    }


def _p95(sorted_values: list[float]) -> float:
    return sorted_values[max(0, round(0.95 * len(sorted_values)) - 1)]


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
                browser = p.chromium.launch(
                    executable_path=CHROMIUM,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
                )
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
    print(f"applicant link check, quiet   p50 {floods['quiet_p50_ms']:5.0f} ms, p95 {floods['quiet_p95_ms']:5.0f} ms")
    ok = "met" if floods["latency_p95_ms"] < LATENCY_TARGET_MS else "NOT met"
    print(
        f"applicant link check, flood   p50 {floods['latency_p50_ms']:5.0f} ms, p95 {floods['latency_p95_ms']:5.0f} ms"
        f"  (target p95 < {LATENCY_TARGET_MS}: {ok})"
    )


if __name__ == "__main__":
    main()
