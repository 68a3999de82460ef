"""Opening the reply link in the real state tree: a link that no longer opens gets its own page,
hand-overs are limited per address and per link, and a verified session is bound to its client."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from reflex.istate.data import RouterData, SessionData

from portal.domain import errors
from portal.protection.clients import address_group
from portal.state.binding import SessionBinding
from portal.state.reply import ReplyState
from portal.state.staff import StaffState
from portal.storage import LocalStorage
from tests.portal.conftest import make_reply
from tests.portal.state.conftest import opened, revoke, set_connection, substate, tab, verified


async def test_a_revoked_link_shows_its_page_when_a_step_loads(portal_runtime, case_service, create_message) -> None:
    message_id, token = await create_message("question")
    state = await opened(token)
    await revoke(case_service, message_id)
    await state.next_step()
    assert (state.phase, state.error_code) == ("error", "link_revoked")


async def test_an_answered_link_says_when_at_a_step_and_when_opened_again(
    portal_runtime,
    create_message,
    tmp_path: Path,
) -> None:
    message_id, token = await create_message("question")
    state = await opened(token)
    # Answered from elsewhere (another tab, another device) while this page is open.
    answer = make_reply(tmp_path, n_files=1, size=1000)
    async with portal_runtime.case_service() as client:
        await client.deliver_reply(message_id, answer, "idem-elsewhere", LocalStorage(tmp_path))
    await state.next_step()
    assert (state.phase, state.error_code) == ("error", "link_answered")
    assert state._answered_at is not None and state.error_when != ""
    assert state._message is None
    assert portal_runtime.link_sessions().message_of("tab-1", datetime.now(UTC)) is None
    # The link opened anew shows the same page and the same time (in the language it has then).
    again = substate(ReplyState)
    again.router = RouterData(session=SessionData(client_token="tab-2", client_ip="127.0.0.1"))
    again._token = token
    await again._verify_and_show()
    assert (again.phase, again.error_code, again._answered_at) == ("error", "link_answered", state._answered_at)
    assert again.error_when != ""


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


async def _hand_over_with(state: ReplyState, token: str, nonce: str) -> None:
    set_connection(state, state.router.session.client_ip, "Firefox/140", f"/reply#t={token}&n={nonce}")
    await state.on_reply_page()


async def test_the_first_responses_outcome_is_taken_once_instead_of_opening_again(
    portal_runtime, create_message
) -> None:
    _, token = await create_message("question")
    state = tab(ReplyState)
    here = address_group(state.router.session.client_ip)
    # What the link's first response kept; unlike what the case service says now, so the test
    # sees which one the session took.
    nonce = portal_runtime.handovers().issue(token, here, errors.LinkRevoked())
    await _hand_over_with(state, token, nonce)
    assert (state.phase, state.error_code) == ("error", "link_revoked")
    # The same nonce again (a replay, a second tab): used up, so the link is opened as without it.
    await _hand_over_with(state, token, nonce)
    assert state.phase == "ready"


async def test_a_nonce_of_another_address_or_token_is_not_taken(portal_runtime, create_message) -> None:
    _, token = await create_message("question")
    state = tab(ReplyState)
    elsewhere = portal_runtime.handovers().issue(token, "192.0.2.0/24", errors.LinkRevoked())
    await _hand_over_with(state, token, elsewhere)
    assert state.phase == "ready"
    here = address_group(state.router.session.client_ip)
    other_token = portal_runtime.handovers().issue("B" * 43, here, errors.LinkRevoked())
    await _hand_over_with(state, token, other_token)
    assert state.phase == "ready"
