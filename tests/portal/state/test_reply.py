"""The applicant's session in the real state tree: nothing is said to be received that the case
service would refuse, a link's allowance is shared by all of its sessions, hand-over limits and
the session's binding."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from reflex.istate.data import RouterData, SessionData
from reflex_components_core.core._upload import UploadFile

from portal.domain import draft as reply
from portal.domain import steps
from portal.state.binding import SessionBinding
from portal.state.reply import ReplyState
from portal.state.staff import StaffState
from tests.fixtures.corpus import blank_pdf
from tests.portal.conftest import authority_client, make_reply, replies_for
from tests.portal.state.conftest import set_connection, substate, tab, verified

PDF = blank_pdf()


async def _open(token: str, tab: str = "tab-1") -> ReplyState:
    """A browser tab that opened the reply link."""
    state = substate(ReplyState)
    state.router = RouterData(session=SessionData(client_token=tab, client_ip="127.0.0.1"))
    state._token = token
    await state._verify_and_show()
    assert state.phase == "ready", state.error_code
    return state


def _answer_without_files(state: ReplyState) -> None:
    assert state._draft is not None
    for item in state._draft.items:
        item.not_available = True
        item.reason = "Kommt nächste Woche"
    state.set_declaration(True)
    state.step = "review"


async def _upload(state: ReplyState, name: str = "vertrag.pdf", data: bytes = PDF) -> None:
    await state.upload([UploadFile(file=io.BytesIO(data), path=Path(name))])


async def _revoke(case_service: Any, message_id: str) -> None:
    async with authority_client(case_service) as http:
        response = await http.post(f"/api/v1/messages/{message_id}/revoke", json={"reason": "Test"})
    assert response.status_code in (200, 204), response.text


async def test_a_link_revoked_during_the_session_is_not_received(portal_runtime, case_service, create_message) -> None:  # noqa: ANN001
    message_id, token = await create_message("question")
    state = await _open(token)
    _answer_without_files(state)
    await _revoke(case_service, message_id)
    await state.submit()
    assert state.step != "done" and state.done_reference == ""
    assert (state.phase, state.error_code) == ("error", "link_revoked")
    assert portal_runtime.store().by_message(message_id) is None
    # Nor can the session send files any more.
    assert portal_runtime.link_sessions().message_of("tab-1", _now()) is None


async def test_a_revoked_link_shows_its_page_when_a_step_loads(portal_runtime, case_service, create_message) -> None:  # noqa: ANN001
    message_id, token = await create_message("question")
    state = await _open(token)
    await _revoke(case_service, message_id)
    await state.next_step()
    assert (state.phase, state.error_code) == ("error", "link_revoked")


async def test_an_answered_link_says_when_at_a_step_and_when_opened_again(
    portal_runtime,  # noqa: ANN001
    create_message,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    message_id, token = await create_message("question")
    state = await _open(token)
    # Answered from elsewhere (another tab, another device) while this page is open.
    answer = make_reply(tmp_path / "elsewhere", n_files=1, size=1000)
    async with portal_runtime.case_service() as client:
        await client.deliver_reply(message_id, answer, "idem-elsewhere")
    await state.next_step()
    assert (state.phase, state.error_code) == ("error", "link_answered")
    assert state._answered_at is not None and state.error_when != ""
    assert state._message is None and portal_runtime.link_sessions().message_of("tab-1", _now()) is None
    # The link opened anew shows the same page and the same time (in the language it has then).
    again = substate(ReplyState)
    again.router = RouterData(session=SessionData(client_token="tab-2", client_ip="127.0.0.1"))
    again._token = token
    await again._verify_and_show()
    assert (again.phase, again.error_code, again._answered_at) == ("error", "link_answered", state._answered_at)
    assert again.error_when != ""


async def test_a_file_changed_on_disk_is_caught_before_received(portal_runtime, create_message) -> None:  # noqa: ANN001
    message_id, token = await create_message("question")
    state = await _open(token)
    state.step, state.item_index = "item", 0
    await _upload(state)
    assert len(state._uploads) == 1, state.upload_errors
    _answer_without_files(state)
    state._draft.items[0].not_available = False
    (stored,) = state._uploads.values()
    stored.path.write_bytes(stored.path.read_bytes()[:-1] + b"X")
    await state.submit()
    assert state.step == "review" and state.done_reference == ""
    assert [p.code for p in state._problem_list] == ["upload_missing"]
    assert portal_runtime.store().by_message(message_id) is None


async def test_what_is_received_reaches_the_case_service(portal_runtime, case_service, create_message) -> None:  # noqa: ANN001
    from portal.outbox import delivery

    message_id, token = await create_message("question")
    state = await _open(token)
    state.step, state.item_index = "item", 0
    await _upload(state)
    _answer_without_files(state)
    state._draft.items[0].not_available = False
    await state.submit()
    assert state.step == "done" and state.done_reference
    async with portal_runtime.case_service() as client:
        await delivery.deliver_due(portal_runtime.store(), client, portal_runtime.retry_policy(), _now())
    (received,) = await replies_for(case_service, message_id)
    assert received["message_id"] == message_id
    assert portal_runtime.store().by_message(message_id).state == "delivered"


async def test_a_second_session_on_the_same_link_gets_no_fresh_allowance(
    portal_runtime,
    create_message,
    monkeypatch,  # noqa: ANN001
) -> None:
    monkeypatch.setenv("PORTAL_MAX_FILES_PER_REPLY", "2")
    from portal.settings import get_settings

    get_settings.cache_clear()
    _, token = await create_message("question")
    first, second = await _open(token, "tab-1"), await _open(token, "tab-2")
    for state in (first, second):
        state.step, state.item_index = "item", 0
    await _upload(first, "a.pdf")
    await _upload(first, "b.pdf")
    assert len(first._uploads) == 2
    await _upload(second, "c.pdf")
    assert second._uploads == {}
    assert second.upload_errors and "c.pdf" not in "".join(first.upload_errors)
    # Removing a file frees its place for any session of the link.
    await first.remove_file(next(iter(first._uploads)))
    await _upload(second, "c.pdf")
    assert len(second._uploads) == 1


async def test_a_submit_on_a_message_without_reply_is_refused_cleanly(portal_runtime, create_message) -> None:  # noqa: ANN001
    message_id, token = await create_message("status", deadline=None, requested_items=[])
    state = await _open(token)
    state.set_declaration(True)
    assert await state.submit() is None
    assert state.step != "done"
    assert portal_runtime.store().by_message(message_id) is None


def _now():  # noqa: ANN202
    from datetime import UTC, datetime

    return datetime.now(UTC)


MALFORMED = "not-a-token!"


@pytest.fixture
def limits(configure: Any) -> None:
    # No case service: a malformed token is refused before it is asked, but after it is counted.
    configure(link_opens_per_address=3, link_opens_per_link=2, case_service_url="http://127.0.0.1:9")


async def _hand_over(state: ReplyState, token: str) -> None:
    set_connection(state, state.router.session.client_ip, "Firefox/140", f"/reply#t={token}")
    await state.on_reply_page()


async def test_hand_overs_are_limited_per_address(limits: None) -> None:
    here = tab(ReplyState)
    for i in range(3):
        await _hand_over(here, f"{MALFORMED}{i}")
        assert here.error_code == "link_malformed"
    await _hand_over(here, f"{MALFORMED}x")
    assert (here.phase, here.error_code) == ("error", "too_many_attempts")
    assert here.error_wait == "Bitte warten Sie 1 Minute und versuchen Sie es dann noch einmal."
    # "Try again" is counted too.
    await here.retry()
    assert here.error_code == "too_many_attempts"
    elsewhere = tab(ReplyState, address="198.51.100.8")
    await _hand_over(elsewhere, f"{MALFORMED}y")
    assert elsewhere.error_code == "link_malformed" and elsewhere.error_wait == ""


async def test_hand_overs_are_limited_per_link(limits: None) -> None:
    for i in range(2):
        state = tab(ReplyState, address=f"198.51.100.{i}")
        await _hand_over(state, MALFORMED)
        assert state.error_code == "link_malformed"
    state = tab(ReplyState, address="198.51.100.50")
    await _hand_over(state, MALFORMED)
    assert state.error_code == "too_many_attempts"
    # The wait is said in the session's language.
    state.switch_language("en")
    assert state.error_wait == "Please wait 1 minute and then try again."


async def test_a_verified_session_ends_when_used_from_another_client(configure: Any) -> None:
    configure()
    state = tab(ReplyState)
    verified(state)
    binding = SessionBinding(ReplyState, StaffState)
    await binding.preprocess(None, state, None)  # type: ignore[arg-type]
    assert state.phase == "ready" and state._message is not None
    # The tab's client token replayed from another browser: nothing of the session reaches it.
    set_connection(state, "198.51.100.7", "curl/8.0", "/reply")
    await binding.preprocess(None, state, None)  # type: ignore[arg-type]
    assert (state.phase, state.error_code) == ("error", "session_moved")
    assert state._message is None and state._draft is None and state._token == "" and state.text == ""
    # Back at the first client it stays ended: only the link itself opens it again.
    set_connection(state, "198.51.100.7", "Firefox/140", "/reply")
    await binding.preprocess(None, state, None)  # type: ignore[arg-type]
    assert state.phase == "error" and state._message is None


# ---------------------------------------------------------------- steps, fix links, the draft on the page

IN_A_WEEK = datetime.now(UTC) + timedelta(days=7)
KINDS: dict[str, dict[str, Any]] = {
    "question": {},
    "intent_to_refuse": {},
    "appointment": {
        "requested_items": [],
        "appointment": {
            "starts_at": IN_A_WEEK.isoformat(),
            "ends_at": (IN_A_WEEK + timedelta(minutes=30)).isoformat(),
            "place": "Raum 1.043",
        },
    },
    "status": {"deadline": None, "requested_items": []},
    "not_responsible": {"deadline": None, "requested_items": [], "responsible_authority": {"name": "Landkreis"}},
}


def _where(state: ReplyState) -> steps.Step:
    return steps.Step(state.step, state.item_index)


def _answer_this_step(state: ReplyState) -> None:
    """What the applicant enters so that "next" may leave the step."""
    if state.step == "item":
        state.set_not_available(True)
        state.set_reason("Liegt mir noch nicht vor")
    elif state.step == "appointment":
        state.set_appointment_answer("confirm")


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_next_and_back_walk_the_steps_of_every_kind(portal_runtime, create_message, kind: str) -> None:  # noqa: ANN001
    _, token = await create_message(kind, **KINDS[kind])
    state = await _open(token)
    expected = steps.steps_for(kind, len(state._message.requested_items))
    walked = [_where(state)]
    for _ in range(len(expected)):
        _answer_this_step(state)
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


async def test_next_stays_on_an_unanswered_item_and_says_why(portal_runtime, create_message) -> None:  # noqa: ANN001
    _, token = await create_message("question")
    state = await _open(token)
    await state.next_step()
    assert _where(state) == steps.item(0)
    await state.next_step()
    assert _where(state) == steps.item(0)
    assert [(p.field, p.code) for p in state._problem_list] == [("item-1", "item_missing")]
    assert [p.field for p in state.problems] == ["item-1"]


async def test_each_fix_link_leads_to_the_step_of_its_field(portal_runtime, create_message) -> None:  # noqa: ANN001
    _, token = await create_message("question")
    state = await _open(token)
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
        state.fix_problem(field)
        assert _where(state) == target, field


async def test_a_fix_link_of_an_appointment_leads_to_its_answer(portal_runtime, create_message) -> None:  # noqa: ANN001
    _, token = await create_message("appointment", **KINDS["appointment"])
    state = await _open(token)
    state._go(steps.REVIEW)
    state.set_declaration(True)
    await state.submit()
    assert [p.field for p in state.problems] == ["appointment"]
    state.fix_problem("appointment")
    assert _where(state) == steps.APPOINTMENT


async def test_go_to_reaches_only_the_steps_of_the_message(portal_runtime, create_message) -> None:  # noqa: ANN001
    _, token = await create_message("appointment", **KINDS["appointment"])
    state = await _open(token)
    assert await state.go_to("item", 0) is None and _where(state) == steps.OVERVIEW
    assert await state.go_to("text") is None and _where(state) == steps.OVERVIEW
    await state.go_to("appointment")
    assert _where(state) == steps.APPOINTMENT


async def test_the_page_shows_the_draft_after_every_setter(portal_runtime, create_message) -> None:  # noqa: ANN001
    _, token = await create_message("appointment", **KINDS["appointment"])
    state = await _open(token)
    draft = state._draft
    state.set_text("Guten Tag")
    assert draft.text == state.text == "Guten Tag"
    state.set_appointment_answer("reschedule")
    assert draft.appointment.answer == state.appointment_answer == "reschedule"
    state.set_appointment_answer("whatever")  # only the two answers the page offers
    assert draft.appointment.answer == state.appointment_answer == ""
    state.set_appointment_reason("Ich bin verreist")
    assert draft.appointment.reason == state.appointment_reason == "Ich bin verreist"
    state.set_appointment_times("vormittags")
    assert draft.appointment.suitable_times == state.appointment_times == "vormittags"
    state.set_declaration(True)
    assert draft.declaration is state.declaration is True
    # Longer than a field allows: one character over is kept, so the rule can say "too long".
    state.set_appointment_reason("x" * 5000)
    assert len(draft.appointment.reason) == len(state.appointment_reason) == reply.MAX_REASON_CHARS + 1
    state.set_text("y" * 9000)
    assert len(draft.text) == len(state.text) == portal_runtime.settings().max_text_chars + 1
    # A language switch renders the page anew from the same draft.
    state.switch_language("de")
    assert state.text == draft.text and state.appointment_reason == draft.appointment.reason


async def test_what_is_sent_is_the_draft_the_page_showed(portal_runtime, case_service, create_message) -> None:  # noqa: ANN001
    from portal.outbox import delivery

    message_id, token = await create_message("appointment", **KINDS["appointment"])
    state = await _open(token)
    await state.next_step()
    state.set_appointment_answer("reschedule")
    state.set_appointment_reason("Ich bin verreist")
    state.set_appointment_times("ab dem 20. vormittags")
    await state.next_step()
    assert _where(state) == steps.REVIEW
    state.set_text("Mit freundlichen Grüßen")
    state.set_declaration(True)
    await state.submit()
    assert state.step == "done", state.problems
    async with portal_runtime.case_service() as client:
        await delivery.deliver_due(portal_runtime.store(), client, portal_runtime.settings(), _now())
    (received,) = await replies_for(case_service, message_id)
    assert received["appointment"]["reason"] == "Ich bin verreist"
    assert received["appointment"]["suitable_times"] == "ab dem 20. vormittags"
    assert received["text"] == "Mit freundlichen Grüßen"


def test_the_fields_caps_are_the_drafts() -> None:
    state = substate(ReplyState)
    assert (state.max_reason_chars, state.max_suitable_times_chars, state.max_description_chars) == (
        reply.MAX_REASON_CHARS,
        reply.MAX_SUITABLE_TIMES_CHARS,
        reply.MAX_DESCRIPTION_CHARS,
    )
    # Without a verified link there is no draft to write into.
    state.set_text("Hallo")
    assert state.text == "" and state._draft is None


async def test_a_removed_file_leaves_the_draft_the_disk_and_the_allowance(portal_runtime, create_message) -> None:  # noqa: ANN001
    message_id, token = await create_message("question")
    state = await _open(token)
    state._go(steps.item(0))
    await _upload(state)
    (stored,) = state._uploads.values()
    assert state._draft.items[0].files == [stored.id] and stored.path.exists()
    assert portal_runtime.link_sessions().usage(message_id).files == 1
    await state.remove_file(stored.id)
    assert state._draft.items[0].files == [] and state._uploads == {}
    assert not stored.path.exists()
    assert portal_runtime.link_sessions().usage(message_id).files == 0
    assert state.items[0].files == []
