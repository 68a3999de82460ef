"""Speed of the request page against a blank Reflex app, on this machine.

Starts the reference case service and the built portal, creates a real message, and runs
Lighthouse (tests/tools, mobile settings, Debian's Chromium) three times on the request page and
on the start page of a new, blank Reflex 0.10 app; prints the medians side by side with the
targets, and the time from opening a link to the request text being visible (Playwright, 5 runs).

    python bench/lighthouse.py          (after scripts/setup --test)
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.support import messages  # noqa: E402
from tests.support.browser import CHROMIUM, launch  # noqa: E402
from tests.support.case_service import run_case_service  # noqa: E402
from tests.support.portal_process import PortalProcess  # noqa: E402
from tests.support.processes import free_port  # noqa: E402

LIGHTHOUSE = ROOT / "tests" / "tools" / "node_modules" / "lighthouse" / "cli" / "index.js"
RUNS = 3
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 100, "lcp_s": 2.0, "transfer_kib": 250}
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
        "transfer_kib": audits["total-byte-weight"]["numericValue"] / 1024,
    }


def median_of(url: str) -> dict[str, float]:
    runs = [lighthouse(url) for _ in range(RUNS)]
    return {key: statistics.median(r[key] for r in runs) for key in TARGETS}


def link_to_readable(link: str) -> list[float]:
    times = []
    with sync_playwright() as p:
        browser = launch(p)
        for _ in range(5):
            ctx = browser.new_context(viewport={"width": 360, "height": 740})
            page = ctx.new_page()
            began = time.monotonic()
            page.goto(link)
            page.locator("blockquote.original").wait_for()
            times.append(time.monotonic() - began)
            ctx.close()
        browser.close()
    return times


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


def main() -> None:
    if not LIGHTHOUSE.is_file():
        sys.exit("Lighthouse is missing: run scripts/setup --test")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        case_service = run_case_service(work / "casesvc")
        portal = PortalProcess(work / "portal", case_service.url, case_service.portal_key)
        try:
            portal.start()
            created = messages.create(case_service, messages.message_in())
            link = f"{portal.url}/r/{created['reply_link'].rsplit('/r/', 1)[1]}"
            ours = median_of(link)
            readable = link_to_readable(link)
        finally:
            portal.stop()
            case_service.stop()
        blank = blank_app(work)
        blank.port = free_port()
        try:
            blank.start()
            reference = median_of(blank.url)
        finally:
            blank.stop()

    print(f"Lighthouse {RUNS} runs each, mobile settings, medians")
    print(f"{'':16}{'request page':>14}{'blank Reflex':>14}{'target':>10}  met / better than blank")
    for key, target in TARGETS.items():
        lower_better = key in ("lcp_s", "transfer_kib")
        met = ours[key] <= target if lower_better else ours[key] >= target
        better = ours[key] <= reference[key] if lower_better else ours[key] >= reference[key]
        print(
            f"{key:16}{ours[key]:>14.2f}{reference[key]:>14.2f}{target:>10}  {'yes' if met else 'NO '} / "
            f"{'yes' if better else 'NO'}"
        )
    print(
        f"link opened → request text visible (s, 5 runs): {[round(t, 2) for t in readable]}, "
        f"median {statistics.median(readable):.2f}"
    )


if __name__ == "__main__":
    main()
