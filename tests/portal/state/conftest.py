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
