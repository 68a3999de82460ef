"""Speed of the request page against a blank Reflex app and against a static copy of itself.

Starts the reference case service and the built portal, creates a real message, and runs
Lighthouse (tests/tools, mobile settings, Debian's Chromium) five times on each of:

- the request page, opened through its reply link `/r/<token>`;
- a static copy of that page (the floor): the live page's DOM once the request is on screen, its
  scripts and preloads removed, its stylesheets saved beside it, served gzipped by a tiny static
  server in this process;
- the start page of a new, blank Reflex 0.10 app, built and served like the portal.

Prints the medians beside the request page's targets, what the first load fetches (requests and
bytes on the wire, Playwright), and the time from the link request to the request text being
visible, with scripts running and with every script request blocked (Playwright, 5 runs each).
Nothing here depends on what the link's first HTML holds: the request text is found by its words.

    python bench/lighthouse.py          (after scripts/setup --test; about ten minutes)
"""

from __future__ import annotations

import gzip
import http.server
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.support import messages  # noqa: E402
from tests.support.browser import CHROMIUM, launch  # noqa: E402
from tests.support.case_service import run_case_service  # noqa: E402
from tests.support.first_load import first_load, total_bytes  # noqa: E402
from tests.support.portal_process import GENEROUS_LIMITS, PortalProcess  # noqa: E402
from tests.support.processes import free_port  # noqa: E402

LIGHTHOUSE = ROOT / "tests" / "tools" / "node_modules" / "lighthouse" / "cli" / "index.js"
RUNS = 5
# The request page's targets; for CLS and the scores, "met" means reaching them exactly.
TARGETS = {
    "performance": 98,
    "accessibility": 100,
    "best-practices": 100,
    "lcp_s": 1.5,
    "cls": 0,
    "transfer_kib": 200,
}
LOWER_IS_BETTER = ("lcp_s", "cls", "transfer_kib")
# Words of the message's body (tests.support.messages): the request text, however the page shows it.
REQUEST_WORDS = "fehlen noch Unterlagen"
# How long a run with scripts blocked waits for the request before saying it never came.
NO_SCRIPT_WAIT_S = 10.0
BLANK_APP = """
import reflex as rx

def index() -> rx.Component:
    return rx.container(rx.heading("Welcome to Reflex!"), rx.text("A blank app."))

app = rx.App()
app.add_page(index)
"""


def lighthouse(url: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "node"),
                str(LIGHTHOUSE),
                url,
                "--quiet",
                "--output=json",
                f"--output-path={out.name}",
                "--only-categories=performance,accessibility,best-practices",
                "--chrome-flags=--headless=new --no-sandbox --disable-background-networking "
                "--disable-component-update --disable-sync",
            ],
            check=True,
            env={**os.environ, "CHROME_PATH": CHROMIUM},
            timeout=300,
        )
        report: dict[str, Any] = json.loads(Path(out.name).read_text())
    cats, audits = report["categories"], report["audits"]
    return {
        "performance": cats["performance"]["score"] * 100,
        "accessibility": cats["accessibility"]["score"] * 100,
        "best-practices": cats["best-practices"]["score"] * 100,
        "lcp_s": audits["largest-contentful-paint"]["numericValue"] / 1000,
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "transfer_kib": audits["total-byte-weight"]["numericValue"] / 1024,
    }


def median_of(url: str) -> dict[str, float]:
    runs = [lighthouse(url) for _ in range(RUNS)]
    return {key: statistics.median(r[key] for r in runs) for key in TARGETS}


def link_to_readable(browser: Any, link: str, *, scripts: bool) -> float | None:
    """Seconds from the link's request to the request text on screen; None when it never came.

    Without scripts, every script request is aborted (inline scripts cannot run either: the
    context has JavaScript off), as when a phone's connection drops them or a browser is too old.
    """
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="de-DE", java_script_enabled=scripts)
    try:
        page = ctx.new_page()
        if not scripts:
            page.route(
                "**/*",
                lambda route: route.abort() if route.request.resource_type == "script" else route.continue_(),
            )
        began = time.monotonic()
        page.goto(link, wait_until="commit")
        try:
            page.get_by_text(REQUEST_WORDS).first.wait_for(state="visible", timeout=NO_SCRIPT_WAIT_S * 1000)
        except Exception:  # Playwright's timeout: the text never came
            return None
        return time.monotonic() - began
    finally:
        ctx.close()


def static_copy(browser: Any, link: str, folder: Path) -> None:
    """The live request page as a plain HTML file with its stylesheets beside it, no scripts."""
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="de-DE")
    try:
        page = ctx.new_page()
        page.goto(link)
        page.get_by_text(REQUEST_WORDS).first.wait_for(state="visible")
        page.wait_for_load_state("networkidle")
        sheets: list[str] = page.eval_on_selector_all("link[rel=stylesheet]", "links => links.map(l => l.href)")
        for n, href in enumerate(sheets):
            (folder / f"style{n}.css").write_bytes(httpx.get(href, timeout=10).content)
            page.eval_on_selector_all(
                f'link[rel=stylesheet][href="{urlsplit(href).path}"], link[rel=stylesheet][href="{href}"]',
                f"links => links.forEach(l => l.setAttribute('href', '/style{n}.css'))",
            )
        page.eval_on_selector_all(
            "script, link[rel=modulepreload], link[rel=preload]", "nodes => nodes.forEach(n => n.remove())"
        )
        html = page.evaluate("'<!DOCTYPE html>' + document.documentElement.outerHTML")
    finally:
        ctx.close()
    (folder / "index.html").write_text(html)
    # The browser asks for it as for any page; a 404 would cost the copy best-practice points.
    (folder / "favicon.ico").write_bytes(httpx.get(urljoin(link, "/favicon.ico"), timeout=10).content)


_TYPES = {".css": "text/css", ".ico": "image/x-icon"}


class _Static(http.server.SimpleHTTPRequestHandler):
    """Serves the copy as the portal serves its pages: gzipped when asked, never cached."""

    def do_GET(self) -> None:  # http.server's name
        name = urlsplit(self.path).path.lstrip("/") or "index.html"
        path = Path(self.directory) / name
        if not re.fullmatch(r"[\w.-]+", name) or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", _TYPES.get(path.suffix, "text/html; charset=utf-8"))
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # http.server's name
        pass


def serve_static(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), lambda *a: _Static(*a, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://localhost:{server.server_address[1]}/"


def blank_app(work: Path) -> PortalProcess:
    """A new Reflex app as `reflex init --template blank` makes it, served the same way."""
    app = work / "blank"
    (app / "blank").mkdir(parents=True)
    (app / "blank" / "__init__.py").write_text("")
    (app / "blank" / "blank.py").write_text(BLANK_APP)
    (app / "rxconfig.py").write_text(
        'import reflex as rx\nconfig = rx.Config(app_name="blank", telemetry_enabled=False)\n'
    )
    shutil.copy(ROOT / ".npmrc", app / ".npmrc")
    return PortalProcess(data_dir=work / "blank-data", case_service_url="", case_service_key="", cwd=app)


def _seconds(values: list[float | None]) -> str:
    shown = ["never" if v is None else f"{v:.2f}" for v in values]
    came = [v for v in values if v is not None]
    median = (
        f"median {statistics.median(came):.2f} s"
        if len(came) == len(values)
        else (f"not visible within {NO_SCRIPT_WAIT_S:.0f} s in {len(values) - len(came)} of {len(values)} runs")
    )
    return f"[{', '.join(shown)}], {median}"


def main() -> None:
    if not LIGHTHOUSE.is_file():
        sys.exit("Lighthouse is missing: run scripts/setup --test")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "static").mkdir()
        case_service = run_case_service(work / "casesvc")
        # Lighthouse and the timings open the one link some thirty times.
        portal = PortalProcess(work / "portal", case_service.url, case_service.portal_key, extra_env=GENEROUS_LIMITS)
        try:
            portal.start()
            created = messages.create(case_service, messages.message_in())
            link = urljoin(portal.url, "/r/" + created["reply_link"].rsplit("/r/", 1)[1])
            with sync_playwright() as p:
                browser = launch(p)
                fetches = first_load(browser, link)
                static_copy(browser, link, work / "static")
                with_scripts = [link_to_readable(browser, link, scripts=True) for _ in range(RUNS)]
                without_scripts = [link_to_readable(browser, link, scripts=False) for _ in range(RUNS)]
                browser.close()
            ours = median_of(link)
        finally:
            portal.stop()
            case_service.stop()
        server, static_url = serve_static(work / "static")
        try:
            floor = median_of(static_url)
        finally:
            server.shutdown()
        blank = blank_app(work)
        blank.port = free_port()
        try:
            blank.start()
            reference = median_of(blank.url)
        finally:
            blank.stop()

    print(f"Lighthouse {RUNS} runs each, mobile settings, medians; load average {os.getloadavg()[0]:.1f}")
    print(f"{'':16}{'request page':>14}{'static copy':>13}{'blank Reflex':>14}{'target':>8}  met")
    for key, target in TARGETS.items():
        value = ours[key]
        met = value <= target if key in LOWER_IS_BETTER else value >= target
        print(f"{key:16}{value:>14.2f}{floor[key]:>13.2f}{reference[key]:>14.2f}{target:>8}  {'yes' if met else 'NO'}")
    print(f"first load (Playwright, empty cache): {len(fetches)} requests, {total_bytes(fetches) / 1024:.1f} KiB")
    for fetch in fetches:
        shown = fetch.path if not fetch.path.startswith("/r/") else "/r/<token>"
        print(f"    {fetch.transfer_bytes / 1024:>7.1f} KiB  {fetch.resource_type:<11}{shown}")
    print(f"link opened → request text visible, scripts running (s, {RUNS} runs): {_seconds(with_scripts)}")
    print(f"link opened → request text visible, scripts blocked (s, {RUNS} runs): {_seconds(without_scripts)}")


if __name__ == "__main__":
    main()
