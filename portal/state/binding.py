"""Sessions bound to the client they started on: the applicant's verified link and staff sign-ins.

A Reflex session is found by the tab's client token alone, which travels in the websocket URL.
Whoever presents a copied token would get the session, so a session that holds something (a
verified link, a signed-in staff member) records its binding (``portal.protection.clients``: the
client's address group and browser) and ends when an event arrives from anywhere else.

``SessionBinding`` checks before *every* event, the hydration on (re)connect included: that
event sends the whole state to the browser, so a check in the handlers alone would come too
late. The client's address is Reflex's ``router.session.client_ip``, which follows
``trusted_proxy_hops`` (rxconfig) just as the server middleware does.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from reflex.middleware.middleware import Middleware
from reflex.state import BaseState

from portal.protection.clients import binding

if TYPE_CHECKING:
    from reflex.app import App
    from reflex.state import StateUpdate
    from reflex_base.event import Event


def current_binding(state: BaseState) -> str:
    """The binding of the connection this event arrived on."""
    router = state.router
    return binding(router.session.client_ip, router.headers.user_agent)


def binding_matches(state: BaseState, bound_to: str) -> bool:
    return bool(bound_to) and secrets.compare_digest(bound_to, current_binding(state))


class SessionBinding(Middleware):
    """Ends a bound session when an event comes from another client (see the module doc).

    ``bound`` lists the state classes that keep a ``_bound_to`` and an async ``_binding_lost()``.
    Only states already loaded for the event are looked at: one that is not loaded sends nothing.
    """

    def __init__(self, *bound: type[BaseState]) -> None:
        self.bound = bound

    async def preprocess(self, app: App, state: BaseState, event: Event) -> StateUpdate | None:
        for sub in _loaded(state._get_root_state()):
            if type(sub) in self.bound:
                bound_to: Any = getattr(sub, "_bound_to", "")
                if bound_to and not binding_matches(sub, bound_to):
                    # Every class in `bound` has one (see above); BaseState does not declare it.
                    await sub._binding_lost()  # type: ignore[attr-defined]
        return None


def _loaded(state: BaseState) -> Iterator[BaseState]:
    yield state
    for sub in state.substates.values():
        yield from _loaded(sub)
