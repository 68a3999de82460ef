"""Staff sign-in in the real state tree: a new session credential at sign-in, the binding, limits.

The audit log is the real reference case service over HTTP.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from portal import runtime
from portal.state.binding import SessionBinding
from portal.state.reply import ReplyState
from portal.state.staff import StaffState
from tests.portal.state.conftest import set_connection, tab
from tests.support import messages

PASSWORD = "ein-langes-Test-Passwort-2026"
GRANT = re.compile(r"/staff#g=([A-Za-z0-9_-]{43})")


@pytest.fixture
def staff(configure: Any, case_service: Any) -> None:
    configure(
        case_service_url=case_service.url,
        case_service_key=case_service.portal_key,
        staff_max_failed_attempts=3,
        staff_failed_sign_ins_per_address=4,
    )
    runtime.staff_accounts().create("m.muster", "abh-potsdam", PASSWORD, "Max Muster")


async def _sign_in(state: StaffState, password: str = PASSWORD, username: str = "m.muster") -> str:
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
    assert "staff/sign-in" in str(await signing_in.open_list())
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
    signed_in = tab(StaffState, path=f"/staff#g={grant.group(1)}")
    await signed_in.open_list()
    binding = SessionBinding(ReplyState, StaffState)
    await binding.preprocess(None, signed_in, None)  # type: ignore[arg-type]
    assert signed_in.signed_in  # the same client: nothing changes
    # The tab's token copied into another network: the session ends before anything is sent there.
    set_connection(signed_in, "203.0.113.66", "Firefox/140", "/staff")
    await binding.preprocess(None, signed_in, None)  # type: ignore[arg-type]
    assert not signed_in.signed_in and signed_in._session is None and signed_in.rows == []
    assert signed_in.sign_in_error == "staff.error.session_expired"
    set_connection(signed_in, "198.51.100.7", "Firefox/140", "/staff")
    assert "staff/sign-in" in str(await signed_in.open_list())


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
