"""Uploads refused by content with a message that says what to do; what the server never does."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from portal.state.reply import ReplyState
from tests.e2e.portal_page import button, choose_files, next_step, uploaded
from tests.e2e.test_reply_flow import _link_for
from tests.support import messages
from tests.support.portal_process import PortalProcess

pytestmark = pytest.mark.e2e


def test_a_renamed_web_page_is_refused_with_advice(
    portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path
) -> None:
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000301"))
    page.goto(_link_for(portal, created))
    next_step(page, button(page, "overview.start"))
    fake = tmp_path / "Versicherung.pdf"
    fake.write_text("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
    empty = tmp_path / "leer.pdf"
    empty.write_bytes(b"")
    files_dir = portal.data_dir / "files"
    before = set(files_dir.rglob("*"))
    choose_files(page, fake, empty)
    refused = page.locator("#upload-errors")
    expect(refused).to_contain_text("Webseite")
    expect(refused).to_contain_text("leer")
    expect(refused).to_be_focused()
    expect(uploaded(page)).to_have_count(0)
    assert set(files_dir.rglob("*")) == before, "refused files must not stay on disk"


def test_server_limits_and_headers(portal: PortalProcess) -> None:
    # Announce 500 MB and send none of it: the answer must come from the headers alone.
    with socket.create_connection(("127.0.0.1", portal.port), timeout=10) as conn:
        conn.sendall(
            b"POST /_upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            b"Content-Length: 524288000\r\n\r\n"
        )
        status_line = conn.recv(200).split(b"\r\n", 1)[0]
    assert b" 413 " in status_line
    assert httpx.get(f"{portal.url}/_upload/anything.pdf", timeout=10).status_code == 404
    # A client token that never verified a link gets no state, whatever handler it names.
    upload_handler = f"{ReplyState.get_full_name()}.upload"
    files = {"files": ("a.pdf", b"%PDF-1.4\n", "application/pdf")}
    for handler, status in ((upload_handler, 403), (f"{ReplyState.get_full_name()}.submit", 400)):
        headers = {"reflex-client-token": "not-a-session", "reflex-event-handler": handler}
        refused = httpx.post(f"{portal.url}/_upload", files=files, headers=headers, timeout=10)
        assert refused.status_code == status, refused.text
    html = httpx.get(f"{portal.url}/reply", timeout=10)
    assert html.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in html.headers["content-security-policy"]


def test_no_token_in_the_logs(portal: PortalProcess, case_service: Any, page: Page) -> None:
    created = messages.create(case_service, messages.message_in(reference="ABH-P-2026-000302"))
    token = created["reply_link"].rsplit("/", 1)[1]
    page.goto(_link_for(portal, created))
    expect(button(page, "overview.start")).to_be_visible()
    assert token not in portal.log_path.read_text(errors="replace")
    assert token not in case_service.log_path.read_text(errors="replace")
