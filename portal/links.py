"""What a reply link is, and the one way from its token to the request it opens or why it does not.

A reply link is ``/r/<token>``. A dynamic route such as ``/r/[token]`` would have no prerendered
HTML, so nothing would paint until the JavaScript had loaded and run. Instead the guard
(``portal.server.guard``) answers a link's path with the prerendered reply page, into which
``portal.server.link_page`` has written the request itself (the link opened on the server), and
``HANDOFF``, first thing in its head, turns the address into ``/reply#t=<token>&n=<nonce>`` before
the app starts, so the router hydrates the page it was served. The fragment is never sent in an
HTTP request or a Referer; the page's load event carries it to the server (Reflex sends the live
location with every event), which takes what the first response kept under the nonce or else opens
the link (``open_link``) and clears the address bar with ``CLEAR``. ``HANDOFF`` also takes the
server's copy of the page out of the document once the live page holds the request. The guard and
the script recognise a link's path by the same pattern, ``LINK_PATH``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from portal import routes
from portal.domain import errors
from portal.domain.message import LinkState, MessageView, ResolvedLink

if TYPE_CHECKING:
    from portal.client import CaseServiceClient

# What a token may be; anything else is refused without asking the case service.
TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{16,128}")

# A link's path: the prefix and one segment (its token, well-formed or not: a malformed link gets
# the reply page, which says so), with or without a trailing slash. Written so that Python and
# JavaScript read it alike: the head script runs this very pattern.
LINK_PATH = re.compile("^" + re.escape(routes.LINK_PREFIX) + r"([^/?#]+)/?$")

# Only a fragment in this form is a handed-over token; others (the skip link's #main) are not.
FRAGMENT_PREFIX = "t="

# With it, the nonce under which the link's first response kept what opening it came to
# (portal.server.link_page): the websocket then takes that instead of opening the link again.
NONCE_SEPARATOR = "&n="
# The element the first response writes the nonce into, and the server's copy of the page.
NONCE_META = "rk-handover"
NONCE_QUERY = f'meta[name="{NONCE_META}"]'
STATIC_PAGE_ID = "ssr-page"
# The live page says it holds the request (or why not) with this attribute on its frame; then the
# server's copy leaves the document in the same frame (the stylesheet has hidden it already).
LIVE_SELECTOR = '.page[data-phase="ready"],.page[data-phase="error"]'

# Runs while the HTML is parsed: before the app's modules, on every page (only a link's path acts).
HANDOFF = (
    f"(function(){{var m=new RegExp({json.dumps(LINK_PATH.pattern)}).exec(location.pathname);"
    "if(!m){return;}"
    f"var n=document.querySelector({json.dumps(NONCE_QUERY)});"
    f'history.replaceState(null,"",{json.dumps(routes.REPLY + "#" + FRAGMENT_PREFIX)}+m[1]'
    f'+(n?{json.dumps(NONCE_SEPARATOR)}+n.content:""));'
    "var o=new MutationObserver(function(){"
    f"var s=document.getElementById({json.dumps(STATIC_PAGE_ID)});"
    "if(!s){return;}"
    f"if(document.querySelector({json.dumps(LIVE_SELECTOR)})){{s.remove();o.disconnect();}}}});"
    "o.observe(document.documentElement,{childList:true,subtree:true,attributes:true,attributeFilter:['data-phase']});"
    "})();"
)

# Sent back once the token has been read: it leaves the address bar and the tab's history.
CLEAR = f'history.replaceState(null,"",{json.dumps(routes.REPLY)});'


def is_token(token: str) -> bool:
    """Whether ``token`` has the form of a reply token (not whether one was ever issued)."""
    return TOKEN_FORMAT.fullmatch(token) is not None


def token_in_path(path: str) -> str | None:
    """The token of a link's path (``/r/<token>``), or None when ``path`` is no link."""
    found = LINK_PATH.fullmatch(path)
    return found.group(1) if found is not None else None


def handed_over(fragment: str) -> tuple[str, str]:
    """The token and the nonce ``HANDOFF`` put into the reply page's fragment ("" for each it
    does not hold)."""
    if not fragment.startswith(FRAGMENT_PREFIX):
        return "", ""
    token, _, nonce = fragment.removeprefix(FRAGMENT_PREFIX).partition(NONCE_SEPARATOR)
    return token, nonce


def handed_over_token(fragment: str) -> str:
    """The token ``HANDOFF`` put into the reply page's fragment, or "" when it holds none."""
    return handed_over(fragment)[0]


@dataclass(frozen=True, slots=True)
class OpenedLink:
    """A link that opens its request: what the reply page shows."""

    message: MessageView


async def open_link(client: CaseServiceClient, token: str) -> OpenedLink:
    """The request behind ``token``, as the case service says now.

    Raises ``LinkMalformed`` (not a token; the case service is not asked), ``LinkUnknown``,
    ``LinkExpired``, ``LinkRevoked``, ``LinkAnswered`` (carrying ``answered_at``), or
    ``CaseServiceUnavailable`` (not now); ``ReplyRejected`` when the case service refuses the
    portal's own request.
    """
    resolved = await check_link(client, token)
    return OpenedLink(message=await client.get_message(resolved.message_id))


async def check_link(client: CaseServiceClient, token: str) -> ResolvedLink:
    """Whether ``token`` still opens its request, without fetching the request: the re-check at
    every step and before the commit. Raises as :func:`open_link` does."""
    if not is_token(token):
        raise errors.LinkMalformed()
    resolved = await client.resolve(token)
    refusal = _refusal(resolved)
    if refusal is not None:
        raise refusal
    return resolved


def _refusal(resolved: ResolvedLink) -> errors.LinkError | None:
    """Why a link the case service knows no longer opens its request, or None while it is open."""
    if resolved.state is LinkState.expired:
        return errors.LinkExpired()
    if resolved.state is LinkState.revoked:
        return errors.LinkRevoked()
    if resolved.state is LinkState.answered:
        return errors.LinkAnswered(resolved.answered_at, message_id=resolved.message_id)
    return None
