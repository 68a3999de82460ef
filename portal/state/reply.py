"""The applicant's session: the verified link, the request, the draft reply and its submission.

The draft (``_draft``, server side: underscore vars never reach the browser) is the one record of
what the applicant answered: handlers write into it, and :meth:`ReplyState._render` derives every
var the page shows from it, never the other way. The rules are the domain's (portal.domain.draft,
steps, draft_files); :mod:`portal.presenter` builds the display objects.

This module holds the state's vars, its rendering, the walk through the steps and the submission;
its mixins hold the rest: opening the link (:mod:`portal.state.link`), the answers
(:mod:`portal.state.answers`) and the files (:mod:`portal.state.uploads`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import UTC, date, datetime

import reflex as rx
from reflex.event import EventSpec

from portal import presenter, runtime
from portal.domain import draft as reply
from portal.domain import errors, steps
from portal.domain.clock import today
from portal.domain.message import MessageView
from portal.intake import pipeline as intake
from portal.outbox import commit_checks, delivery
from portal.state.answers import AnswersMixin
from portal.state.calendar import CalendarMixin
from portal.state.extension import ExtensionMixin
from portal.state.focus import focus
from portal.state.language import LanguageState
from portal.state.link import LinkMixin
from portal.state.receipt import ReceiptMixin
from portal.state.saving import DraftSavingMixin, Pulled, saves_draft
from portal.state.uploads import UploadMixin

log = logging.getLogger(__name__)


class ReplyState(
    LinkMixin, AnswersMixin, ExtensionMixin, UploadMixin, CalendarMixin, DraftSavingMixin, ReceiptMixin, LanguageState
):
    """One applicant session behind one reply link."""

    # What the page shows (derived from the server-side parts by _render).
    # "checking" in the prerendered page, which a reply link is served before its token is verified.
    phase: str = "checking"  # none | checking | error | ready
    error_code: str = ""
    error_when: str = ""
    error_wait: str = ""  # how long a refused hand-over must wait, as a sentence
    msg: presenter.MessageDisplay = presenter.MessageDisplay()
    step: str = "overview"  # overview | extension | item | text | extras | appointment | review | done
    item_index: int = 0
    items: list[presenter.ItemDisplay] = []
    extras: list[presenter.ExtraDisplay] = []
    extra_codes: list[dict[str, str]] = []
    extra_code: str = "other"
    extra_description: str = ""
    text: str = ""
    appointment_answer: str = ""
    appointment_reason: str = ""
    appointment_times: str = ""
    declaration: bool = False
    # The draft's length caps, for the fields' max_length (the rules in portal.domain.draft).
    max_reason_chars: int = reply.MAX_REASON_CHARS
    max_suitable_times_chars: int = reply.MAX_SUITABLE_TIMES_CHARS
    max_description_chars: int = reply.MAX_DESCRIPTION_CHARS
    problems: list[presenter.ProblemDisplay] = []
    announcement: str = ""
    upload_errors: list[str] = []
    done_reference: str = ""
    done_received: str = ""
    done_extension: str = ""  # the request for more time sent, and that the deadline stands
    # The receipt of the reply this session sent, or whose link it holds (portal.state.receipt).
    receipt_ready: bool = False
    receipt_gone: bool = False
    max_text_chars: int = runtime.settings().max_text_chars

    # What stays on the server.
    _token: str = ""
    _message: MessageView | None = None
    _draft: reply.Draft | None = None
    _uploads: dict[str, intake.StoredUpload] = {}
    _problem_list: list[reply.Problem] = []
    _idempotency_key: str = ""
    _answered_at: datetime | None = None
    _received: datetime | None = None
    _sent_extension: date | None = None
    _receipt_message_id: str = ""
    # The client the link was verified from (state.binding); the session ends anywhere else.
    _bound_to: str = ""
    _wait_minutes: int = 0

    # ------------------------------------------------------------------ rendering

    def _render(self) -> None:
        self.error_when = presenter.format_when(self._answered_at, self.lang)
        minutes = self._wait_minutes
        self.error_wait = self._tr_wait(minutes) if minutes else ""
        self.done_received = presenter.format_when(self._received, self.lang)
        deadline = self._message.deadline if self._message is not None else None
        sent = self._sent_extension
        self.done_extension = presenter.extension_summary(sent, deadline, self.lang) if sent is not None else ""
        self._show_saving()
        if self._message is None or self._draft is None:
            return
        self._show_draft()
        self.msg = presenter.message_display(self._message, self.lang, today())
        self.items = presenter.items_display(self._message, self._draft, self._uploads, self._problem_list, self.lang)
        self.extras = presenter.extras_display(self._draft, self._uploads, self.lang)
        self.extra_codes = presenter.extra_code_options(self.lang)
        self.problems = presenter.problems_display(self._problem_list, self.lang)

    def _show_draft(self) -> None:
        """The draft's own answers, as the page shows them (a part of :meth:`_render`, cheap enough
        for every keystroke's event)."""
        if self._draft is None:
            return
        self.text = self._draft.text
        self.appointment_answer = self._draft.appointment.answer
        self.appointment_reason = self._draft.appointment.reason
        self.appointment_times = self._draft.appointment.suitable_times
        self.declaration = self._draft.declaration
        self._show_extension()

    @rx.event
    def switch_language(self, lang: str) -> list[EventSpec]:
        specs = self._change_language(lang)
        self._remember_language()
        self._render()
        return specs

    # ------------------------------------------------------------------ steps

    def _steps(self) -> tuple[steps.Step, ...]:
        if self._message is None:
            return (steps.OVERVIEW,)
        more_time = self._draft is not None and self._draft.extension is not None
        return steps.steps_for(self._message.kind, len(self._message.requested_items), more_time)

    def _here(self) -> steps.Step:
        return steps.Step(self.step, self.item_index if self.step == "item" else 0)

    def _go(self, step: steps.Step) -> None:
        self.step, self.item_index = step.name, step.index

    def _move(self, delta: int) -> None:
        self._go(steps.move(self._steps(), self._here(), delta))
        self.announcement = ""
        self.upload_errors = []

    def _focus_heading(self) -> EventSpec:
        # WCAG 2.4.3: after a step change focus moves to the new step's heading.
        return focus("step-heading", scroll="top")

    @rx.event
    @saves_draft
    async def next_step(self) -> EventSpec | None:
        if self._message is None or self._draft is None or not self._message.answerable:
            return None
        if not await self._link_still_open():
            return self._focus_heading()
        if self.step == "item":
            more_time = self._draft.extension is not None
            self._problem_list = reply.validate_item(self._draft.items[self.item_index], today(), more_time)
        elif self.step == "extension":
            self._problem_list = reply.validate_extension(self._draft.extension, today(), self._message.deadline)
        elif self.step == "appointment":
            self._problem_list = reply.validate_appointment(self._draft.appointment)
        else:
            self._problem_list = []
        if self._problem_list:
            self._render()
            return self._focus_summary()
        if self.step == "overview":
            self._mark_draft_started(self._message.id)
        self._move(+1)
        self._render()
        return self._focus_heading()

    @staticmethod
    def _mark_draft_started(message_id: str) -> None:
        # For the staff list's "draft started"; a failure here must not stop the applicant.
        try:
            runtime.drafts().mark(message_id, datetime.now(UTC))
        except Exception:
            log.warning("could not record a started draft")

    @rx.event
    @saves_draft
    async def previous_step(self) -> EventSpec | None:
        if self._message is None:
            return None
        if not await self._link_still_open():
            return self._focus_heading()
        self._problem_list = []
        self._move(-1)
        self._render()
        return self._focus_heading()

    @rx.event
    @saves_draft
    async def go_to(self, step: str, index: int = 0) -> EventSpec | None:
        target = steps.Step(step, index)
        # Nothing leads back from the confirmation: the reply is committed, its files handed on.
        if self.step == steps.DONE.name or target not in self._steps():
            return None
        if not await self._link_still_open():
            return self._focus_heading()
        self._go(target)
        self._render()
        return self._focus_heading()

    @rx.event
    @saves_draft
    def fix_problem(self, field: str) -> EventSpec:
        """A link in the error summary: go to the step that holds the field, then focus it."""
        if self.step == steps.DONE.name:
            return focus("step-heading")
        item_ids = [i.id for i in self._message.requested_items] if self._message is not None else []
        self._go(steps.step_for_field(field, item_ids))
        self._render()
        # Later than a heading's focus: the step the field is on is drawn first.
        return focus(field, scroll="into_view", delay_ms=80)

    def _focus_summary(self) -> EventSpec:
        return focus("error-summary")

    # ------------------------------------------------------------------ submit

    async def _show_newer_draft(self) -> EventSpec | None:
        """What is sent must be what the applicant sees: another browser's newer draft is shown
        first (or, sent from there, the answered page); None when this session's is the latest."""
        pulled = await self._pull_draft()
        if pulled is Pulled.GONE:
            return self._focus_heading()
        if pulled is Pulled.NEWER:
            self._render()
            return focus("draft-notice")
        return None

    @rx.event
    async def submit(self) -> EventSpec | None:
        """Commits the reply to the outbox, after everything that could refuse it later was checked.

        Once the page says "received" the reply reaches the case service: the draft's rules, the
        link's state (asked again now), the files on disk and the limits are all checked first.
        """
        if self._message is None or self._draft is None or self.step == "done" or not self._message.answerable:
            return None
        if (shown := await self._show_newer_draft()) is not None:
            return shown
        settings = runtime.settings()
        self._problem_list = reply.validate_draft(
            self._draft, self._message.kind, today(), settings.max_text_chars, self._message.deadline
        )
        now = datetime.now(UTC)
        if self._message.expires_at <= now:
            self._fail(errors.LinkExpired())
            return None
        if self._problem_list:
            self._render()
            return self._focus_summary()
        if not self._idempotency_key:
            self._idempotency_key = secrets.token_urlsafe(24)
        try:
            outgoing = reply.build_reply(
                self._draft, self._message.kind, self._message.case.reference, self.lang, self._uploads, now
            )
        except errors.DraftError as exc:
            self._problem_list = [reply.Problem(field="review", code=exc.code)]
            self._render()
            return self._focus_summary()
        code = commit_checks.files_fit(outgoing, runtime.limits()) or await asyncio.to_thread(
            commit_checks.files_intact, outgoing, runtime.file_storage()
        )
        if code is not None:
            self._problem_list = [reply.Problem(field="review", code=code)]
            self._render()
            return self._focus_summary()
        if not await self._link_still_open():
            return self._focus_heading()
        # Asked again: another browser may have saved while the link was checked.
        if (shown := await self._show_newer_draft()) is not None:
            return shown
        try:
            entry = await self._commit_with_receipt(outgoing, now)
        except errors.LinkError as exc:
            self._fail(exc)
            return None
        if entry is None:
            self._problem_list = [reply.Problem(field="review", code="receipt_failed")]
            self._render()
            return self._focus_summary()
        delivery.kick()  # deliver now rather than at the loop's next poll
        with contextlib.suppress(Exception):  # the outbox entry now says more than the mark
            await asyncio.to_thread(runtime.drafts().forget, self._message.id)
        with contextlib.suppress(Exception):  # the draft is sent; its files belong to the outbox
            await asyncio.to_thread(runtime.saved_drafts().forget, self._message.id)
        with contextlib.suppress(Exception):  # the files belong to the outbox; no more uploads
            await asyncio.to_thread(runtime.link_sessions().release_message, self._message.id)
            await asyncio.to_thread(runtime.link_sessions().close, self._client_token())
        self.done_reference = entry.reference
        self._received = entry.created_at
        self._sent_extension = outgoing.extension_request.until if outgoing.extension_request else None
        self._go(steps.DONE)
        self._uploads = {}
        self._render()
        return self._focus_heading()
