"""The draft saved as the applicant goes: back after a restart and on another device, two browsers
never overwrite each other silently, and the page says when it was saved."""

from __future__ import annotations

import io

import pytest
from reflex.istate.data import RouterData, SessionData
from starlette.datastructures import UploadFile

from portal.domain import steps
from portal.domain.clock import BERLIN
from portal.domain.formatting import format_time
from portal.state.reply import ReplyState
from tests.fixtures.corpus import blank_pdf
from tests.portal.state.conftest import opened, substate

PDF = blank_pdf()


async def _half_answer(state: ReplyState) -> str:
    """Item 1 with a file, item 2 not available with a reason, a text; ends on the text step."""
    await state.next_step()  # overview -> item 1
    await state.upload([UploadFile(file=io.BytesIO(PDF), filename="Vertrag.pdf")])
    assert not state.upload_errors, state.upload_errors
    (file_id,) = state._uploads
    await state.next_step()  # item 2
    await state.set_not_available(True)
    await state.set_reason("Kommt nächste Woche")
    await state.next_step()  # text
    await state.set_text("Guten Tag")
    return file_id


@pytest.fixture(params=["local", "database"])
def storage_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, portal_runtime) -> str:
    monkeypatch.setenv("PORTAL_FILE_STORAGE", request.param)
    from portal.settings import get_settings

    get_settings.cache_clear()
    portal_runtime.file_storage.cache_clear()
    return request.param


async def test_a_restart_and_another_device_find_the_draft_as_it_was(
    storage_kind: str, portal_runtime, create_message
) -> None:
    message_id, token = await create_message("question")
    first = await opened(token, "phone")
    file_id = await _half_answer(first)
    saved_at = portal_runtime.saved_drafts().load(first._message.id).saved_at
    assert first.draft_saved == first._tr("draft.saved_at", time=format_time(saved_at, first.lang, BERLIN))
    assert first.draft_notice == ""

    # The portal restarts: every process-wide object is built anew; the session is gone.
    portal_runtime.store().dispose()
    for cached in (portal_runtime.store, portal_runtime.saved_drafts, portal_runtime.file_storage):
        cached.cache_clear()

    laptop = await opened(token, "laptop")
    assert laptop._draft == first._draft
    assert (laptop.step, laptop.text) == ("text", "Guten Tag")
    assert [f.name for f in laptop.items[0].files] == ["Vertrag.pdf"]
    assert portal_runtime.file_storage().exists(file_id)
    assert laptop.draft_saved == first.draft_saved
    # The laptop finishes; what is sent holds the phone's file.
    await laptop.next_step()  # extras
    await laptop.next_step()  # review
    await laptop.set_declaration(True)
    await laptop.submit()
    assert laptop.step == "done", laptop.problems
    entry = portal_runtime.store().by_message(message_id)
    assert [f.stored_as for f in entry.reply.files] == [file_id]
    # The draft is done: nothing saved is left to restore, the files belong to the outbox.
    assert portal_runtime.saved_drafts().load(message_id) is None


async def test_two_browsers_see_each_others_changes_and_never_overwrite_silently(
    portal_runtime, create_message
) -> None:
    _, token = await create_message("question")
    phone, laptop = await opened(token, "phone"), await opened(token, "laptop")
    for state in (phone, laptop):
        state._go(steps.TEXT)
    await phone.set_text("vom Telefon")
    # The laptop's entry was made on the page before it knew the phone's: not applied over it.
    await laptop.set_declaration(True)
    assert laptop._draft.text == "vom Telefon" and not laptop._draft.declaration
    assert laptop.draft_notice == laptop._tr("draft.conflict")
    assert laptop.draft_generation == 1  # the step's fields are drawn anew with the phone's text
    # Made again on the page that now shows the phone's draft, it is saved.
    await laptop.set_declaration(True)
    assert laptop._draft.declaration and laptop.draft_notice == ""
    # A step taken on top of another browser's changes just shows them, and says so.
    await phone.go_to("review")
    assert phone._draft.declaration and phone.step == "review"
    assert phone.draft_notice == phone._tr("draft.changed_elsewhere")

    # A save racing another one (both started from the same version) is refused and says so.
    laptop._draft_version -= 1
    laptop._draft.text = "überholt"
    await laptop._push_draft()
    assert laptop.draft_notice == laptop._tr("draft.conflict")
    assert laptop._draft.text == "vom Telefon"
    saved = portal_runtime.saved_drafts().load(laptop._message.id)
    assert saved.body["text"] == "vom Telefon"


async def test_after_a_reply_from_another_browser_nothing_changes_and_its_files_stay(
    portal_runtime, create_message
) -> None:
    message_id, token = await create_message("question")
    phone = await opened(token, "phone")
    file_id = await _half_answer(phone)
    laptop = await opened(token, "laptop")
    laptop._go(steps.item(0))
    phone._go(steps.REVIEW)
    await phone.set_declaration(True)
    await phone.submit()
    assert phone.step == "done", phone.problems
    # The laptop, still showing the draft, removes the file the phone just sent.
    await laptop.remove_file(file_id)
    assert (laptop.phase, laptop.error_code) == ("error", "link_answered")
    assert laptop.error_when != ""  # when the phone's reply was received
    assert portal_runtime.saved_drafts().load(message_id) is None  # no draft brought back
    assert portal_runtime.file_storage().exists(file_id)
    entry = portal_runtime.store().by_message(message_id)
    assert [f.stored_as for f in entry.reply.files] == [file_id]


async def test_a_submit_shows_another_browsers_newer_draft_first(portal_runtime, create_message) -> None:
    _, token = await create_message("question")
    phone, laptop = await opened(token, "phone"), await opened(token, "laptop")
    for state in (phone, laptop):
        state._go(steps.TEXT)
    await laptop.set_text("alt")
    for item in laptop._draft.items:
        item.not_available, item.reason = True, "später"
    await laptop.set_declaration(True)
    await phone.go_to("text")  # shows the laptop's draft
    await phone.set_text("neu vom Telefon")
    laptop._go(steps.REVIEW)
    await laptop.submit()
    # Not sent: the laptop now shows the phone's draft and says why.
    assert laptop.step != "done" and portal_runtime.store().by_message(laptop._message.id) is None
    assert laptop._draft.text == "neu vom Telefon"
    assert laptop.draft_notice == laptop._tr("draft.changed_elsewhere")


async def test_a_draft_the_store_cannot_take_says_so(portal_runtime, create_message) -> None:
    _, token = await create_message("question")
    state = await opened(token)
    state._go(steps.TEXT)
    portal_runtime.store().dispose()
    with portal_runtime.store().engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE saved_drafts")
    await state.set_text("Hallo")
    # Kept in the session, and the page does not claim it was saved.
    assert state._draft.text == "Hallo"
    assert state.draft_saved == state._tr("draft.not_saved")


async def test_a_session_that_ended_elsewhere_starts_from_the_saved_draft(portal_runtime, create_message) -> None:
    _, token = await create_message("question")
    state = await opened(token)
    state._go(steps.TEXT)
    await state.set_text("vor dem Ende")
    again = substate(ReplyState)
    again.router = RouterData(session=SessionData(client_token="tab-1", client_ip="127.0.0.1"))
    again._token = token
    await again._verify_and_show()
    assert again._draft.text == "vor dem Ende" and again.step == "text"
