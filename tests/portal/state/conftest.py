"""States of the real app, built the way Reflex builds them for one browser tab."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from reflex.istate.data import RouterData, SessionData
from reflex.state import BaseState, State

# Imported for its side effect: the app registers every page and so every state.
import portal.portal  # noqa: F401
from portal.domain import draft as reply
from portal.state.binding import current_binding
from portal.state.reply import ReplyState
from portal.state.staff import StaffState
from tests.portal.conftest import authority_client

S = TypeVar("S", bound=BaseState)


def substate(cls: type[S]) -> S:
    """A fresh state tree (one tab) and its substate of class ``cls``."""
    root = State(_reflex_internal_init=True)
    found = root.get_substate(cls.get_full_name().split(".")[1:])
    assert isinstance(found, cls)
    return found


@pytest.fixture
def make_state():
    return substate


def tab(cls: type[S], address: str = "198.51.100.7", user_agent: str = "Firefox/140", path: str = "/") -> S:
    """``substate(cls)`` whose connection comes from ``address`` with ``user_agent``, on ``path``
    (with its fragment, as the browser reports the live location with every event)."""
    state = substate(cls)
    root = state._get_root_state()
    set_connection(root, address, user_agent, path)
    return state


def set_connection(
    state: BaseState, address: str, user_agent: str, path: str = "/", params: dict[str, str] | None = None
) -> None:
    """What Reflex records before each event: the connection's address, headers and location
    (with the route's ``params``, e.g. a message id)."""
    root = state._get_root_state()
    router_data = {
        "ip": address,
        "headers": {"user-agent": user_agent, "origin": "http://localhost:3000"},
        "pathname": path.split("#")[0],
        "asPath": path,
        "query": params or {},
    }
    root.router_data = root._update_router_vars(router_data, root.router_data or {})


def verified(state: ReplyState) -> None:
    """A session as a verified link leaves it (the parts the binding protects)."""
    state._token = "T" * 43
    state._message = object()  # type: ignore[assignment]
    state._draft = reply.Draft(items=[])
    state._answered_at = datetime.now(UTC) - timedelta(days=1)
    state.phase = "ready"
    state.text = "Meine Antwort an die Behörde"
    state._bound_to = current_binding(state)


async def opened(token: str, tab: str = "tab-1") -> ReplyState:
    """A browser tab that opened the reply link."""
    state = substate(ReplyState)
    state.router = RouterData(session=SessionData(client_token=tab, client_ip="127.0.0.1"))
    state._token = token
    await state._verify_and_show()
    assert state.phase == "ready", state.error_code
    return state


async def revoke(case_service: Any, message_id: str) -> None:
    """The authority revokes the message's reply link."""
    async with authority_client(case_service) as http:
        response = await http.post(f"/api/v1/messages/{message_id}/revoke", json={"reason": "Test"})
    assert response.status_code in (200, 204), response.text


IN_A_WEEK = datetime.now(UTC) + timedelta(days=7)
# What a message of each kind needs besides the defaults of ``create_message``.
KINDS: dict[str, dict[str, Any]] = {
    "question": {},
    "intent_to_refuse": {},
    "appointment": {
        "requested_items": [],
        "appointment": {
            "starts_at": IN_A_WEEK.isoformat(),
            "ends_at": (IN_A_WEEK + timedelta(minutes=30)).isoformat(),
            "place": "Raum 1.043",
        },
    },
    "status": {"deadline": None, "requested_items": []},
    "not_responsible": {"deadline": None, "requested_items": [], "responsible_authority": {"name": "Landkreis"}},
}


def _forget_runtime() -> None:
    from portal import runtime
    from portal.settings import get_settings

    get_settings.cache_clear()
    for cached in (runtime.staff_accounts, runtime.staff_grants, runtime.rate_limiter, runtime.rate_rules):
        cached.cache_clear()


@pytest.fixture
def configure(tmp_path, monkeypatch):
    """Points the portal's runtime at a fresh data folder with these settings (``PORTAL_*`` names
    without the prefix), as the environment would; everything cached is built anew."""

    def apply(**values: object) -> None:
        monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "portal"))
        for name, value in values.items():
            monkeypatch.setenv(f"PORTAL_{name.upper()}", str(value))
        _forget_runtime()

    yield apply
    _forget_runtime()


@pytest.fixture
def portal_runtime(case_service, tmp_path, monkeypatch):
    """The portal's process-wide resources pointed at the real case service and a fresh store."""
    from portal import runtime

    monkeypatch.setenv("PORTAL_CASE_SERVICE_URL", case_service.url)
    monkeypatch.setenv("PORTAL_CASE_SERVICE_KEY", case_service.portal_key)
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "portal"))
    monkeypatch.setenv("PORTAL_DATABASE_URL", "")
    caches = [
        runtime.store,
        runtime.link_sessions,
        runtime.drafts,
        runtime.saved_drafts,
        runtime.receipts,
        runtime.file_storage,
        runtime.scanner,
    ]
    _forget_runtime()
    for cached in caches:
        cached.cache_clear()
    yield runtime
    runtime.store().dispose()
    _forget_runtime()
    for cached in caches:
        cached.cache_clear()


STAFF_PASSWORD = "ein-langes-Test-Passwort-2026"
GRANT = re.compile(r"/staff#g=([A-Za-z0-9_-]{43})")


@pytest.fixture
def staff(configure: Any, portal_runtime: Any, case_service: Any) -> None:
    """The portal at the real case service with a local staff account: m.muster of abh-potsdam."""
    configure(
        case_service_url=case_service.url,
        case_service_key=case_service.portal_key,
        staff_max_failed_attempts=3,
        staff_failed_sign_ins_per_address=4,
    )
    portal_runtime.staff_accounts().create("m.muster", "abh-potsdam", STAFF_PASSWORD, "Max Muster")


async def signed_in(address: str = "198.51.100.7", user_agent: str = "Firefox/140") -> StaffState:
    """A tab signed in as m.muster the way a browser does it: the form, then /staff with the grant."""
    form = tab(StaffState, address, user_agent, "/staff/sign-in")
    grant = GRANT.search(str(await form.sign_in({"username": "m.muster", "password": STAFF_PASSWORD})))
    assert grant is not None
    state = tab(StaffState, address, user_agent, f"/staff#g={grant.group(1)}")
    await state.open_list()
    assert state.signed_in
    return state


def redirected_to(answer: object) -> str | None:
    """Where a handler's answer sends the browser with ``rx.redirect`` (None when it does not)."""
    for spec in answer if isinstance(answer, list) else [answer]:
        handler = getattr(spec, "handler", None)
        if handler is not None and handler.fn.__qualname__ == "_redirect":
            args = {name._js_expr: value._var_value for name, value in spec.args}
            return str(args["path"])
    return None
