"""The reply link behind an applicant's session: opening it, asking it again, losing it.

A mixin of :class:`portal.state.reply.ReplyState`, kept apart so each module stays readable. The
link's token reaches the page as :mod:`portal.links` says; opening it is counted against the hand-over
limits first (:mod:`portal.server.ratelimit`), binds the session to the client it came from
(:mod:`portal.state.binding`) and lets this session, and only it, send files
(:mod:`portal.protection.quotas`). A link that no longer opens ends the session's request and draft.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import reflex as rx
from reflex.event import EventSpec

from portal import links, metrics, runtime
from portal.domain import draft as reply
from portal.domain import errors, steps
from portal.domain.message import MessageView
from portal.intake import pipeline as intake
from portal.protection.clients import address_group
from portal.server import ratelimit
from portal.state.binding import current_binding
from portal.state.saving import Pulled


class LinkMixin(rx.State, mixin=True):
    """Handlers and helpers that open the session's reply link."""

    if TYPE_CHECKING:
        phase: str
        error_code: str
        done_reference: str
        _token: str
        _message: MessageView | None
        _draft: reply.Draft | None
        _uploads: dict[str, intake.StoredUpload]
        _problem_list: list[reply.Problem]
        _idempotency_key: str
        _answered_at: datetime | None
        _sent_extension: date | None
        _bound_to: str
        _wait_minutes: int

        def _render(self) -> None: ...
        def _go(self, step: steps.Step) -> None: ...
        def _document_attributes(self) -> EventSpec: ...
        def _pick_initial(self, recorded: str | None, *, remembered: bool = True) -> list[EventSpec]: ...
        def _receipt_after_failure(self, exc: errors.PortalError) -> None: ...
        def _withdraw_receipt(self) -> None: ...
        def _forget_saving(self) -> None: ...
        async def _restore_saved(self, message: MessageView) -> None: ...
        async def _pull_draft(self) -> Pulled: ...

    @rx.event
    async def on_reply_page(self) -> EventSpec | list[EventSpec]:
        """On load of /reply: verify the token a reply link handed over in the fragment, if any.

        The link /r/<token> is served this page's HTML and its head script (portal.links)
        moves the token into the fragment, which the load event carries here.
        """
        token, nonce = links.handed_over(self.router.url.fragment)
        if not token:
            # /reply opened directly (a new tab, a bookmark, a reload after the request was shown).
            if self.phase not in ("ready", "error"):
                self.phase = "none"
            return self._document_attributes()
        self._token = token
        specs = await self._verify_and_show(nonce)
        return [*specs, rx.call_script(links.CLEAR)]

    @rx.event
    async def retry(self) -> list[EventSpec]:
        return await self._verify_and_show()

    async def _verify_and_show(self, nonce: str = "") -> list[EventSpec]:
        if not await self._verify(nonce):
            metrics.count_link_opening(metrics.OPENED if self.phase == "ready" else self.error_code)
        # The language is picked once the case (and the language it records, if any) is known.
        specs = self._pick_initial(self._message.case.preferred_language if self._message else None)
        self._render()
        return specs

    async def _verify(self, nonce: str = "") -> bool:
        """Counts the hand-over, then opens the link: its request, or the page that says why not.

        With the ``nonce`` of the page's first response (which opened the link already, see
        ``portal.server.link_page``), the outcome kept under it is taken instead, once, for the
        same token from the same address; without a fitting one, the link is opened here. True
        when the outcome was the first response's (which counted the opening already)."""
        self.phase = "checking"
        verdict = await ratelimit.count_handover(
            runtime.rate_limiter, runtime.rate_rules(), self.router.session.client_ip, self._token
        )
        if not verdict.allowed:
            self._fail(errors.RateLimited(retry_after=verdict.retry_after))
            self._wait_minutes = verdict.minutes
            return False
        self._wait_minutes = 0
        kept = runtime.handovers().redeem(nonce, self._token, address_group(self.router.session.client_ip))
        if isinstance(kept, errors.PortalError):
            self._fail(kept)
            return True
        try:
            if kept is not None:
                opened = kept
            else:
                async with runtime.case_service() as client:
                    opened = await links.open_link(client, self._token)
        except (errors.LinkError, errors.CaseServiceUnavailable) as exc:
            self._fail(exc)
            return False
        except errors.PortalError:
            # E.g. the case service refused our own request (ReplyRejected): no page of its own.
            self._fail(errors.PortalError())
            return False
        message = opened.message
        if await self._committed_here(message.id):
            return kept is not None
        if self._message is None or self._message.id != message.id or self._draft is None:
            self._message = message
            self._start_draft(message)
            await self._restore_saved(message)
        else:
            self._message = message
            await self._pull_draft()  # saved meanwhile in another browser
        self._answered_at = None
        self._bound_to = current_binding(self)
        self.phase = "ready"
        # From now on this session, and only a session that got here, may send files.
        await asyncio.to_thread(
            runtime.link_sessions().open, self._client_token(), message.id, message.expires_at, datetime.now(UTC)
        )
        return kept is not None

    async def _committed_here(self, message_id: str) -> bool:
        """A reply to the message is in this portal's outbox, not delivered yet (the case service
        still says open): the link shows the answered page, with the receipt, as once delivered."""
        try:
            entry = await asyncio.to_thread(runtime.store().by_message, message_id)
        except Exception:
            return False  # the submit would find it and say so
        if entry is None:
            return False
        self._fail(errors.LinkAnswered(answered_at=entry.created_at, message_id=message_id))
        return True

    def _client_token(self) -> str:
        return self.router.session.client_token

    async def _link_still_open(self) -> bool:
        """Checks the link again by the same rules as at first (``links.check_link``): a link
        revoked, expired or answered since it was opened gets its own page at once. An unreachable
        case service does not stop the applicant: the outbox keeps the reply until it can be
        delivered."""
        if not self._token:
            return False
        try:
            async with runtime.case_service() as client:
                await links.check_link(client, self._token)
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
        self._receipt_after_failure(exc)
        self.phase = "error"
        self.error_code = exc.code
        # Only an answered link's page says when; any other failure leaves no time behind.
        self._answered_at = exc.answered_at if isinstance(exc, errors.LinkAnswered) else None
        # A refusal for now (service down, too many attempts) says nothing about the link.
        if not isinstance(exc, (errors.CaseServiceUnavailable, errors.RateLimited)):
            # The session must not keep a request the link no longer opens, nor send files.
            self._message = None
            self._draft = None
            self._forget_saving()
            with contextlib.suppress(Exception):
                runtime.link_sessions().close(self._client_token())

    def _start_draft(self, message: MessageView) -> None:
        self._draft = reply.empty_draft(message)
        self._uploads = {}
        self._problem_list = []
        self._idempotency_key = ""
        self._go(steps.OVERVIEW)
        self.done_reference = ""
        self._sent_extension = None
        self._withdraw_receipt()

    async def _binding_lost(self) -> None:
        """An event from another address or browser than the link was opened in (state.binding):
        the session ends before anything of it is sent there; opening the link again starts anew."""
        # Every field of this state, the server-side ones (token, draft) included. Reflex's
        # BaseState.reset carries no annotations, so the strict check calls it untyped.
        self.reset()  # type: ignore[no-untyped-call]
        self.phase = "error"
        self.error_code = "session_moved"
        with contextlib.suppress(Exception):  # nor may files come in under its client token
            await asyncio.to_thread(runtime.link_sessions().close, self._client_token())
