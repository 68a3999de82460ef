"""The staff area's sign-in page and list: signing in, searching the authority's messages.

The session itself (who is signed in, the check of every staff-only handler, sign-out) is
``state.staff_session``; this state and the preview (``state.staff_preview``) build on it.

A session never starts on the credential the sign-in came from: a sign-in issues a one-time
grant (``SignInGrants``), the page drops its Reflex client token and loads ``/staff#g=<grant>``
with a new one, and that new session redeems the grant. A token someone planted or read before
the sign-in stays signed out.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from portal import runtime
from portal.domain import errors
from portal.domain.clock import now, today
from portal.staff.accounts import StaffUser, identity_from_headers
from portal.staff.presenter import StaffRow, staff_rows
from portal.state.binding import current_binding
from portal.state.staff_session import (
    HOME_ROUTE,
    SIGN_IN_ROUTE,
    StaffSessionState,
    audit_entry_quietly,
    staff_only,
)

# The case service takes at most 64 characters for a reference or id.
MAX_QUERY_CHARS = 64
LIST_LIMIT = 50
GRANT_PREFIX = "g="
# argon2 is meant to be slow: one verification at a time per process, so a flood of sign-ins
# cannot take both cores from the applicants (refused attempts never get this far).
_PASSWORD_CHECKS = asyncio.Semaphore(1)


def _hand_over(grant: str) -> EventSpec:
    # A full page load with a new client token (Reflex makes one when the tab has none); the
    # grant travels in the fragment, which no request and no log carries.
    target = f"{HOME_ROUTE}#{GRANT_PREFIX}{grant}"
    return rx.call_script(f"sessionStorage.removeItem('token');window.location.replace('{target}')")


_BACKGROUND: set[asyncio.Task[None]] = set()


def _in_background(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.create_task(work)
    _BACKGROUND.add(task)  # the loop keeps only a weak reference
    task.add_done_callback(_BACKGROUND.discard)


class StaffState(StaffSessionState):
    # Set on load, not as a default: defaults are compiled into the built frontend.
    header_mode: bool = False
    list_error: str = ""
    query: str = ""
    rows: list[StaffRow] = []
    searched: bool = False

    def _forget(self) -> None:
        self.rows = []
        self.query = ""
        self.searched = False

    # ------------------------------------------------------------------ signing in

    async def _grant(self, user: StaffUser) -> EventSpec:
        """Signed in: nothing starts on this credential; the grant takes the user to a new one."""
        await self._end_session()
        self.sign_in_error = ""
        self.sign_in_wait = ""
        lang = self.lang if self._chosen else ""
        grant = await asyncio.to_thread(runtime.staff_grants().issue, user, current_binding(self), now(), lang)
        return _hand_over(grant)

    async def _redeem_grant(self) -> list[EventSpec]:
        """On load of /staff: a grant in the fragment starts the session on this new credential."""
        fragment = self.router.url.fragment
        if not fragment.startswith(GRANT_PREFIX):
            return []
        redeemed = await asyncio.to_thread(
            runtime.staff_grants().redeem, fragment.removeprefix(GRANT_PREFIX), current_binding(self), now()
        )
        specs: list[EventSpec] = []
        if redeemed is not None:
            user, lang = redeemed
            self._start(user)
            if lang:
                # Through the one setter, so the direction and texts follow (Arabic opens right to left).
                self._chosen = True
                specs = self._apply_language(lang)
        return [*specs, rx.call_script(f"history.replaceState(null,'','{HOME_ROUTE}')")]

    @rx.event
    async def open_sign_in(self) -> list[EventSpec]:
        """On load of the sign-in page. With single sign-on the proxy's headers sign in at once."""
        specs = self._pick_initial(None, remembered=False)
        self.header_mode = runtime.settings().staff_auth == "headers"
        if await self._user() is not None:
            return [*specs, rx.redirect(HOME_ROUTE)]
        if not self.header_mode or self.signed_out:
            return specs
        return [*specs, *await self._sign_in_from_headers()]

    @rx.event
    async def sign_in_again(self) -> list[EventSpec] | None:
        """Single sign-on after signing out: only on the staff member's own click."""
        if runtime.settings().staff_auth != "headers":
            return None
        self.signed_out = False
        return await self._sign_in_from_headers()

    async def _sign_in_from_headers(self) -> list[EventSpec]:
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
    async def sign_in(self, form: dict[str, str]) -> EventSpec | None:
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
                    _in_background(audit_entry_quietly(account, "sign_in_failed", self._source()))
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

    # ------------------------------------------------------------------ the list

    @rx.event
    async def open_list(self) -> EventSpec | list[EventSpec]:
        # Not staff_only: the grant in the address may start the session, so it is redeemed first.
        handed_over = await self._redeem_grant()
        specs = [*self._pick_initial(None, remembered=False), *handed_over]
        user = await self._user()
        if user is None:
            return rx.redirect(SIGN_IN_ROUTE)
        await self._load_rows(user)
        return [*specs, self._session_timer()]

    @rx.event
    @staff_only
    async def search(self, user: StaffUser, form: dict[str, str]) -> None:
        self.query = str(form.get("query", "")).strip()[:MAX_QUERY_CHARS]
        self.searched = self.query != ""
        await self._load_rows(user)
        return None

    @rx.event
    @staff_only
    async def clear_search(self, user: StaffUser) -> None:
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
    async def switch_language(self, lang: str) -> list[EventSpec]:
        # Not staff_only: the sign-in page switches its language without a session.
        user = await self._user()
        specs = self._change_language(lang)
        if user is not None:
            await self._load_rows(user)
        return specs
