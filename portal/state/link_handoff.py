"""How a reply link's token gets from the address bar to the server without a route of its own.

Issue #5: a dynamic route such as /r/[token] has no prerendered HTML, so nothing painted until
the JavaScript had loaded and run. Instead the server answers /r/<token> with the prerendered
/reply page (portal.server.guard), and HANDOFF, first thing in its head, turns the address into
/reply#t=<token> before the app starts, so the router hydrates the page it was served. The
fragment is never sent in an HTTP request or a Referer; the page's load event carries it to the
server (Reflex sends the live location with every event), which verifies it and clears the
address bar with CLEAR, all in the one round trip that loading the page takes anyway.
"""

from __future__ import annotations

from portal import runtime
from portal.protection.clients import address_group
from portal.protection.ratelimit import Verdict
from portal.server.ratelimit import count, link_subject

# Runs while the HTML is parsed: before the app's modules, on every page (only /r/<token> acts).
HANDOFF = (
    "(function(){var m=/^\\/r\\/([^\\/?#]+)\\/?$/.exec(location.pathname);"
    "if(m){history.replaceState(null,'','/reply#t='+m[1]);}})();"
)

# Only a fragment in this form is a handed-over token; others (the skip link's #main) are not.
FRAGMENT_PREFIX = "t="

# Sent back with the verified request: the token leaves the address bar and the tab's history.
CLEAR = "history.replaceState(null,'','/reply');"


async def count_handover(client_ip: str, token: str) -> Verdict:
    """Counts one hand-over of a token (per client address and per link) against the limits.

    The hand-over, not the page request, is what asks the case service about a token, so this is
    the limit that stops anyone from trying tokens; the guard counts the page requests apart.
    """
    rules = runtime.rate_rules()
    checks = [(rules.handover_address, address_group(client_ip)), (rules.handover_link, link_subject(token))]
    return await count(runtime.rate_limiter, checks)
