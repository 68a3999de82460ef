"""The applicant's answers: one handler for each field of the draft the page offers.

A mixin of :class:`portal.state.reply.ReplyState`, kept apart so each module stays readable. Each
handler writes its value into the draft (``_draft``), which is then saved (``saves_draft_value``,
:mod:`portal.state.saving`), and shows the draft again; the draft's rules
(:mod:`portal.domain.draft`) judge the values when a step is left or the reply is sent.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import reflex as rx

from portal import runtime
from portal.domain import draft as reply
from portal.state.saving import saves_draft_value


def _one_over(value: str, cap: int) -> str:
    # The fields stop typing at the cap; a longer value (pasted, or sent by hand) keeps one
    # character more, so the draft's rule says "too long" rather than the text being cut silently.
    return value[: cap + 1]


class AnswersMixin(rx.State, mixin=True):
    """Handlers that write one field of the draft each."""

    if TYPE_CHECKING:
        _draft: reply.Draft | None
        step: str
        item_index: int
        extra_code: str
        extra_description: str

        def _render(self) -> None: ...
        def _show_draft(self) -> None: ...

    def _current_item(self) -> reply.ItemDraft | None:
        if self._draft is None or self.step != "item":
            return None
        return self._draft.items[self.item_index]

    @rx.event
    @saves_draft_value
    def set_not_available(self, checked: bool) -> None:
        item = self._current_item()
        if item is not None:
            item.not_available = bool(checked)
            self._render()

    @rx.event
    @saves_draft_value
    def set_reason(self, value: str) -> None:
        item = self._current_item()
        if item is not None:
            item.reason = _one_over(value, reply.MAX_REASON_CHARS)

    @rx.event
    @saves_draft_value
    def set_expected_date(self, value: str) -> None:
        item = self._current_item()
        if item is not None:
            try:
                item.expected_date = date.fromisoformat(value) if value else None
            except ValueError:
                item.expected_date = None

    @rx.event
    @saves_draft_value
    def set_text(self, value: str) -> None:
        if self._draft is not None:
            self._draft.text = _one_over(value, runtime.settings().max_text_chars)
            self._show_draft()

    @rx.event
    def set_extra_code(self, value: str) -> None:
        # The next further document's type and description: part of the draft once its file is.
        self.extra_code = value

    @rx.event
    def set_extra_description(self, value: str) -> None:
        self.extra_description = _one_over(value, reply.MAX_DESCRIPTION_CHARS)

    @rx.event
    @saves_draft_value
    def set_appointment_answer(self, value: str) -> None:
        if self._draft is not None:
            self._draft.appointment.answer = value if value in ("confirm", "reschedule") else ""
            self._show_draft()

    @rx.event
    @saves_draft_value
    def set_appointment_reason(self, value: str) -> None:
        if self._draft is not None:
            self._draft.appointment.reason = _one_over(value, reply.MAX_REASON_CHARS)
            self._show_draft()

    @rx.event
    @saves_draft_value
    def set_appointment_times(self, value: str) -> None:
        if self._draft is not None:
            self._draft.appointment.suitable_times = _one_over(value, reply.MAX_SUITABLE_TIMES_CHARS)
            self._show_draft()

    @rx.event
    @saves_draft_value
    def set_declaration(self, checked: bool) -> None:
        if self._draft is not None:
            self._draft.declaration = bool(checked)
            self._show_draft()
