"""The staff area (issue #6): signing in, the session, and the list of the authority's messages.

Staff sessions live in this state (one browser tab), never in a cookie: the applicant pages
share no state with them. Every page of the area checks the session on load and every event
checks it again, so an expired or missing session always ends on the sign-in page.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import reflex as rx

from portal import runtime
from portal.domain import errors
from portal.domain.staff import StaffSession, StaffUser, identity_from_headers, new_session
from portal.staff_presenter import StaffRow, staff_rows
from portal.state.language import LanguageState

log = logging.getLogger(__name__)

SIGN_IN_ROUTE = "/staff/sign-in"
HOME_ROUTE = "/staff"
MAX_QUERY_CHARS = 100
LIST_LIMIT = 50


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
    list_error: str = ""
    query: str = ""
    rows: list[StaffRow] = []
    searched: bool = False

    _session: StaffSession | None = None

    # ------------------------------------------------------------------ session

    def _user(self) -> StaffUser | None:
        """The signed-in staff member, extending the session; None when there is none (any more)."""
        session = self._session
        if session is None or not session.is_valid(now()):
            self._session = None
            self.signed_in = False
            return None
        self._session = session.touch(now())
        return session.user

    def _source(self) -> str:
        return self.router.session.client_ip or "unknown"

    async def _audit(self, user: StaffUser, action: str, message_id: str | None = None) -> None:
        async with runtime.case_service() as client:
            await client.staff_audit(
                user.authority_id, actor=user.username, action=action, source=self._source(), message_id=message_id
            )

    async def _audit_quietly(self, user: StaffUser, action: str) -> None:
        # Sign-in and sign-out stand even when the log is briefly unreachable; previews and
        # revocations do not (they are refused instead).
        try:
            await self._audit(user, action)
        except errors.PortalError:
            log.warning("audit entry %s could not be written", action)

    def _start(self, user: StaffUser) -> None:
        self._session = new_session(user, now(), runtime.settings().staff_session_minutes)
        self.signed_in = True
        self.staff_name = user.display_name or user.username
        self.authority_id = user.authority_id
        self.sign_in_error = ""

    @rx.event
    async def open_sign_in(self):  # noqa: ANN201 - Reflex event handler
        """On load of the sign-in page. With single sign-on the proxy's headers sign in at once."""
        specs = self.pick_initial(None)
        self.header_mode = runtime.settings().staff_auth == "headers"
        if self._user() is not None:
            return [*specs, rx.redirect(HOME_ROUTE)]
        if not self.header_mode:
            return specs
        raw = self.router.headers.raw_headers
        # The TCP peer as Reflex saw it (never a forwarded-for value) decides whether headers count.
        peer = raw.get("asgi-scope-client", "")
        try:
            user = identity_from_headers(dict(raw), peer, runtime.settings())
        except errors.StaffAuthError as exc:
            self.sign_in_error = f"staff.error.{exc.code}"
            return specs
        self._start(user)
        await self._audit_quietly(user, "sign_in")
        return [*specs, rx.redirect(HOME_ROUTE)]

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
            user = await asyncio.to_thread(runtime.staff_accounts().verify, username, password, now())
        except errors.StaffAuthError as exc:
            self.sign_in_error = f"staff.error.{exc.code}"
            account = await asyncio.to_thread(runtime.staff_accounts().get, username)
            if account is not None:
                await self._audit_quietly(account, "sign_in_failed")
            return self._focus("sign-in-error")
        self._start(user)
        await self._audit_quietly(user, "sign_in")
        return rx.redirect(HOME_ROUTE)

    @rx.event
    async def sign_out(self):  # noqa: ANN201
        user = self._user()
        self._session = None
        self.signed_in = False
        self.rows = []
        self.query = ""
        if user is not None:
            await self._audit_quietly(user, "sign_out")
        return rx.redirect(SIGN_IN_ROUTE)

    def _focus(self, element_id: str) -> rx.event.EventSpec:
        return rx.call_script(
            f"setTimeout(()=>{{const e=document.getElementById('{element_id}');if(e){{e.focus();}}}},50)"
        )

    # ------------------------------------------------------------------ the list

    @rx.event
    async def open_list(self):  # noqa: ANN201
        specs = self.pick_initial(None)
        user = self._user()
        if user is None:
            return rx.redirect(SIGN_IN_ROUTE)
        await self._load_rows(user)
        return specs

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
        outbox = {}
        for message_id in ids:
            entry = await asyncio.to_thread(runtime.store().by_message, message_id)
            if entry is not None:
                outbox[message_id] = entry
        drafts = await asyncio.to_thread(runtime.drafts().started, ids)
        self.rows = staff_rows(found, outbox, drafts, self.lang, today())

    @rx.event
    async def switch_language(self, lang: str):  # noqa: ANN201
        user = self._user()
        specs = self.change_language(lang)
        if user is not None:
            await self._load_rows(user)
        return specs
