"""Session fixtures for the browser tests: the real case service over HTTP, the built portal,
and Debian's Chromium driven by Playwright's sync API (kept out of pytest-asyncio's loop)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.e2e.portal_page import follow_sockets
from tests.support.browser import CHROMIUM, launch
from tests.support.case_service import run_case_service
from tests.support.clamd import ClamdMissing, ClamdProcess, run_clamd
from tests.support.portal_process import GENEROUS_LIMITS, PortalProcess

# A busy 2-core CI machine builds, serves and renders at once: give assertions room, not sleeps.
expect.set_options(timeout=15_000)
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="session")
def case_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with run_case_service(tmp_path_factory.mktemp("casesvc-e2e")) as service:
        yield service


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClamdProcess]:
    try:
        daemon = run_clamd(tmp_path_factory.mktemp("clamd"))
    except ClamdMissing as exc:
        pytest.fail(str(exc))
    try:
        yield daemon
    finally:
        daemon.stop()


# The operator's key of the metrics endpoint (tests/e2e/test_metrics.py).
METRICS_KEY = "e2e-metrics-key-" + "0" * 24


@pytest.fixture(scope="session")
def portal(
    case_service: object, clamd: ClamdProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PortalProcess]:
    process = PortalProcess(
        data_dir=Path(tmp_path_factory.mktemp("portal-e2e")),
        case_service_url=case_service.url,  # type: ignore[attr-defined]
        case_service_key=case_service.portal_key,  # type: ignore[attr-defined]
        extra_env={
            "PORTAL_CLAMD_ADDRESS": clamd.unix_address,
            "PORTAL_CLAMD_TIMEOUT_SECONDS": "5",
            **GENEROUS_LIMITS,
            "PORTAL_METRICS_KEY": METRICS_KEY,
        },
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run scripts/setup --test")
    with sync_playwright() as p:
        b = launch(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = follow_sockets(browser.new_context(viewport=PHONE, locale="de-DE", is_mobile=True, has_touch=True))
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture()
def page(context: BrowserContext) -> Page:
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    return pg
