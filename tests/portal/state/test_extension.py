"""Asking for more time in the real state tree: the step appears and goes, the items may stay
open while it stands, and the case service receives the request as its own field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from portal import presenter
from portal.domain import formatting, steps
from portal.domain.clock import today
from portal.outbox import delivery
from portal.state.reply import ReplyState
from tests.portal.conftest import replies_for
from tests.portal.state.conftest import opened


def _where(state: ReplyState) -> steps.Step:
    return steps.Step(state.step, state.item_index)


async def _ask(state: ReplyState, days_after_deadline: int = 10, reason: str = "Der Arbeitgeber braucht länger") -> str:
    await state.ask_for_more_time()
    assert state._message is not None and state._message.deadline is not None
    until = (state._message.deadline + timedelta(days=days_after_deadline)).isoformat()
    await state.set_extension_until(until)
    await state.set_extension_reason(reason)
    return until


@pytest.mark.parametrize("kind", ["question", "intent_to_refuse"])
async def test_asked_alone_the_items_stay_open_and_the_authority_gets_the_field(
    portal_runtime, case_service, create_message, kind: str
) -> None:
    message_id, token = await create_message(kind)
    state = await opened(token)
    until = await _ask(state)
    assert _where(state) == steps.EXTENSION and state.extension.asked
    # Every required item may be left open: next walks through them without a word.
    while state.step != "review":
        await state.next_step()
        assert state.problems == [], state.problems
    await state.set_declaration(True)
    await state.submit()
    assert state.step == "done", state.problems
    # The confirmation says it is a request, and that the deadline stands until the authority answers.
    assert state._message is not None and state._message.deadline is not None
    deadline = state._message.deadline
    assert state.done_extension == presenter.extension_summary(date.fromisoformat(until), deadline, state.lang)
    assert formatting.format_date_long(deadline, state.lang) in state.done_extension
    async with portal_runtime.case_service() as client:
        await delivery.deliver_due(
            portal_runtime.store(),
            portal_runtime.file_storage(),
            client,
            portal_runtime.retry_policy(),
            datetime.now(UTC),
        )
    (received,) = await replies_for(case_service, message_id)
    assert received["extension_request"] == {"until": until, "reason": "Der Arbeitgeber braucht länger"}
    assert received["items"] == []


async def test_the_step_refuses_a_date_on_the_deadline_and_a_missing_reason(portal_runtime, create_message) -> None:
    _, token = await create_message("question")
    state = await opened(token)
    await _ask(state, days_after_deadline=0, reason=" ")
    await state.next_step()
    assert _where(state) == steps.EXTENSION
    assert [p.code for p in state._problem_list] == ["extension_date_not_after_deadline", "extension_reason_missing"]
    assert len(state.extension.errors) == 2 and state.problems[0].field == "extension"
    # The field offers only the dates allowed.
    assert state.extension.earliest > today().isoformat() and state.extension.latest > state.extension.earliest


async def test_withdrawn_the_step_goes_and_the_usual_rules_stand(portal_runtime, create_message) -> None:
    _, token = await create_message("question")
    state = await opened(token)
    await _ask(state)
    await state.withdraw_more_time()
    assert _where(state) == steps.OVERVIEW and not state.extension.asked
    assert steps.EXTENSION not in state._steps()
    await state.next_step()
    await state.next_step()  # the first item, unanswered
    assert [p.code for p in state._problem_list] == ["item_missing"]


async def test_withdrawn_on_the_review_the_review_stays(portal_runtime, create_message) -> None:
    _, token = await create_message("question")
    state = await opened(token)
    await _ask(state)
    await state.go_to("review")
    await state.withdraw_more_time()
    assert state.step == "review" and state._draft is not None and state._draft.extension is None
    await state.set_declaration(True)
    await state.submit()
    assert state.step == "review" and "item_missing" in [p.code for p in state._problem_list]


async def test_an_appointment_offers_no_more_time(portal_runtime, create_message) -> None:
    _, token = await create_message("appointment", deadline_in_days=14)
    state = await opened(token)
    assert await state.ask_for_more_time() is None
    assert state.step == "overview" and not state.msg.can_ask_more_time
