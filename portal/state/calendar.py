"""The appointment as a calendar file, handed to the browser as a download.

A mixin of :class:`portal.state.reply.ReplyState`. The file is built on the server from the
verified link's message (:mod:`portal.domain.ics`) and travels over the session's websocket as a
``data:`` URL that the page saves: no address serves it, so nobody without the link can fetch it,
and no cache ever holds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import reflex as rx
from reflex.event import EventSpec

from portal import runtime
from portal.domain import draft as reply
from portal.domain import ics
from portal.domain.clock import now
from portal.domain.message import MessageView


class CalendarMixin(rx.State, mixin=True):
    """``download_calendar`` for the request page, the appointment step and the confirmation."""

    if TYPE_CHECKING:
        _message: MessageView | None
        _draft: reply.Draft | None
        phase: str
        step: str
        lang: str

    def _reschedule_requested(self) -> bool:
        """Only a request that was sent counts: until then the applicant may still change it."""
        return self.step == "done" and self._draft is not None and self._draft.appointment.answer == "reschedule"

    @rx.event
    def download_calendar(self) -> EventSpec | None:
        if self.phase != "ready" or self._message is None:
            return None
        host = urlsplit(runtime.settings().public_url).hostname or "localhost"
        data = ics.appointment_calendar(
            self._message, self.lang, host=host, stamp=now(), reschedule_requested=self._reschedule_requested()
        )
        if data is None:
            return None
        return rx.download(data=data, filename=ics.filename_for(self._message), mime_type=ics.MEDIA_TYPE)
