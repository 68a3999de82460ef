"""States of the real app, built the way Reflex builds them for one browser tab."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from reflex.state import BaseState, State

# Imported for its side effect: the app registers every page and so every state.
import portal.portal  # noqa: F401
from portal.domain import draft as reply
from portal.state.binding import current_binding
from portal.state.reply import ReplyState

S = TypeVar("S", bound=BaseState)


def substate(cls: type[S]) -> S:
    """A fresh state tree (one tab) and its substate of class ``cls``."""
    root = State(_reflex_internal_init=True)
    found = root.get_substate(cls.get_full_name().split(".")[1:])
    assert isinstance(found, cls)
    return found


@pytest.fixture
def make_state():  # noqa: ANN201 - returns the helper above
    return substate


def tab(cls: type[S], address: str = "198.51.100.7", user_agent: str = "Firefox/140", path: str = "/") -> S:
    """``substate(cls)`` whose connection comes from ``address`` with ``user_agent``, on ``path``
    (with its fragment, as the browser reports the live location with every event)."""
    state = substate(cls)
    root = state._get_root_state()
    set_connection(root, address, user_agent, path)
    return state


def set_connection(state: BaseState, address: str, user_agent: str, path: str = "/") -> None:
    """What Reflex records before each event: the connection's address, headers and location."""
    root = state._get_root_state()
    router_data = {
        "ip": address,
        "headers": {"user-agent": user_agent, "origin": "http://localhost:3000"},
        "pathname": path.split("#")[0],
        "asPath": path,
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


def _forget_runtime() -> None:
    from portal import runtime
    from portal.settings import get_settings

    get_settings.cache_clear()
    for cached in (runtime.staff_accounts, runtime.staff_grants, runtime.rate_limiter, runtime.rate_rules):
        cached.cache_clear()


@pytest.fixture
def configure(tmp_path, monkeypatch):  # noqa: ANN001, ANN201 - returns the helper below
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
def portal_runtime(case_service, tmp_path, monkeypatch):  # noqa: ANN001, ANN201 - pytest fixtures
    """The portal's process-wide resources pointed at the real case service and a fresh store."""
    from portal import runtime

    monkeypatch.setenv("PORTAL_CASE_SERVICE_URL", case_service.url)
    monkeypatch.setenv("PORTAL_CASE_SERVICE_KEY", case_service.portal_key)
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "portal"))
    monkeypatch.setenv("PORTAL_DATABASE_URL", "")
    caches = [runtime.store, runtime.link_sessions, runtime.drafts, runtime.scanner]
    _forget_runtime()
    for cached in caches:
        cached.cache_clear()
    yield runtime
    runtime.store().dispose()
    _forget_runtime()
    for cached in caches:
        cached.cache_clear()
