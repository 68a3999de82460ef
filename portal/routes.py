"""Every path the portal answers or points to, named once.

The app registers its pages from here (``portal.portal``), the guard and the headers decide by
these paths, and pages and states link to them; ``tests/portal/test_routes.py`` fails when one of
them and the built app disagree. Plain Python: the server side reads it without Reflex.
"""

from __future__ import annotations

# The applicant's pages.
HOME = "/"
# The reply page: a reply link is served its prerendered HTML (see ``portal.links``).
REPLY = "/reply"
# A reply link is this prefix and its token; it is no page of the app (``portal.links``).
LINK_PREFIX = "/r/"
# The pages around the form; each name is also its locale keys' part (``pages.<name>.title``).
INFO_PAGES = ("help", "accessibility", "privacy", "imprint")

# The staff area.
STAFF_HOME = "/staff"
STAFF_SIGN_IN = "/staff/sign-in"
STAFF_MESSAGE_PREFIX = "/staff/message/"
STAFF_MESSAGE = STAFF_MESSAGE_PREFIX + "[message_id]"

# Reflex's own endpoints (its upload handler and its event socket), which the guard watches.
UPLOAD = "/_upload"
EVENT = "/_event"
# The operator's metrics (``portal.server.metrics``).
METRICS = "/_metrics"
# Health for an orchestrator or load balancer (``portal.server.health``).
HEALTH_LIVE = "/health/live"
HEALTH_READY = "/health/ready"
# The portal's stylesheet, an asset every page and the link refusal page load.
STYLESHEET = "/portal.css"


def info(name: str) -> str:
    """The path of the information page ``name`` (one of ``INFO_PAGES``)."""
    return f"/{name}"


# Every page the app registers, in the order it registers them.
PAGES = (HOME, REPLY, *(info(name) for name in INFO_PAGES), STAFF_SIGN_IN, STAFF_HOME, STAFF_MESSAGE)
