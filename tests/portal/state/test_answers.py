"""The applicant's answers in the real state tree: every field lands in the draft, and the page
shows the draft; the fields' caps are the draft's rules."""

from __future__ import annotations

from portal.domain import draft as reply
from portal.state.reply import ReplyState
from tests.portal.state.conftest import KINDS, opened, substate


async def test_the_page_shows_the_draft_after_every_setter(portal_runtime, create_message) -> None:
    _, token = await create_message("appointment", **KINDS["appointment"])
    state = await opened(token)
    draft = state._draft
    await state.set_text("Guten Tag")
    assert draft.text == state.text == "Guten Tag"
    await state.set_appointment_answer("reschedule")
    assert draft.appointment.answer == state.appointment_answer == "reschedule"
    await state.set_appointment_answer("whatever")  # only the two answers the page offers
    assert draft.appointment.answer == state.appointment_answer == ""
    await state.set_appointment_reason("Ich bin verreist")
    assert draft.appointment.reason == state.appointment_reason == "Ich bin verreist"
    await state.set_appointment_times("vormittags")
    assert draft.appointment.suitable_times == state.appointment_times == "vormittags"
    await state.set_declaration(True)
    assert draft.declaration is state.declaration is True
    # Longer than a field allows: one character over is kept, so the rule can say "too long".
    await state.set_appointment_reason("x" * 5000)
    assert len(draft.appointment.reason) == len(state.appointment_reason) == reply.MAX_REASON_CHARS + 1
    await state.set_text("y" * 9000)
    assert len(draft.text) == len(state.text) == portal_runtime.settings().max_text_chars + 1
    # A language switch renders the page anew from the same draft.
    state.switch_language("de")
    assert state.text == draft.text and state.appointment_reason == draft.appointment.reason


async def test_the_fields_caps_are_the_drafts() -> None:
    state = substate(ReplyState)
    assert (state.max_reason_chars, state.max_suitable_times_chars, state.max_description_chars) == (
        reply.MAX_REASON_CHARS,
        reply.MAX_SUITABLE_TIMES_CHARS,
        reply.MAX_DESCRIPTION_CHARS,
    )
    # Without a verified link there is no draft to write into.
    await state.set_text("Hallo")
    assert state.text == "" and state._draft is None
