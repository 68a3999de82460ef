"""Receipt benchmark: what laying out a receipt PDF costs, and what the portal's event loop pays.

    python bench/receipt.py            # about 30 s; see bench/README.md

For a question answered with three files (the test suite's sample reply) in German, English,
Arabic and Chinese, median of five after one warm-up:

* **in-process CPU**: ``portal.receipt_pdf.render`` in this process, with every font loaded
  (``all fonts``: how the first version laid it out) and with the fonts of the scripts on the
  receipt only (``fonts needed``: what the portal does);
* **sandbox wall**: the same as the portal makes it, a sandbox job (fork of the prepared server,
  JSON both ways), timed from the caller;
* **loop held**: the longest gap between ticks of an asyncio loop that keeps a 5 ms timer
  running while one receipt is made, in a thread as the first version did it and as a sandbox
  job as the portal does it now (the gap is what every other applicant's events wait).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal import receipt_pdf  # noqa: E402
from portal.domain.receipt import ReceiptDocument, build_receipt, document_to_json  # noqa: E402
from portal.intake import sandbox  # noqa: E402
from portal.intake.limits import DEFAULT_LIMITS  # noqa: E402
from portal.settings import PortalSettings  # noqa: E402
from tests.portal.domain.test_receipt import RECEIVED, question_reply  # noqa: E402
from tests.support import messages  # noqa: E402

REPEAT = 5
LANGS = ("de", "en", "ar", "zh")
FONTS = PortalSettings().receipt_fonts_dir


def _document(lang: str) -> ReceiptDocument:
    return build_receipt(messages.message_view("question"), question_reply(lang), "RK-ABCD-EFGH", RECEIVED)


def _median(run: Callable[[], object], clock: Callable[[], float]) -> float:
    run()
    times = []
    for _ in range(REPEAT):
        start = clock()
        run()
        times.append(clock() - start)
    return statistics.median(times)


def _in_process(document: ReceiptDocument, every_font: bool) -> None:
    if every_font:
        original = receipt_pdf.families
        receipt_pdf.families = lambda _document: receipt_pdf.FALLBACKS  # type: ignore[assignment]
        try:
            receipt_pdf.render(document, FONTS, RECEIVED)
        finally:
            receipt_pdf.families = original  # type: ignore[assignment]
    else:
        receipt_pdf.render(document, FONTS, RECEIVED)


def _in_sandbox(document: ReceiptDocument, folder: Path) -> None:
    out = folder / "receipt.pdf"
    out.unlink(missing_ok=True)
    args: dict[str, Any] = {
        "document": document_to_json(document),
        "fonts_dir": str(FONTS),
        "created": datetime.now(UTC).isoformat(),
        "out": str(out),
    }
    sandbox.run("receipt", args, DEFAULT_LIMITS)


async def _loop_held(make: Callable[[], object]) -> float:
    """The longest pause of a 5 ms ticker while ``make`` runs in a thread."""
    longest = 0.0
    done = asyncio.Event()

    async def tick() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            longest = max(longest, now - last - 0.005)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.to_thread(make)
    done.set()
    await ticker
    return longest


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for lang in LANGS:
            document = _document(lang)
            rendered = receipt_pdf.render(document, FONTS, RECEIVED)
            every = _median(lambda d=document: _in_process(d, True), time.process_time)
            needed = _median(lambda d=document: _in_process(d, False), time.process_time)
            wall = _median(lambda d=document: _in_sandbox(d, folder), time.perf_counter)
            thread = max(asyncio.run(_loop_held(lambda d=document: _in_process(d, True))) for _ in range(3))
            job = max(asyncio.run(_loop_held(lambda d=document: _in_sandbox(d, folder))) for _ in range(3))
            rows.append((lang, rendered.pages, len(rendered.pdf) // 1024, every, needed, wall, thread, job))
        sandbox.stop()
    print(f"receipt of a question with 3 files, median of {REPEAT} (loop held: the worst of 3)\n")
    print("lang  pages    KB   CPU all fonts   CPU fonts needed   sandbox wall   loop held: thread   sandbox job")
    for lang, pages, kb, every, needed, wall, thread, job in rows:
        print(
            f"{lang:4} {pages:6} {kb:5}   {every * 1000:10.0f} ms   {needed * 1000:13.0f} ms"
            f"   {wall * 1000:9.0f} ms   {thread * 1000:14.0f} ms   {job * 1000:8.0f} ms"
        )


if __name__ == "__main__":
    main()
