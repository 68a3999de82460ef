"""The staff session of one browser tab, and the check every staff-only handler runs first.

``StaffSessionState`` holds who is signed in. The sign-in page and the list (``StaffState`` in
``state.staff``) and the preview (``PreviewState`` in ``state.staff_preview``) are its substates:
they share the one session, and neither module imports the other.

Staff sessions live in this state (one browser tab), never in a cookie: the applicant pages share
no state with them. Every page of the area checks the session on load and every staff-only
handler checks it again (``staff_only``), so an expired, missing or moved session always ends on
the sign-in page. A session is bound to the tab's address and browser (``state.binding``); when
it ends, for whatever reason, every staff state drops what it showed (``_forget``).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from portal import routes, runtime
from portal.domain import errors
from portal.domain.clock import now
from portal.staff.accounts import StaffSession, StaffUser, new_session
from portal.state.binding import binding_matches, current_binding
from portal.state.focus import focus
from portal.state.language import LanguageState

log = logging.getLogger(__name__)

SIGN_IN_ROUTE = routes.STAFF_SIGN_IN
HOME_ROUTE = routes.STAFF_HOME


def _reload_at_sign_in() -> EventSpec:
    # A full page load (not the router's navigation, and not rx.redirect's is_external, which
    # opens a new tab): nothing the staff pages held stays in the browser's memory.
    return rx.call_script(f"window.location.replace('{SIGN_IN_ROUTE}')")


async def _audit_entry(user: StaffUser, action: str, source: str, message_id: str | None = None) -> None:
    async with runtime.case_service() as client:
        await client.staff_audit(
            user.authority_id, actor=user.username, action=action, source=source, message_id=message_id
        )


async def audit_entry_quietly(user: StaffUser, action: str, source: str) -> None:
    # Sign-in and sign-out stand even when the log is briefly unreachable; previews and
    # revocations do not (they are refused instead).
    try:
        await _audit_entry(user, action, source)
    except errors.PortalError:
        log.warning("audit entry %s could not be written", action)


class StaffSessionState(LanguageState):
    signed_in: bool = False
    staff_name: str = ""
    authority_id: str = ""
    # What the sign-in page says about how the last session ended or why a sign-in was refused.
    sign_in_error: str = ""  # a locale key
    sign_in_wait: str = ""  # a filled text: how long a refused sign-in must wait
    # Signed out on purpose: with single sign-on, do not sign straight back in from the headers.
    signed_out: bool = False

    _session: StaffSession | None = None
    # The connection the session was started from: a copied client token alone is not enough.
    _bound_to: str = ""

    def _session_holds(self, moment: datetime) -> StaffSession | None:
        """The session, if it is still valid and this event came from the client it is bound to."""
        session = self._session
        if session is None or not session.is_valid(moment) or not binding_matches(self, self._bound_to):
            return None
        return session

    async def _user(self) -> StaffUser | None:
        """The signed-in staff member, extending the session; None when there is none (any more),
        and then the session has ended."""
        moment = now()
        session = self._session_holds(moment)
        if session is None:
            await self._end_session()
            return None
        self._session = session.touch(moment)
        return session.user

    def _start(self, user: StaffUser) -> None:
        self._session = new_session(user, now(), runtime.settings().staff_session_minutes)
        self._bound_to = current_binding(self)
        self.signed_out = False
        self.signed_in = True
        self.staff_name = user.display_name or user.username
        self.authority_id = user.authority_id
        self.sign_in_error = ""
        self.sign_in_wait = ""

    async def _end_session(self) -> None:
        had_session = self._session is not None or self.signed_in
        self._session = None
        self._bound_to = ""
        self.signed_in = False
        self.staff_name = ""
        self.authority_id = ""
        if not had_session:
            return  # nothing was shown without a session: nothing to load and clear
        # What the list and a preview showed stays in this tab's state (and the browser) otherwise.
        for cls in StaffSessionState.get_substates():
            substate = await self.get_state(cls)
            assert isinstance(substate, StaffSessionState)
            substate._forget()

    def _forget(self) -> None:
        """Drop what this state showed of the session; every staff state says what that is."""
        raise NotImplementedError(type(self).__name__)

    async def _binding_lost(self) -> None:
        """An event from another address or browser (state.binding): the session ends."""
        await self._end_session()
        self.sign_in_error = "staff.error.session_expired"
        self.sign_in_wait = ""

    @rx.event
    async def check_session(self) -> EventSpec | None:
        """Sent by the page every minute without extending the session: once it has ended, the
        screen with applicants' data goes and the sign-in page says why."""
        if self._session_holds(now()) is not None:
            return None
        was_signed_in = self.signed_in
        await self._end_session()
        if was_signed_in:
            self.sign_in_error = "staff.error.session_expired"
        return _reload_at_sign_in()

    @rx.event
    async def sign_out(self) -> EventSpec:
        user = await self._user()
        await self._end_session()
        self.signed_out = True
        self.sign_in_error = ""
        if user is not None:
            await self._audit_quietly(user, "sign_out")
        return _reload_at_sign_in()

    def _session_timer(self) -> EventSpec:
        return rx.call_script(
            "if(!window.__rkStaffTimer){window.__rkStaffTimer=setInterval(()=>{"
            "const b=document.getElementById('staff-session-check');if(b){b.click();}},60000);}"
        )

    def _source(self) -> str:
        return self.router.session.client_ip or "unknown"

    async def _audit(self, user: StaffUser, action: str, message_id: str | None = None) -> None:
        await _audit_entry(user, action, self._source(), message_id)

    async def _audit_quietly(self, user: StaffUser, action: str) -> None:
        await audit_entry_quietly(user, action, self._source())

    def _focus(self, element_id: str) -> EventSpec:
        return focus(element_id)


Handler = Callable[..., Coroutine[Any, Any, Any]]


def staff_only(handler: Handler) -> Handler:
    """For an event handler of a signed-in staff member: ``async def h(self, user, ...)``.

    Without a valid session (none, expired, or the event came from another address or browser)
    the session ends, the handler does not run and the browser goes to the sign-in page;
    otherwise the handler runs with the signed-in ``user``, and the session is extended. Reflex
    sees the handler without ``user`` (its signature and annotations), so a browser can only
    send the handler's own arguments.
    """
    if not inspect.iscoroutinefunction(handler):
        raise TypeError(f"{handler.__qualname__}: staff_only handlers are async")
    signature = inspect.signature(handler)
    this, user, *rest = signature.parameters.values()

    @functools.wraps(handler)
    async def guarded(self: StaffSessionState, *args: Any, **kwargs: Any) -> Any:
        signed_in = await self._user()
        if signed_in is None:
            return rx.redirect(SIGN_IN_ROUTE)
        return await handler(self, signed_in, *args, **kwargs)

    # inspect.signature reads __signature__ off a function; typeshed declares no such attribute.
    guarded.__signature__ = signature.replace(parameters=[this, *rest])  # type: ignore[attr-defined]
    guarded.__annotations__ = {k: v for k, v in handler.__annotations__.items() if k != user.name}
    return guarded
