"""What an applicant's phone fetches when a reply link opens, before "Reply now": held to a budget.

Staff-only code lives in route chunks the request page never loads, and the upload zones' library
comes only when a zone shows (components/lazy_upload.py). ``bench/lighthouse.py`` lists the same
first load with its sizes.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from reflex.event import EventHandler
from reflex_base.utils.format import format_event_handler

from portal import routes
from portal.state.staff import StaffState
from portal.state.staff_preview import PreviewState
from portal.state.staff_session import StaffSessionState
from tests.e2e.portal_page import button, next_step, upload_button
from tests.e2e.test_reply_flow import _link_for
from tests.support import messages
from tests.support.first_load import Fetch, first_load, total_bytes
from tests.support.portal_process import PortalProcess

pytestmark = pytest.mark.e2e

# The budget for the request page (Lighthouse's transfer target), and the requests it took
# when this test was written: the document, one stylesheet and nine scripts of Reflex's runtime
# and the page.
MAX_BYTES = 200 * 1024
MAX_REQUESTS = 11
# react-dropzone's error code for a refused type: in its code, never in ours.
UPLOAD_LIBRARY_MARKER = "file-invalid-type"


def _staff_events() -> list[str]:
    """The names under which the staff pages send their events: only staff code names them."""
    names = []
    for state in (StaffSessionState, StaffState, PreviewState):
        for handler in state.event_handlers.values():
            assert isinstance(handler, EventHandler)
            names.append(format_event_handler(handler))
    return names


def _manifest(scripts: dict[str, str]) -> dict[str, Any]:
    (body,) = [text for text in scripts.values() if text.startswith("window.__reactRouterManifest=")]
    manifest: dict[str, Any] = json.JSONDecoder().raw_decode(body, len("window.__reactRouterManifest="))[0]
    return manifest


def _route_files(route: dict[str, Any]) -> set[str]:
    return {route["module"], *route.get("imports", [])}


def _opened(browser: Browser, portal: PortalProcess, case_service: Any) -> tuple[list[Fetch], dict[str, str]]:
    created = messages.create(case_service, messages.message_in())
    fetches = first_load(browser, _link_for(portal, created))
    scripts = {f.path: httpx.get(f.url, timeout=10).text for f in fetches if f.resource_type == "script"}
    return fetches, scripts


def test_the_first_load_stays_within_its_budget(browser: Browser, portal: PortalProcess, case_service: Any) -> None:
    fetches, _ = _opened(browser, portal, case_service)
    listing = "\n".join(f"{f.transfer_bytes:>8} {f.path}" for f in fetches)
    assert all(f.status == 200 for f in fetches), listing
    assert total_bytes(fetches) <= MAX_BYTES, listing
    assert len(fetches) <= MAX_REQUESTS, listing


def test_no_staff_code_and_no_upload_library_reach_the_applicant(
    browser: Browser, portal: PortalProcess, case_service: Any
) -> None:
    _, scripts = _opened(browser, portal, case_service)
    for path, text in scripts.items():
        assert UPLOAD_LIBRARY_MARKER not in text, path
        for event in _staff_events():
            assert event not in text, (path, event)
    # Every file the staff routes need and the request page does not stays on the server.
    manifest = _manifest(scripts)
    reply_route = next(r for r in manifest["routes"].values() if r.get("path") == routes.REPLY.strip("/"))
    applicant = _route_files(manifest["entry"]) | _route_files(manifest["routes"]["root"]) | _route_files(reply_route)
    staff = set().union(
        *(_route_files(r) for r in manifest["routes"].values() if str(r.get("path", "")).startswith("staff"))
    )
    assert staff - applicant, "the manifest names no staff-only file"
    assert not (staff - applicant) & set(scripts)


def test_the_upload_zone_arrives_with_its_library_after_reply_now(
    browser: Browser, portal: PortalProcess, case_service: Any, page: Page
) -> None:
    created = messages.create(case_service, messages.message_in())
    fetched: list[str] = []
    page.on("requestfinished", lambda request: fetched.append(request.url))
    page.goto(_link_for(portal, created))
    next_step(page, button(page, "overview.start"))
    expect(upload_button(page).first).to_be_visible()
    scripts = [url for url in fetched if url.endswith(".js")]
    libraries = [url for url in scripts if UPLOAD_LIBRARY_MARKER in httpx.get(url, timeout=10).text]
    assert libraries, "the upload zone showed without react-dropzone"
