"""Asking for more time: a mixin of :class:`portal.state.reply.ReplyState`.

Asking adds the request's step right after the overview (``portal.domain.steps``) and lets the
requested items stay open; withdrawing removes both, and the usual rules stand again. The rules
of the request are the domain's (:mod:`portal.domain.extension`).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import reflex as rx
from reflex.event import EventSpec

from portal import presenter
from portal.domain import draft as reply
from portal.domain import steps
from portal.domain.clock import today
from portal.domain.extension import MAX_EXTENSION_REASON_CHARS, ExtensionDraft
from portal.domain.message import MessageView
from portal.state.saving import saves_draft, saves_draft_value


class ExtensionMixin(rx.State, mixin=True):
    """The request for more time: asked, its date and reason, withdrawn."""

    extension: presenter.ExtensionDisplay = presenter.ExtensionDisplay()
    max_extension_reason_chars: int = MAX_EXTENSION_REASON_CHARS

    if TYPE_CHECKING:
        _draft: reply.Draft | None
        _message: MessageView | None
        _problem_list: list[reply.Problem]
        step: str
        lang: str

        def _render(self) -> None: ...
        def _go(self, step: steps.Step) -> None: ...
        def _focus_heading(self) -> EventSpec: ...
        async def _link_still_open(self) -> bool: ...
        @staticmethod
        def _mark_draft_started(message_id: str) -> None: ...

    def _show_extension(self) -> None:
        if self._message is None or self._draft is None:
            return
        self.extension = presenter.extension_display(self._message, self._draft, self._problem_list, self.lang, today())

    def _may_ask(self) -> bool:
        message = self._message
        return (
            message is not None
            and self._draft is not None
            and message.kind in reply.KINDS_WITH_ITEMS
            and self.step != steps.DONE.name
        )

    @rx.event
    @saves_draft
    async def ask_for_more_time(self) -> EventSpec | None:
        """To the request's step; a request already begun keeps its date and reason."""
        if not self._may_ask() or self._draft is None or self._message is None:
            return None
        if not await self._link_still_open():
            return self._focus_heading()
        if self._draft.extension is None:
            self._draft.extension = ExtensionDraft()
        self._mark_draft_started(self._message.id)
        self._problem_list = []
        self._go(steps.EXTENSION)
        self._render()
        return self._focus_heading()

    @rx.event
    @saves_draft
    async def withdraw_more_time(self) -> EventSpec | None:
        """The request is dropped before sending; from its own step the walk starts again."""
        if not self._may_ask() or self._draft is None:
            return None
        if not await self._link_still_open():
            return self._focus_heading()
        self._draft.extension = None
        self._problem_list = []
        if self.step == steps.EXTENSION.name:
            self._go(steps.OVERVIEW)
        self._render()
        return self._focus_heading()

    @rx.event
    @saves_draft_value
    def set_extension_until(self, value: str) -> None:
        request = self._draft.extension if self._draft is not None else None
        if request is None:
            return
        try:
            request.until = date.fromisoformat(value) if value else None
        except ValueError:
            request.until = None
        self._show_extension()

    @rx.event
    @saves_draft_value
    def set_extension_reason(self, value: str) -> None:
        request = self._draft.extension if self._draft is not None else None
        if request is None:
            return
        # One character over the cap, so the rule says "too long" rather than cutting silently.
        request.reason = value[: MAX_EXTENSION_REASON_CHARS + 1]
        self._show_extension()
