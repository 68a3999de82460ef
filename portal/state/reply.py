"""The applicant's session: the verified link, the request, the draft reply and its submission.

The draft (``_draft``, server side: underscore vars never reach the browser) is the one record of
what the applicant answered: handlers write into it, and :meth:`ReplyState._render` derives every
var the page shows from it, never the other way. The rules are the domain's (portal.domain.draft,
steps, draft_files); :mod:`portal.presenter` builds the display objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import UTC, date, datetime

import reflex as rx

from portal import links, presenter, runtime
from portal.domain import draft as reply
from portal.domain import errors, steps
from portal.domain.clock import today
from portal.domain.message import MessageView
from portal.intake import pipeline as intake
from portal.outbox import commit_checks, delivery
from portal.server import ratelimit
from portal.state.binding import current_binding
from portal.state.focus import focus
from portal.state.language import LanguageState
from portal.state.uploads import UploadMixin

log = logging.getLogger(__name__)


def _one_over(value: str, cap: int) -> str:
    # The fields stop typing at the cap; a longer value (pasted, or sent by hand) keeps one
    # character more, so the draft's rule says "too long" rather than the text being cut silently.
    return value[: cap + 1]


class ReplyState(UploadMixin, LanguageState):
    """One applicant session behind one reply link."""

    # What the page shows (derived from the server-side parts by _render).
    # "checking" in the prerendered page, which a reply link is served before its token is verified.
    phase: str = "checking"  # none | checking | error | ready
    error_code: str = ""
    error_when: str = ""
    error_wait: str = ""  # how long a refused hand-over must wait, as a sentence
    msg: presenter.MessageDisplay = presenter.MessageDisplay()
    step: str = "overview"  # overview | item | text | extras | appointment | review | done
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
    # The client the link was verified from (state.binding); the session ends anywhere else.
    _bound_to: str = ""
    _wait_minutes: int = 0

    # ------------------------------------------------------------------ opening the link

    @rx.event
    async def on_reply_page(self):  # noqa: ANN201 - Reflex event handler
        """On load of /reply: verify the token a reply link handed over in the fragment, if any.

        The link /r/<token> is served this page's HTML and its head script (portal.links)
        moves the token into the fragment, which the load event carries here.
        """
        token = links.handed_over_token(self.router.url.fragment)
        if not token:
            # /reply opened directly (a new tab, a bookmark, a reload after the request was shown).
            if self.phase not in ("ready", "error"):
                self.phase = "none"
            return self._document_attributes()
        self._token = token
        specs = await self._verify_and_show()
        return [*specs, rx.call_script(links.CLEAR)]

    @rx.event
    async def retry(self):  # noqa: ANN201
        return await self._verify_and_show()

    async def _verify_and_show(self) -> list[rx.event.EventSpec]:
        await self._verify()
        # The language is picked once the case (and its preferred language) is known.
        specs = self._pick_initial(self._message.case.preferred_language if self._message else None)
        self._render()
        return specs

    async def _verify(self) -> None:
        """Counts the hand-over, then opens the link: its request, or the page that says why not."""
        self.phase = "checking"
        verdict = await ratelimit.count_handover(
            runtime.rate_limiter, runtime.rate_rules(), self.router.session.client_ip, self._token
        )
        if not verdict.allowed:
            self._fail(errors.RateLimited(retry_after=verdict.retry_after))
            self._wait_minutes = verdict.minutes
            return
        self._wait_minutes = 0
        try:
            async with runtime.case_service() as client:
                opened = await links.open_link(client, self._token)
        except (errors.LinkError, errors.CaseServiceUnavailable) as exc:
            self._fail(exc)
            return
        except errors.PortalError:
            # E.g. the case service refused our own request (ReplyRejected): no page of its own.
            self._fail(errors.PortalError())
            return
        message = opened.message
        if self._message is None or self._message.id != message.id:
            self._start_draft(message)
        self._message = message
        self._answered_at = None
        self._bound_to = current_binding(self)
        self.phase = "ready"
        # From now on this session, and only a session that got here, may send files.
        await asyncio.to_thread(
            runtime.link_sessions().open, self._client_token(), message.id, message.expires_at, datetime.now(UTC)
        )

    def _client_token(self) -> str:
        return self.router.session.client_token

    async def _link_still_open(self) -> bool:
        """Opens the link again, as at first: a link revoked, expired or answered since it was
        opened gets its own page at once. An unreachable case service does not stop the applicant:
        the outbox keeps the reply until it can be delivered."""
        if not self._token:
            return False
        try:
            async with runtime.case_service() as client:
                await links.open_link(client, self._token)
        except errors.LinkError as exc:
            self._fail(exc)
            self._render()
            return False
        except errors.PortalError:
            return True
        with contextlib.suppress(Exception):  # seen now: its files still count for the message
            await asyncio.to_thread(runtime.link_sessions().touch, self._client_token(), datetime.now(UTC))
        return True

    def _fail(self, exc: errors.PortalError) -> None:
        self.phase = "error"
        self.error_code = exc.code
        # Only an answered link's page says when; any other failure leaves no time behind.
        self._answered_at = exc.answered_at if isinstance(exc, errors.LinkAnswered) else None
        # A refusal for now (service down, too many attempts) says nothing about the link.
        if not isinstance(exc, (errors.CaseServiceUnavailable, errors.RateLimited)):
            # The session must not keep a request the link no longer opens, nor send files.
            self._message = None
            self._draft = None
            with contextlib.suppress(Exception):
                runtime.link_sessions().close(self._client_token())

    def _start_draft(self, message: MessageView) -> None:
        self._draft = reply.Draft(
            items=[reply.ItemDraft(item_id=i.id, code=i.code, required=i.required) for i in message.requested_items],
        )
        self._uploads = {}
        self._problem_list = []
        self._idempotency_key = ""
        self._go(steps.OVERVIEW)
        self.done_reference = ""

    async def _binding_lost(self) -> None:
        """An event from another address or browser than the link was opened in (state.binding):
        the session ends before anything of it is sent there; opening the link again starts anew."""
        self.reset()  # every field of this state, the server-side ones (token, draft) included
        self.phase = "error"
        self.error_code = "session_moved"
        with contextlib.suppress(Exception):  # nor may files come in under its client token
            await asyncio.to_thread(runtime.link_sessions().close, self._client_token())

    # ------------------------------------------------------------------ rendering

    def _render(self) -> None:
        self.error_when = presenter.format_when(self._answered_at, self.lang)
        minutes = self._wait_minutes
        self.error_wait = self._tr_wait(minutes) if minutes else ""
        self.done_received = presenter.format_when(self._received, self.lang)
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

    @rx.event
    def switch_language(self, lang: str):  # noqa: ANN201
        self._chosen = True
        specs = self._apply_language(lang)
        self._render()
        return [*specs, self.refocus_language_select()]

    # ------------------------------------------------------------------ steps

    def _steps(self) -> tuple[steps.Step, ...]:
        if self._message is None:
            return (steps.OVERVIEW,)
        return steps.steps_for(self._message.kind, len(self._message.requested_items))

    def _here(self) -> steps.Step:
        return steps.Step(self.step, self.item_index if self.step == "item" else 0)

    def _go(self, step: steps.Step) -> None:
        self.step, self.item_index = step.name, step.index

    def _move(self, delta: int) -> None:
        self._go(steps.move(self._steps(), self._here(), delta))
        self.announcement = ""
        self.upload_errors = []

    def _focus_heading(self) -> rx.event.EventSpec:
        # WCAG 2.4.3: after a step change focus moves to the new step's heading.
        return focus("step-heading", scroll="top")

    @rx.event
    async def next_step(self):  # noqa: ANN201
        if self._message is None or self._draft is None or not self._message.answerable:
            return None
        if not await self._link_still_open():
            return self._focus_heading()
        if self.step == "item":
            self._problem_list = reply.validate_item(self._draft.items[self.item_index], today())
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
        except Exception:  # noqa: BLE001
            log.warning("could not record a started draft")

    @rx.event
    async def previous_step(self):  # noqa: ANN201
        if self._message is None:
            return None
        if not await self._link_still_open():
            return self._focus_heading()
        self._problem_list = []
        self._move(-1)
        self._render()
        return self._focus_heading()

    @rx.event
    async def go_to(self, step: str, index: int = 0):  # noqa: ANN201
        target = steps.Step(step, index)
        if target not in self._steps():
            return None
        if not await self._link_still_open():
            return self._focus_heading()
        self._go(target)
        self._render()
        return self._focus_heading()

    @rx.event
    def fix_problem(self, field: str):  # noqa: ANN201
        """A link in the error summary: go to the step that holds the field, then focus it."""
        item_ids = [i.id for i in self._message.requested_items] if self._message is not None else []
        self._go(steps.step_for_field(field, item_ids))
        self._render()
        # Later than a heading's focus: the step the field is on is drawn first.
        return focus(field, scroll="into_view", delay_ms=80)

    def _focus_summary(self) -> rx.event.EventSpec:
        return focus("error-summary")

    # ------------------------------------------------------------------ the draft

    def _current_item(self) -> reply.ItemDraft | None:
        if self._draft is None or self.step != "item":
            return None
        return self._draft.items[self.item_index]

    @rx.event
    def set_not_available(self, checked: bool):  # noqa: ANN201
        item = self._current_item()
        if item is not None:
            item.not_available = bool(checked)
            self._render()

    @rx.event
    def set_reason(self, value: str):  # noqa: ANN201
        item = self._current_item()
        if item is not None:
            item.reason = _one_over(value, reply.MAX_REASON_CHARS)

    @rx.event
    def set_expected_date(self, value: str):  # noqa: ANN201
        item = self._current_item()
        if item is not None:
            try:
                item.expected_date = date.fromisoformat(value) if value else None
            except ValueError:
                item.expected_date = None

    @rx.event
    def set_text(self, value: str):  # noqa: ANN201
        if self._draft is not None:
            self._draft.text = _one_over(value, runtime.settings().max_text_chars)
            self._show_draft()

    @rx.event
    def set_extra_code(self, value: str):  # noqa: ANN201
        # The next further document's type and description: part of the draft once its file is.
        self.extra_code = value

    @rx.event
    def set_extra_description(self, value: str):  # noqa: ANN201
        self.extra_description = value[: reply.MAX_DESCRIPTION_CHARS]

    @rx.event
    def set_appointment_answer(self, value: str):  # noqa: ANN201
        if self._draft is not None:
            self._draft.appointment.answer = value if value in ("confirm", "reschedule") else ""
            self._show_draft()

    @rx.event
    def set_appointment_reason(self, value: str):  # noqa: ANN201
        if self._draft is not None:
            self._draft.appointment.reason = _one_over(value, reply.MAX_REASON_CHARS)
            self._show_draft()

    @rx.event
    def set_appointment_times(self, value: str):  # noqa: ANN201
        if self._draft is not None:
            self._draft.appointment.suitable_times = _one_over(value, reply.MAX_SUITABLE_TIMES_CHARS)
            self._show_draft()

    @rx.event
    def set_declaration(self, checked: bool):  # noqa: ANN201
        if self._draft is not None:
            self._draft.declaration = bool(checked)
            self._show_draft()

    # ------------------------------------------------------------------ submit

    @rx.event
    async def submit(self):  # noqa: ANN201
        """Commits the reply to the outbox, after everything that could refuse it later was checked.

        Once the page says "received" the reply reaches the case service: the draft's rules, the
        link's state (asked again now), the files on disk and the limits are all checked first.
        """
        if self._message is None or self._draft is None or self.step == "done" or not self._message.answerable:
            return None
        settings = runtime.settings()
        self._problem_list = reply.validate_draft(self._draft, self._message.kind, today(), settings.max_text_chars)
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
            commit_checks.files_intact, outgoing
        )
        if code is not None:
            self._problem_list = [reply.Problem(field="review", code=code)]
            self._render()
            return self._focus_summary()
        if not await self._link_still_open():
            return self._focus_heading()
        try:
            entry = await asyncio.to_thread(
                runtime.store().enqueue, self._message.id, outgoing, self._idempotency_key, now
            )
        except errors.LinkError as exc:
            self._fail(exc)
            return None
        delivery.kick()  # deliver now rather than at the loop's next poll
        with contextlib.suppress(Exception):  # the outbox entry now says more than the mark
            await asyncio.to_thread(runtime.drafts().forget, self._message.id)
        with contextlib.suppress(Exception):  # the files belong to the outbox; no more uploads
            await asyncio.to_thread(runtime.link_sessions().release_message, self._message.id)
            await asyncio.to_thread(runtime.link_sessions().close, self._client_token())
        self.done_reference = entry.reference
        self._received = entry.created_at
        self._go(steps.DONE)
        self._uploads = {}
        self._render()
        return self._focus_heading()
