"""The receipt of a reply: made before the commit, offered on the confirmation and on the answered page.

A mixin of :class:`portal.state.reply.ReplyState`. The receipt names the reference and the time
received, so it is rendered (in a thread: it is CPU work) and stored before the outbox commits the
reply (``portal.outbox.receipt_file``); a receipt that cannot be made refuses the submission with
``receipt_failed`` while nothing is sent. Afterwards only a session that verified the message's
link may fetch it: the one that sent it (the confirmation), or one whose link the case service
(or this portal's outbox) reports answered. It reaches the browser over the session's websocket
(``rx.download`` with the bytes); there is no URL to guess or to share.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING

import reflex as rx
from reflex.event import EventSpec

from portal import runtime
from portal.domain import clock, errors
from portal.domain.message import MessageView
from portal.domain.outgoing import OutgoingReply
from portal.outbox import receipt_file
from portal.outbox.entries import OutboxEntry, ReferenceTaken, new_reference

log = logging.getLogger(__name__)

# A drawn reference taken already is about a one in 10^12 event; three draws end the question.
REFERENCE_DRAWS = 3


class ReceiptMixin(rx.State, mixin=True):
    """Making, keeping and handing out the receipt of this session's reply."""

    if TYPE_CHECKING:
        receipt_ready: bool
        receipt_gone: bool
        _receipt_message_id: str
        _message: MessageView | None
        _idempotency_key: str

    async def _commit_with_receipt(self, outgoing: OutgoingReply, now: datetime) -> OutboxEntry | None:
        """Renders and stores the receipt, then commits the reply with it; None (and nothing
        committed) when the receipt cannot be made. Raises what ``enqueue`` raises."""
        message = self._message
        assert message is not None
        settings = runtime.settings()
        for _ in range(REFERENCE_DRAWS):
            reference = new_reference()
            try:
                prepared = await asyncio.to_thread(
                    receipt_file.prepare,
                    message,
                    outgoing,
                    reference,
                    now,
                    runtime.file_storage(),
                    settings.receipt_fonts_dir,
                    runtime.limits(),
                )
            except Exception as exc:
                # Nothing is committed: the applicant is told so and may try again.
                log.error("could not make the receipt of a reply: %s", type(exc).__name__)
                return None
            try:
                entry = await asyncio.to_thread(
                    runtime.store().enqueue,
                    message.id,
                    prepared.reply,
                    self._idempotency_key,
                    now,
                    reference,
                    prepared.kept,
                )
            except ReferenceTaken:
                continue
            self._offer_receipt(message.id, ready=True)
            return entry
        return None

    def _offer_receipt(self, message_id: str, *, ready: bool | None = None) -> None:
        """This session holds the link of ``message_id``: its reply's receipt may be fetched."""
        self._receipt_message_id = message_id
        self.receipt_gone = False
        if ready is None:
            ready = False
            with contextlib.suppress(Exception):  # no receipt offered is the safe side
                ready = runtime.receipts().exists(message_id, clock.now())
        self.receipt_ready = ready

    def _withdraw_receipt(self) -> None:
        self._receipt_message_id = ""
        self.receipt_ready = False
        self.receipt_gone = False

    def _receipt_after_failure(self, exc: errors.PortalError) -> None:
        """What a link that no longer opens leaves of the receipt: an answered link's reply's."""
        if isinstance(exc, errors.LinkAnswered) and exc.message_id:
            self._offer_receipt(exc.message_id)
        elif isinstance(exc, errors.AlreadySubmitted) and self._message is not None:
            self._offer_receipt(self._message.id)
        elif not isinstance(exc, (errors.CaseServiceUnavailable, errors.RateLimited)):
            self._withdraw_receipt()

    @rx.event
    async def download_receipt(self) -> EventSpec | None:
        """The receipt as a download, for the session that holds its message's link."""
        if not self._receipt_message_id or not self.receipt_ready:
            return None
        try:
            found = await asyncio.to_thread(runtime.receipts().get, self._receipt_message_id, clock.now())
        except Exception:
            found = None
        if found is None:
            # The link has expired meanwhile (its receipt went with it), or the store is away.
            self.receipt_gone = True
            return None
        return rx.download(data=found.pdf, filename=found.file_name, mime_type="application/pdf")
