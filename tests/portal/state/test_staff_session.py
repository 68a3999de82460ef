"""The staff session in the real state tree: the check of every staff-only handler, the minute
check of the page, signing out, and what a session leaves behind when it ends (nothing).

The audit log and the messages are the real reference case service over HTTP.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from reflex.state import BaseState

from portal.staff.accounts import new_session
from portal.state.staff import StaffState
from portal.state.staff_preview import PreviewState
from portal.state.staff_session import StaffSessionState, now, staff_only
from tests.portal.state.conftest import redirected_to, set_connection, signed_in, tab
from tests.support import messages

ADDRESS, BROWSER = "198.51.100.7", "Firefox/140"

# Every handler that needs a signed-in staff member, with arguments as the pages send them.
STAFF_ONLY: list[tuple[type[StaffSessionState], str, tuple[Any, ...]]] = [
    (StaffState, "search", ({"query": "ABH-P-2026-000601"},)),
    (StaffState, "clear_search", ()),
    (PreviewState, "open_preview", ()),
    (PreviewState, "show_language", ("ar",)),
    (PreviewState, "switch_language", ("en",)),
    (PreviewState, "ask_revoke", ()),
    (PreviewState, "cancel_revoke", ()),
    (PreviewState, "revoke", ({"reason": "ohne Sitzung"},)),
]
IDS = [f"{cls.__name__}.{name}" for cls, name, _ in STAFF_ONLY]


def _own_vars(state: BaseState) -> dict[str, Any]:
    """What a state sends to the browser of its own (inherited vars live on their own state)."""
    return {name: getattr(state, name) for name in type(state).base_vars}


async def _with_preview(message_id: str) -> tuple[StaffState, PreviewState]:
    """A signed-in tab that searched the list and then opened the preview of ``message_id``."""
    listing = await signed_in()
    await listing.search({"query": message_id})
    preview = await listing.get_state(PreviewState)
    set_connection(preview, ADDRESS, BROWSER, f"/staff/message/{message_id}", {"message_id": message_id})
    await preview.open_preview()
    assert preview.found and listing.rows
    return listing, preview


@pytest.mark.parametrize(("cls", "name", "args"), STAFF_ONLY, ids=IDS)
async def test_staff_only_handlers_refuse_a_tab_without_a_session(
    staff: None, cls: type[StaffSessionState], name: str, args: tuple[Any, ...]
) -> None:
    state = tab(cls)
    set_connection(state, ADDRESS, BROWSER, "/staff/message/m1", {"message_id": "m1"})
    before = _own_vars(state)
    assert redirected_to(await getattr(state, name)(*args)) == "/staff/sign-in"
    assert _own_vars(state) == before and not state.signed_in


@pytest.mark.parametrize(("cls", "name", "args"), STAFF_ONLY, ids=IDS)
async def test_staff_only_handlers_end_an_expired_session(
    staff: None, case_service: Any, cls: type[StaffSessionState], name: str, args: tuple[Any, ...]
) -> None:
    created = messages.create(case_service, messages.message_in("question", reference="ABH-P-2026-000601"))
    listing, preview = await _with_preview(created["id"])
    assert listing._session is not None
    # The staff member went away for longer than the session's idle time.
    listing._session = new_session(listing._session.user, now() - timedelta(hours=3), 30)
    state = listing if cls is StaffState else preview
    assert redirected_to(await getattr(state, name)(*args)) == "/staff/sign-in"
    assert not listing.signed_in and listing._session is None
    # Nothing the list or the preview showed stays in the tab.
    assert listing.rows == [] and listing.query == "" and not preview.found and preview.view_t == {}
    assert messages.authority_get(case_service, f"/api/v1/messages/{created['id']}").json()["link_state"] == "open"


async def test_an_event_from_another_browser_ends_the_session_in_the_handler_too(
    staff: None, case_service: Any
) -> None:
    # Even where the binding middleware is not in the way (it ends the session first in the app).
    created = messages.create(case_service, messages.message_in("question", reference="ABH-P-2026-000602"))
    listing, preview = await _with_preview(created["id"])
    set_connection(preview, ADDRESS, "curl/8.0", f"/staff/message/{created['id']}", {"message_id": created["id"]})
    assert redirected_to(await preview.ask_revoke()) == "/staff/sign-in"
    assert not preview.revoke_open and not preview.found and not listing.signed_in
    # Back in the first browser the session stays ended: only a new sign-in opens the area.
    set_connection(listing, ADDRESS, BROWSER, "/staff")
    assert redirected_to(await listing.clear_search()) == "/staff/sign-in"


async def test_a_staff_only_handler_extends_the_session(staff: None) -> None:
    listing = await signed_in()
    assert listing._session is not None
    listing._session = new_session(listing._session.user, now() - timedelta(minutes=20), 30)
    soon = listing._session.expires_at
    await listing.clear_search()
    assert listing._session is not None and listing._session.expires_at > soon + timedelta(minutes=19)


async def test_the_minute_check_never_extends_and_ends_an_expired_session(staff: None, case_service: Any) -> None:
    created = messages.create(case_service, messages.message_in("question", reference="ABH-P-2026-000603"))
    listing, preview = await _with_preview(created["id"])
    assert listing._session is not None
    expires = listing._session.expires_at
    assert await preview.check_session() is None
    assert listing._session.expires_at == expires and listing.signed_in

    listing._session = new_session(listing._session.user, now() - timedelta(hours=3), 30)
    reload = str(await preview.check_session())
    # A full page load, so nothing the page held stays in the browser; the sign-in page says why.
    assert "window.location.replace('/staff/sign-in')" in reload
    assert listing.sign_in_error == "staff.error.session_expired" and not listing.signed_in
    assert listing.rows == [] and not preview.found


async def test_signing_out_ends_the_session_forgets_everything_and_is_logged(staff: None, case_service: Any) -> None:
    created = messages.create(case_service, messages.message_in("question", reference="ABH-P-2026-000604"))
    listing, preview = await _with_preview(created["id"])
    assert "window.location.replace('/staff/sign-in')" in str(await preview.sign_out())
    assert listing.signed_out and not listing.signed_in and listing.sign_in_error == ""
    assert listing.staff_name == "" and listing.authority_id == "" and listing._session is None
    assert listing.rows == [] and listing.query == "" and not listing.searched
    assert not preview.found and preview.view_t == {} and preview.de_t == {} and preview.view_items == []
    entries = messages.authority_get(case_service, "/api/v1/audit").json()["entries"]
    assert [e for e in entries if e["action"] == "sign_out" and e["actor"] == "m.muster" and e["source"] == ADDRESS]
    assert redirected_to(await listing.open_list()) == "/staff/sign-in"


def test_the_browser_sends_a_handlers_own_arguments_never_the_user() -> None:
    # What the pages bind: the signed-in user comes from the session, not from the event.
    assert [name._js_expr for name, _ in StaffState.search({"query": "x"}).args] == ["form"]
    assert [name._js_expr for name, _ in PreviewState.show_language("ar").args] == ["lang"]
    assert PreviewState.ask_revoke().args == ()


def test_only_async_handlers_can_be_staff_only() -> None:
    def sync_handler(self: StaffSessionState, user: object) -> None:
        return None

    with pytest.raises(TypeError):
        staff_only(sync_handler)  # type: ignore[arg-type]
