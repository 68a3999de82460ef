"""The applicant's session in the real state tree: nothing is said to be received that the case
service would refuse, a link's allowance is shared by all of its sessions, the walk through the
steps and the fix links of the error summary."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from reflex_components_core.core._upload import UploadFile

from portal.domain import steps
from portal.state.reply import ReplyState
from tests.fixtures.corpus import blank_pdf
from tests.portal.conftest import replies_for
from tests.portal.state.conftest import KINDS, opened, revoke

PDF = blank_pdf()


async def _answer_without_files(state: ReplyState) -> None:
    assert state._draft is not None
    for item in state._draft.items:
        item.not_available = True
        item.reason = "Kommt nächste Woche"
    await state.set_declaration(True)
    state.step = "review"


async def _upload(state: ReplyState, name: str = "vertrag.pdf", data: bytes = PDF) -> None:
    await state.upload([UploadFile(file=io.BytesIO(data), path=Path(name))])


async def test_a_link_revoked_during_the_session_is_not_received(portal_runtime, case_service, create_message) -> None:
    message_id, token = await create_message("question")
    state = await opened(token)
    await _answer_without_files(state)
    await revoke(case_service, message_id)
    await state.submit()
    assert state.step != "done" and state.done_reference == ""
    assert (state.phase, state.error_code) == ("error", "link_revoked")
    assert portal_runtime.store().by_message(message_id) is None
    # Nor can the session send files any more.
    assert portal_runtime.link_sessions().message_of("tab-1", _now()) is None


async def test_a_file_changed_on_disk_is_caught_before_received(portal_runtime, create_message) -> None:
    message_id, token = await create_message("question")
    state = await opened(token)
    state.step, state.item_index = "item", 0
    await _upload(state)
    assert len(state._uploads) == 1, state.upload_errors
    await _answer_without_files(state)
    state._draft.items[0].not_available = False
    (stored,) = state._uploads.values()
    path = portal_runtime.files_dir() / stored.id
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    await state.submit()
    assert state.step == "review" and state.done_reference == ""
    assert [p.code for p in state._problem_list] == ["upload_missing"]
    assert portal_runtime.store().by_message(message_id) is None


async def test_what_is_received_reaches_the_case_service(portal_runtime, case_service, create_message) -> None:
    from portal.outbox import delivery

    message_id, token = await create_message("question")
    state = await opened(token)
    state.step, state.item_index = "item", 0
    await _upload(state)
    await _answer_without_files(state)
    state._draft.items[0].not_available = False
    await state.submit()
    assert state.step == "done" and state.done_reference
    # Nothing leads back from the confirmation, whatever a browser sends.
    await state.go_to("review")
    await state.fix_problem("text")
    assert state.step == "done"
    async with portal_runtime.case_service() as client:
        await delivery.deliver_due(
            portal_runtime.store(), portal_runtime.file_storage(), client, portal_runtime.retry_policy(), _now()
        )
    (received,) = await replies_for(case_service, message_id)
    assert received["message_id"] == message_id
    assert portal_runtime.store().by_message(message_id).state == "delivered"


async def test_a_second_session_on_the_same_link_gets_no_fresh_allowance(
    portal_runtime,
    create_message,
    monkeypatch,
) -> None:
    monkeypatch.setenv("PORTAL_MAX_FILES_PER_REPLY", "2")
    from portal.settings import get_settings

    get_settings.cache_clear()
    _, token = await create_message("question")
    first, second = await opened(token, "tab-1"), await opened(token, "tab-2")
    for state in (first, second):
        state.step, state.item_index = "item", 0
    await _upload(first, "a.pdf")
    await _upload(first, "b.pdf")
    assert len(first._uploads) == 2
    await _upload(second, "c.pdf")
    # Both sessions work on the one saved draft: the second sees the first one's files, and the
    # link's allowance is spent.
    assert sorted(u.original_name for u in second._uploads.values()) == ["a.pdf", "b.pdf"]
    assert second.upload_errors and "c.pdf" not in "".join(first.upload_errors)
    # Removing a file frees its place for any session of the link.
    await first.remove_file(next(iter(first._uploads)))
    await _upload(second, "c.pdf")
    assert len(second._uploads) == 2 and "c.pdf" in {u.original_name for u in second._uploads.values()}


async def test_a_submit_on_a_message_without_reply_is_refused_cleanly(portal_runtime, create_message) -> None:
    message_id, token = await create_message("status", deadline=None, requested_items=[])
    state = await opened(token)
    await state.set_declaration(True)
    assert await state.submit() is None
    assert state.step != "done"
    assert portal_runtime.store().by_message(message_id) is None


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


# ---------------------------------------------------------------- steps and fix links


def _where(state: ReplyState) -> steps.Step:
    return steps.Step(state.step, state.item_index)


async def _answer_this_step(state: ReplyState) -> None:
    """What the applicant enters so that "next" may leave the step."""
    if state.step == "item":
        await state.set_not_available(True)
        await state.set_reason("Liegt mir noch nicht vor")
    elif state.step == "appointment":
        await state.set_appointment_answer("confirm")


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_next_and_back_walk_the_steps_of_every_kind(portal_runtime, create_message, kind: str) -> None:
    _, token = await create_message(kind, **KINDS[kind])
    state = await opened(token)
    expected = steps.steps_for(kind, len(state._message.requested_items))
    walked = [_where(state)]
    for _ in range(len(expected)):
        await _answer_this_step(state)
        await state.next_step()
        assert state.problems == [], state.problems
        walked.append(_where(state))
    # Next on the review stays there (a message without reply never leaves its overview).
    assert walked == [*expected, expected[-1]]
    back = [_where(state)]
    for _ in range(len(expected)):
        await state.previous_step()
        back.append(_where(state))
    assert back == [*reversed(expected), expected[0]]


async def test_next_stays_on_an_unanswered_item_and_says_why(portal_runtime, create_message) -> None:
    _, token = await create_message("question")
    state = await opened(token)
    await state.next_step()
    assert _where(state) == steps.item(0)
    await state.next_step()
    assert _where(state) == steps.item(0)
    assert [(p.field, p.code) for p in state._problem_list] == [("item-1", "item_missing")]
    assert [p.field for p in state.problems] == ["item-1"]


async def test_each_fix_link_leads_to_the_step_of_its_field(portal_runtime, create_message) -> None:
    _, token = await create_message("question")
    state = await opened(token)
    await state.go_to("review")
    assert _where(state) == steps.REVIEW
    await state.submit()
    assert [p.field for p in state.problems] == ["item-1", "text", "declaration"]
    for field, target in [
        ("item-1", steps.item(0)),
        ("item-2", steps.item(1)),
        ("text", steps.TEXT),
        ("declaration", steps.REVIEW),
        ("extras", steps.REVIEW),
        ("item-7", steps.REVIEW),
    ]:
        await state.fix_problem(field)
        assert _where(state) == target, field


async def test_a_fix_link_of_an_appointment_leads_to_its_answer(portal_runtime, create_message) -> None:
    _, token = await create_message("appointment", **KINDS["appointment"])
    state = await opened(token)
    state._go(steps.REVIEW)
    await state.set_declaration(True)
    await state.submit()
    assert [p.field for p in state.problems] == ["appointment"]
    await state.fix_problem("appointment")
    assert _where(state) == steps.APPOINTMENT


async def test_go_to_reaches_only_the_steps_of_the_message(portal_runtime, create_message) -> None:
    _, token = await create_message("appointment", **KINDS["appointment"])
    state = await opened(token)
    assert await state.go_to("item", 0) is None and _where(state) == steps.OVERVIEW
    assert await state.go_to("text") is None and _where(state) == steps.OVERVIEW
    await state.go_to("appointment")
    assert _where(state) == steps.APPOINTMENT


async def test_what_is_sent_is_the_draft_the_page_showed(portal_runtime, case_service, create_message) -> None:
    from portal.outbox import delivery

    message_id, token = await create_message("appointment", **KINDS["appointment"])
    state = await opened(token)
    await state.next_step()
    await state.set_appointment_answer("reschedule")
    await state.set_appointment_reason("Ich bin verreist")
    await state.set_appointment_times("ab dem 20. vormittags")
    await state.next_step()
    assert _where(state) == steps.REVIEW
    await state.set_text("Mit freundlichen Grüßen")
    await state.set_declaration(True)
    await state.submit()
    assert state.step == "done", state.problems
    async with portal_runtime.case_service() as client:
        await delivery.deliver_due(
            portal_runtime.store(), portal_runtime.file_storage(), client, portal_runtime.retry_policy(), _now()
        )
    (received,) = await replies_for(case_service, message_id)
    assert received["appointment"]["reason"] == "Ich bin verreist"
    assert received["appointment"]["suitable_times"] == "ab dem 20. vormittags"
    assert received["text"] == "Mit freundlichen Grüßen"


async def test_a_removed_file_leaves_the_draft_and_the_allowance(portal_runtime, create_message) -> None:
    message_id, token = await create_message("question")
    state = await opened(token)
    state._go(steps.item(0))
    await _upload(state)
    (stored,) = state._uploads.values()
    assert state._draft.items[0].files == [stored.id] and portal_runtime.file_storage().exists(stored.id)
    assert portal_runtime.link_sessions().usage(message_id).files == 1
    await state.remove_file(stored.id)
    assert state._draft.items[0].files == [] and state._uploads == {}
    # The file itself goes with the retention purge once nothing refers to it.
    referenced = portal_runtime.saved_drafts().file_keys()
    assert stored.id not in referenced
    assert portal_runtime.link_sessions().usage(message_id).files == 0
    assert state.items[0].files == []
