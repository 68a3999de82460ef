"""Debian's Chromium as the tests and benches launch it: never reaching the internet."""

from __future__ import annotations

import shutil
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# Without these Chromium keeps trying to reach Google's services (updates, sync, field trials);
# the machines have no internet, and a privacy test must see only the portal's own requests.
OFFLINE_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)


def launch(playwright: Any) -> Any:
    """Chromium for ``playwright`` (sync API), headless, offline."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(OFFLINE_ARGS))
