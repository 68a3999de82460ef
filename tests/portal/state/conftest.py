"""States of the real app, built the way Reflex builds them for one browser tab."""

from __future__ import annotations

from typing import TypeVar

import pytest
from reflex.state import BaseState, State

# Imported for its side effect: the app registers every page and so every state.
import portal.portal  # noqa: F401

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


@pytest.fixture
def portal_runtime(case_service, tmp_path, monkeypatch):  # noqa: ANN001, ANN201 - pytest fixtures
    """The portal's process-wide resources pointed at the real case service and a fresh store."""
    from portal import runtime
    from portal.settings import get_settings

    monkeypatch.setenv("PORTAL_CASE_SERVICE_URL", case_service.url)
    monkeypatch.setenv("PORTAL_CASE_SERVICE_KEY", case_service.portal_key)
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "portal"))
    monkeypatch.setenv("PORTAL_DATABASE_URL", "")
    caches = [get_settings, runtime.store, runtime.link_sessions, runtime.drafts, runtime.scanner]
    for cached in caches:
        cached.cache_clear()
    yield runtime
    runtime.store().dispose()
    for cached in caches:
        cached.cache_clear()
