"""The receipt in the applicant's session: made before "received", fetched only with the link."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from pathlib import Path

from pypdf import PdfReader
from reflex.istate.data import RouterData, SessionData

from portal.outbox import delivery
from portal.state.reply import ReplyState
from tests.portal.state.conftest import opened, substate
from tests.portal.state.test_reply import _answer_without_files, _upload


def _pdf_of(spec: object) -> bytes:
    """The bytes an ``rx.download`` event carries to the browser (a data: URL)."""
    url = str(spec.args[0][1]._js_expr)  # type: ignore[attr-defined]
    return base64.b64decode(url.split("base64,", 1)[1].strip('"'))


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def _tab(tab: str) -> ReplyState:
    state = substate(ReplyState)
    state.router = RouterData(session=SessionData(client_token=tab, client_ip="127.0.0.1"))
    return state


async def _reopened(token: str, tab: str) -> ReplyState:
    state = _tab(tab)
    state._token = token
    await state._verify_and_show()
    return state


async def _submitted(token: str) -> ReplyState:
    state = await opened(token)
    state.step, state.item_index = "item", 0
    await _upload(state)
    await _answer_without_files(state)
    assert state._draft is not None
    state._draft.items[0].not_available = False
    await state.submit()
    return state


async def test_the_confirmation_offers_the_receipt_of_what_was_committed(portal_runtime, create_message) -> None:
    message_id, token = await create_message("question")
    state = await _submitted(token)
    assert state.step == "done" and state.receipt_ready
    pdf = _pdf_of(await state.download_receipt())
    assert state.done_reference in _text(pdf)
    entry = portal_runtime.store().by_message(message_id)
    assert entry.held_reply().receipt.size == len(pdf)
    kept = portal_runtime.receipts().get(message_id, datetime.now(UTC))
    assert kept.pdf == pdf and kept.reference == state.done_reference


async def test_a_receipt_that_cannot_be_made_refuses_before_received(
    portal_runtime, create_message, monkeypatch, tmp_path: Path
) -> None:
    from portal.settings import get_settings

    message_id, token = await create_message("question")
    monkeypatch.setenv("PORTAL_RECEIPT_FONTS_DIR", str(tmp_path / "no-fonts"))
    get_settings.cache_clear()
    state = await _submitted(token)
    assert state.step == "review" and state.done_reference == "" and not state.receipt_ready
    assert [p.code for p in state._problem_list] == ["receipt_failed"]
    assert portal_runtime.store().by_message(message_id) is None
    # The fonts back: the same submission goes through.
    monkeypatch.delenv("PORTAL_RECEIPT_FONTS_DIR")
    get_settings.cache_clear()
    await state.submit()
    assert state.step == "done" and state.receipt_ready


async def test_the_answered_page_offers_it_to_a_session_with_the_link_and_nobody_else(
    portal_runtime, create_message
) -> None:
    message_id, token = await create_message("question")
    first = await _submitted(token)
    pdf = _pdf_of(await first.download_receipt())

    # The link opened again, before the reply has reached the case service (the outbox says it
    # is answered) and after (the case service says so).
    later = await _reopened(token, "tab-2")
    assert (later.phase, later.error_code) == ("error", "link_answered")
    assert later.receipt_ready
    assert _pdf_of(await later.download_receipt()) == pdf
    async with portal_runtime.case_service() as client:
        await delivery.deliver_due(
            portal_runtime.store(), portal_runtime.file_storage(), client, portal_runtime.retry_policy()
        )
    assert portal_runtime.store().by_message(message_id).state == "delivered"
    delivered = await _reopened(token, "tab-4")
    assert (delivered.phase, delivered.error_code, delivered.receipt_ready) == ("error", "link_answered", True)
    assert _pdf_of(await delivered.download_receipt()) == pdf

    # A session without the link: nothing to offer, nothing to download, whatever it sends.
    stranger = _tab("tab-3")
    assert not stranger.receipt_ready
    assert await stranger.download_receipt() is None
    stranger.receipt_ready = True  # a browser cannot set it, but even so
    assert await stranger.download_receipt() is None
