"""Every public method of a Reflex state is an event handler any browser can call.

This lists the handlers Reflex registers for every state of the app and fails on any that is not
meant to be called from a browser: a helper made public by mistake (a text lookup, a script
builder) would otherwise be an entry point for anyone with a websocket.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import get_type_hints

import pytest
from reflex.state import BaseState, State

# Imported for its side effect: the app registers every page and so every state.
import portal.portal  # noqa: F401

# Reflex's own handlers: hydration, the generic var setter (which only reaches our own set_*
# handlers: auto setters are off), client storage, on_load dispatch, frontend exceptions.
REFLEX_OWN = {
    "hydrate",
    "hydrate_and_load",
    "set_is_hydrated",
    "setvar",
    "on_load_internal",
    "update_vars_internal",
    "handle_frontend_exception",
}

ALLOWED: dict[str, set[str]] = {
    "LanguageState": {"change_language", "keep_alive", "start"},
    "StaffSessionState": {"check_session", "sign_out"},
    "StaffState": {
        "clear_search",
        "open_list",
        "open_sign_in",
        "search",
        "sign_in",
        "sign_in_again",
        "switch_language",
    },
    "PreviewState": {"ask_revoke", "cancel_revoke", "open_preview", "revoke", "show_language", "switch_language"},
    "ReplyState": {
        "ask_for_more_time",
        "download_calendar",
        "download_receipt",
        "fix_problem",
        "go_to",
        "merge_photos",
        "move_file",
        "next_step",
        "on_reply_page",
        "previous_step",
        "remove_file",
        "retry",
        "set_appointment_answer",
        "set_appointment_reason",
        "set_appointment_times",
        "set_declaration",
        "set_expected_date",
        "set_extension_reason",
        "set_extension_until",
        "set_extra_code",
        "set_extra_description",
        "set_not_available",
        "set_reason",
        "set_text",
        "submit",
        "switch_language",
        "upload",
        "upload_refused",
        "upload_refused_by_browser",
        "withdraw_more_time",
    },
}


def _states(cls: type[BaseState]) -> Iterator[type[BaseState]]:
    yield cls
    for sub in cls.get_substates():
        yield from _states(sub)


def _ours() -> list[type[BaseState]]:
    return [cls for cls in _states(State) if cls.__module__.startswith("portal.")]


def test_every_state_of_the_portal_is_listed() -> None:
    assert {cls.__name__ for cls in _ours()} == set(ALLOWED)


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_only_the_listed_handlers_are_registered(name: str) -> None:
    (cls,) = [c for c in _ours() if c.__name__ == name]
    registered = set(cls.event_handlers) - REFLEX_OWN
    assert registered == ALLOWED[name], (
        f"{name}: not meant for browsers: {sorted(registered - ALLOWED[name])}; "
        f"missing: {sorted(ALLOWED[name] - registered)}"
    )


def test_reflex_internal_states_have_only_reflex_handlers() -> None:
    for cls in _states(State):
        if not cls.__module__.startswith("portal."):
            assert set(cls.event_handlers) <= REFLEX_OWN, cls.get_full_name()


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_every_handlers_annotations_resolve_at_run_time(name: str) -> None:
    # Reflex converts a browser's arguments by the handler's annotations (an int, a bool); an
    # annotation that names something imported for the type checker only cannot be resolved, and
    # Reflex then silently converts nothing.
    (cls,) = [c for c in _ours() if c.__name__ == name]
    for handler_name, handler in cls.event_handlers.items():
        if handler_name not in REFLEX_OWN:
            assert "return" in get_type_hints(handler.fn), f"{name}.{handler_name} has no return annotation"
