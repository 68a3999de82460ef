"""The staff area: signing in, the session, and the list of the authority's messages.

Staff sessions live in this state (one browser tab), never in a cookie: the applicant pages
share no state with them. Every page of the area checks the session on load and every event
checks it again, so an expired or missing session always ends on the sign-in page.

A session is bound to the tab's address and browser (``state.binding``) and never starts on the
credential the sign-in came from: a sign-in issues a one-time grant (``SignInGrants``), the page
drops its Reflex client token and loads ``/staff#g=<grant>`` with a new one, and that new session
redeems the grant. A token someone planted or read before the sign-in stays signed out.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Coroutine
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import reflex as rx

from portal import runtime
from portal.domain import errors
from portal.staff.accounts import StaffSession, StaffUser, identity_from_headers, new_session
from portal.staff.presenter import StaffRow, staff_rows
from portal.state.binding import binding_matches, current_binding
from portal.state.focus import focus
from portal.state.language import LanguageState

log = logging.getLogger(__name__)

SIGN_IN_ROUTE = "/staff/sign-in"
HOME_ROUTE = "/staff"
# The case service takes at most 64 characters for a reference or id.
MAX_QUERY_CHARS = 64
LIST_LIMIT = 50
GRANT_PREFIX = "g="
# argon2 is meant to be slow: one verification at a time per process, so a flood of sign-ins
# cannot take both cores from the applicants (refused attempts never get this far).
_PASSWORD_CHECKS = asyncio.Semaphore(1)


def _reload_at_sign_in() -> rx.event.EventSpec:
    # A full page load (not the router's navigation, and not rx.redirect's is_external, which
    # opens a new tab): nothing the staff pages held stays in the browser's memory.
    return rx.call_script(f"window.location.replace('{SIGN_IN_ROUTE}')")


def _hand_over(grant: str) -> rx.event.EventSpec:
    # A full page load with a new client token (Reflex makes one when the tab has none); the
    # grant travels in the fragment, which no request and no log carries.
    target = f"{HOME_ROUTE}#{GRANT_PREFIX}{grant}"
    return rx.call_script(f"sessionStorage.removeItem('token');window.location.replace('{target}')")


async def _audit_entry(user: StaffUser, action: str, source: str, message_id: str | None = None) -> None:
    async with runtime.case_service() as client:
        await client.staff_audit(
            user.authority_id, actor=user.username, action=action, source=source, message_id=message_id
        )


async def _audit_entry_quietly(user: StaffUser, action: str, source: str) -> None:
    # Sign-in and sign-out stand even when the log is briefly unreachable; previews and
    # revocations do not (they are refused instead).
    try:
        await _audit_entry(user, action, source)
    except errors.PortalError:
        log.warning("audit entry %s could not be written", action)


_BACKGROUND: set[asyncio.Task[None]] = set()


def _in_background(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.create_task(work)
    _BACKGROUND.add(task)  # the loop keeps only a weak reference
    task.add_done_callback(_BACKGROUND.discard)


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return datetime.now(ZoneInfo("Europe/Berlin")).date()


class StaffState(LanguageState):
    signed_in: bool = False
    staff_name: str = ""
    authority_id: str = ""
    # Set on load, not as a default: defaults are compiled into the built frontend.
    header_mode: bool = False
    sign_in_error: str = ""  # a locale key
    sign_in_wait: str = ""  # a filled text: how long a refused sign-in must wait
    list_error: str = ""
    query: str = ""
    rows: list[StaffRow] = []
    searched: bool = False

    _session: StaffSession | None = None
    # The connection the session was started from: a copied client token alone is not enough.
    _bound_to: str = ""
    # Signed out on purpose: with single sign-on, do not sign straight back in from the headers.
    signed_out: bool = False

    # ------------------------------------------------------------------ session

    def _user(self) -> StaffUser | None:
        """The signed-in staff member, extending the session; None when there is none (any more)."""
        session = self._session
        if session is None or not session.is_valid(now()) or not binding_matches(self, self._bound_to):
            self._end_session()
            return None
        self._session = session.touch(now())
        return session.user

    def _end_session(self) -> None:
        self._session = None
        self._bound_to = ""
        self.signed_in = False
        self.staff_name = ""
        self.authority_id = ""
        self.rows = []
        self.query = ""
        self.searched = False

    async def _forget_preview(self) -> None:
        # What a preview showed stays in this tab's state otherwise (imported here: the preview
        # state builds on this one).
        from portal.state.staff_preview import PreviewState

        preview = await self.get_state(PreviewState)
        preview._forget()

    @rx.event
    async def check_session(self):  # noqa: ANN201
        """Sent by the page every minute without extending the session: once it has ended, the
        screen with applicants' data goes and the sign-in page says why."""
        session = self._session
        if session is not None and session.is_valid(now()) and binding_matches(self, self._bound_to):
            return None
        was_signed_in = self.signed_in
        self._end_session()
        await self._forget_preview()
        if was_signed_in:
            self.sign_in_error = "staff.error.session_expired"
        return _reload_at_sign_in()

    async def _binding_lost(self) -> None:
        """An event from another address or browser (state.binding): the session ends."""
        self._end_session()
        await self._forget_preview()
        self.sign_in_error = "staff.error.session_expired"
        self.sign_in_wait = ""

    def _session_timer(self) -> rx.event.EventSpec:
        return rx.call_script(
            "if(!window.__rkStaffTimer){window.__rkStaffTimer=setInterval(()=>{"
            "const b=document.getElementById('staff-session-check');if(b){b.click();}},60000);}"
        )

    def _source(self) -> str:
        return self.router.session.client_ip or "unknown"

    async def _audit(self, user: StaffUser, action: str, message_id: str | None = None) -> None:
        await _audit_entry(user, action, self._source(), message_id)

    async def _audit_quietly(self, user: StaffUser, action: str) -> None:
        await _audit_entry_quietly(user, action, self._source())

    def _start(self, user: StaffUser) -> None:
        self._session = new_session(user, now(), runtime.settings().staff_session_minutes)
        self._bound_to = current_binding(self)
        self.signed_out = False
        self.signed_in = True
        self.staff_name = user.display_name or user.username
        self.authority_id = user.authority_id
        self.sign_in_error = ""
        self.sign_in_wait = ""

    async def _grant(self, user: StaffUser) -> rx.event.EventSpec:
        """Signed in: nothing starts on this credential; the grant takes the user to a new one."""
        self._end_session()
        self.sign_in_error = ""
        self.sign_in_wait = ""
        lang = self.lang if self._chosen else ""
        grant = await asyncio.to_thread(runtime.staff_grants().issue, user, current_binding(self), now(), lang)
        return _hand_over(grant)

    async def _redeem_grant(self) -> list[rx.event.EventSpec]:
        """On load of /staff: a grant in the fragment starts the session on this new credential."""
        fragment = self.router.url.fragment
        if not fragment.startswith(GRANT_PREFIX):
            return []
        redeemed = await asyncio.to_thread(
            runtime.staff_grants().redeem, fragment.removeprefix(GRANT_PREFIX), current_binding(self), now()
        )
        if redeemed is not None:
            user, lang = redeemed
            self._start(user)
            if lang:
                self._chosen = True
                self.lang = lang
        return [rx.call_script(f"history.replaceState(null,'','{HOME_ROUTE}')")]

    @rx.event
    async def open_sign_in(self):  # noqa: ANN201 - Reflex event handler
        """On load of the sign-in page. With single sign-on the proxy's headers sign in at once."""
        specs = self._pick_initial(None)
        self.header_mode = runtime.settings().staff_auth == "headers"
        if self._user() is not None:
            return [*specs, rx.redirect(HOME_ROUTE)]
        if not self.header_mode or self.signed_out:
            return specs
        return [*specs, *await self._sign_in_from_headers()]

    @rx.event
    async def sign_in_again(self):  # noqa: ANN201
        """Single sign-on after signing out: only on the staff member's own click."""
        if runtime.settings().staff_auth != "headers":
            return None
        self.signed_out = False
        return await self._sign_in_from_headers()

    async def _sign_in_from_headers(self) -> list[rx.event.EventSpec]:
        raw = self.router.headers.raw_headers
        # The TCP peer as Reflex saw it (never a forwarded-for value) decides whether headers count.
        peer = raw.get("asgi-scope-client", "")
        try:
            user = identity_from_headers(dict(raw), peer, runtime.settings())
        except errors.StaffAuthError as exc:
            self.sign_in_error = f"staff.error.{exc.code}"
            return []
        await self._audit_quietly(user, "sign_in")
        return [await self._grant(user)]

    @rx.event
    async def sign_in(self, form: dict[str, str]):  # noqa: ANN201
        if runtime.settings().staff_auth != "local":
            return None
        username = str(form.get("username", "")).strip()[:120]
        password = str(form.get("password", ""))
        if not username or not password:
            self.sign_in_error = "staff.error.fields_missing"
            return self._focus("sign-in-error")
        try:
            async with _PASSWORD_CHECKS:
                user = await asyncio.to_thread(
                    runtime.staff_accounts().verify, username, password, now(), self.router.session.client_ip
                )
        except errors.StaffAuthError as exc:
            self.sign_in_error = f"staff.error.{exc.code}"
            self.sign_in_wait = self._wait_text(exc)
            if exc.code != "too_many_attempts":  # a flood from one address is not written to the log
                account = await asyncio.to_thread(runtime.staff_accounts().get, username)
                if account is not None:
                    # Not awaited: a known user name must not answer later than an unknown one.
                    _in_background(_audit_entry_quietly(account, "sign_in_failed", self._source()))
            return self._focus("sign-in-error")
        await self._audit_quietly(user, "sign_in")
        return await self._grant(user)

    def _wait_text(self, exc: errors.StaffAuthError) -> str:
        """How long a locked or refused sign-in has to wait, as a sentence ("" when it need not)."""
        seconds: float = 0
        locked_until, retry_after = exc.params.get("locked_until"), exc.params.get("retry_after")
        if isinstance(locked_until, datetime):
            seconds = (locked_until - now()).total_seconds()
        elif isinstance(retry_after, int):
            seconds = float(retry_after)
        if seconds <= 0:
            return ""
        minutes = max(1, math.ceil(seconds / 60))
        return self._tr_wait(minutes)

    @rx.event
    async def sign_out(self):  # noqa: ANN201
        user = self._user()
        self._end_session()
        await self._forget_preview()
        self.signed_out = True
        self.sign_in_error = ""
        if user is not None:
            await self._audit_quietly(user, "sign_out")
        return _reload_at_sign_in()

    def _focus(self, element_id: str) -> rx.event.EventSpec:
        return focus(element_id)

    # ------------------------------------------------------------------ the list

    @rx.event
    async def open_list(self):  # noqa: ANN201
        handed_over = await self._redeem_grant()
        specs = [*self._pick_initial(None), *handed_over]
        user = self._user()
        if user is None:
            return rx.redirect(SIGN_IN_ROUTE)
        await self._load_rows(user)
        return [*specs, self._session_timer()]

    @rx.event
    async def search(self, form: dict[str, str]):  # noqa: ANN201
        user = self._user()
        if user is None:
            return rx.redirect(SIGN_IN_ROUTE)
        self.query = str(form.get("query", "")).strip()[:MAX_QUERY_CHARS]
        self.searched = self.query != ""
        await self._load_rows(user)
        return None

    @rx.event
    async def clear_search(self):  # noqa: ANN201
        user = self._user()
        if user is None:
            return rx.redirect(SIGN_IN_ROUTE)
        self.query = ""
        self.searched = False
        await self._load_rows(user)
        return None

    async def _load_rows(self, user: StaffUser) -> None:
        self.list_error = ""
        query = self.query
        try:
            async with runtime.case_service() as client:
                # A message id and a case reference look alike; ask for both and merge.
                found = await client.staff_messages(user.authority_id, case_reference=query, limit=LIST_LIMIT)
                if query:
                    by_id = await client.staff_messages(user.authority_id, message_id=query, limit=LIST_LIMIT)
                    seen = {s.id for s in by_id}
                    found = [*by_id, *[s for s in found if s.id not in seen]]
        except errors.PortalError:
            self.rows = []
            self.list_error = "staff.error.case_service_unavailable"
            return
        ids = [s.id for s in found]
        outbox = await asyncio.to_thread(runtime.store().by_messages, ids)
        drafts = await asyncio.to_thread(runtime.drafts().started, ids)
        self.rows = staff_rows(found, outbox, drafts, self.lang, today())

    @rx.event
    async def switch_language(self, lang: str):  # noqa: ANN201
        user = self._user()
        specs = self.change_language(lang)
        if user is not None:
            await self._load_rows(user)
        return specs
