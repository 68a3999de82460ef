"""Sign-in and the list in the real state tree: a new session credential at sign-in, the
binding, limits, finding the authority's messages.

The audit log and the messages are the real reference case service over HTTP.
"""

from __future__ import annotations

import asyncio
from typing import Any

from portal.state.binding import SessionBinding
from portal.state.reply import ReplyState
from portal.state.staff import StaffState
from portal.state.staff_session import StaffSessionState
from tests.portal.state.conftest import GRANT, STAFF_PASSWORD, redirected_to, set_connection, signed_in, tab
from tests.support import messages


async def _sign_in(state: StaffState, password: str = STAFF_PASSWORD, username: str = "m.muster") -> str:
    return str(await state.sign_in({"username": username, "password": password}))


async def test_sign_in_starts_no_session_on_the_credential_it_came_from(staff: None) -> None:
    # The tab's client token may be known to someone else (planted before, or read from a log).
    signing_in = tab(StaffState, path="/staff/sign-in")
    handed = await _sign_in(signing_in)
    assert not signing_in.signed_in and signing_in._session is None
    # The page drops its token and loads /staff with the grant in the fragment.
    assert "sessionStorage.removeItem('token')" in handed
    grant = GRANT.search(handed)
    assert grant is not None
    # The old credential, used from the very same client, is still signed out.
    assert redirected_to(await signing_in.open_list()) == "/staff/sign-in"
    assert not signing_in.signed_in

    # The new page load, with a new token, redeems the grant once.
    fresh = tab(StaffState, path=f"/staff#g={grant.group(1)}")
    await fresh.open_list()
    assert fresh.signed_in and fresh.staff_name == "Max Muster"
    again = tab(StaffState, path=f"/staff#g={grant.group(1)}")
    await again.open_list()
    assert not again.signed_in


async def test_a_grant_is_worth_nothing_in_another_browser(staff: None) -> None:
    grant = GRANT.search(await _sign_in(tab(StaffState, path="/staff/sign-in")))
    assert grant is not None
    thief = tab(StaffState, user_agent="Other/1.0", path=f"/staff#g={grant.group(1)}")
    await thief.open_list()
    assert not thief.signed_in


async def test_an_event_from_another_client_ends_the_session(staff: None) -> None:
    grant = GRANT.search(await _sign_in(tab(StaffState, path="/staff/sign-in")))
    assert grant is not None
    listing = tab(StaffState, path=f"/staff#g={grant.group(1)}")
    await listing.open_list()
    binding = SessionBinding(ReplyState, StaffSessionState)
    await binding.preprocess(None, listing, None)  # type: ignore[arg-type]
    assert listing.signed_in  # the same client: nothing changes
    # The tab's token copied into another network: the session ends before anything is sent there.
    set_connection(listing, "203.0.113.66", "Firefox/140", "/staff")
    await binding.preprocess(None, listing, None)  # type: ignore[arg-type]
    assert not listing.signed_in and listing._session is None and listing.rows == []
    assert listing.sign_in_error == "staff.error.session_expired"
    set_connection(listing, "198.51.100.7", "Firefox/140", "/staff")
    assert redirected_to(await listing.open_list()) == "/staff/sign-in"


async def test_refusals_say_how_long_to_wait(staff: None) -> None:
    page = tab(StaffState, path="/staff/sign-in")
    for _ in range(2):
        await _sign_in(page, "falsches-Passwort")
        assert page.sign_in_error == "staff.error.sign_in_failed" and page.sign_in_wait == ""
    await _sign_in(page, "falsches-Passwort")
    assert page.sign_in_error == "staff.error.sign_in_locked"
    assert page.sign_in_wait == "Bitte warten Sie 15 Minuten und versuchen Sie es dann noch einmal."
    # Name after name from this address: refused for the address, whatever the name.
    await _sign_in(page, "falsches-Passwort", username="jemand")
    refused = await _sign_in(page, username="m.muster")
    assert page.sign_in_error == "staff.error.too_many_attempts" and "15 Minuten" in page.sign_in_wait
    assert "sessionStorage" not in refused
    # The staff member's own desk elsewhere still signs in.
    assert GRANT.search(await _sign_in(tab(StaffState, address="198.51.100.20", path="/staff/sign-in")))


async def test_failed_sign_ins_of_real_accounts_still_reach_the_audit_log(staff: None, case_service: Any) -> None:
    # Written in the background (a known name must not answer later than an unknown one), but written.
    page = tab(StaffState, address="198.51.100.30", path="/staff/sign-in")
    await _sign_in(page, "falsches-Passwort")
    await _sign_in(page, "falsches-Passwort", username="niemand")
    for _ in range(50):
        entries = messages.authority_get(case_service, "/api/v1/audit").json()["entries"]
        failed = [e for e in entries if e["action"] == "sign_in_failed" and e["source"] == "198.51.100.30"]
        if failed:
            break
        await asyncio.sleep(0.1)
    assert [e["actor"] for e in failed] == ["m.muster"]


async def test_a_tab_without_fields_is_told_so(staff: None) -> None:
    page = tab(StaffState, path="/staff/sign-in")
    focus = str(await page.sign_in({"username": "m.muster", "password": ""}))
    assert page.sign_in_error == "staff.error.fields_missing" and "sign-in-error" in focus
    assert not page.signed_in


async def test_the_sign_in_page_sends_a_signed_in_tab_to_the_list(staff: None) -> None:
    state = await signed_in()
    set_connection(state, "198.51.100.7", "Firefox/140", "/staff/sign-in")
    assert redirected_to(await state.open_sign_in()) == "/staff" and state.signed_in
    stranger = tab(StaffState, path="/staff/sign-in")
    assert redirected_to(await stranger.open_sign_in()) is None


async def test_the_list_shows_the_authoritys_messages_and_finds_by_reference_or_id(
    staff: None, case_service: Any
) -> None:
    ours = messages.create(case_service, messages.message_in("question", reference="ABH-P-2026-000501"))
    messages.create(case_service, messages.message_in("question", reference="ABH-P-2026-000502"))
    theirs = messages.create(
        case_service, messages.message_in("question", reference="ABH-C-2026-000503"), authority="abh-cottbus"
    )
    state = await signed_in()
    references = {r.reference for r in state.rows}
    assert {"ABH-P-2026-000501", "ABH-P-2026-000502"} <= references
    assert "ABH-C-2026-000503" not in references
    assert next(r for r in state.rows if r.id == ours["id"]).status_text == "Offen"

    for query in ("ABH-P-2026-000501", ours["id"], f"  {ours['id']}  "):
        await state.search({"query": query})
        assert [r.id for r in state.rows] == [ours["id"]] and state.searched
    # Another authority's message is not found, by reference or by id.
    for query in ("ABH-C-2026-000503", theirs["id"]):
        await state.search({"query": query})
        assert state.rows == [] and state.list_error == ""
    await state.search({"query": "x" * 200})
    assert state.query == "x" * 64

    await state.clear_search()
    assert state.query == "" and not state.searched
    assert {"ABH-P-2026-000501", "ABH-P-2026-000502"} <= {r.reference for r in state.rows}


async def test_the_list_follows_the_staff_members_language(staff: None, case_service: Any) -> None:
    created = messages.create(case_service, messages.message_in("question", reference="ABH-P-2026-000511"))
    state = await signed_in()
    await state.switch_language("en")
    assert state.lang == "en"
    assert next(r for r in state.rows if r.id == created["id"]).status_text == "Open"


async def test_the_list_says_when_the_case_service_cannot_be_reached(staff: None, configure: Any) -> None:
    state = await signed_in()
    assert state.rows
    configure(case_service_url="http://127.0.0.1:9")  # nothing listens there
    await state.search({"query": "ABH-P"})
    assert state.rows == [] and state.list_error == "staff.error.case_service_unavailable"


async def test_a_staff_member_who_signs_in_in_arabic_gets_the_list_right_to_left(staff: None) -> None:
    form = tab(StaffState, "198.51.100.7", "Firefox/140", "/staff/sign-in")
    form.change_language("ar")
    grant = GRANT.search(str(await form.sign_in({"username": "m.muster", "password": STAFF_PASSWORD})))
    assert grant is not None
    listing = tab(StaffState, "198.51.100.7", "Firefox/140", f"/staff#g={grant.group(1)}")
    await listing.open_list()
    assert listing.signed_in and (listing.lang, listing.dir) == ("ar", "rtl")
