"""The applicant's session in the real state tree: nothing is said to be received that the case
service would refuse, a link's allowance is shared by all of its sessions, hand-over limits and
the session's binding."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from reflex.istate.data import RouterData, SessionData
from reflex_components_core.core._upload import UploadFile

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
    state.declaration = True
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
    state.declaration = True
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
