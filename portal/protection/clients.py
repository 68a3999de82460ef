"""Who a request comes from: the client address behind trusted proxies, and a session's binding.

The server middleware (``portal.server.guard``) and the Reflex states must agree on a client's
address, or a limit counted in one place would miss in the other. ``client_address`` therefore
follows Reflex's own rule for ``router.session.client_ip`` (``trusted_proxy_hops`` in
``rxconfig.py``, set from ``PortalSettings.trusted_proxy_hops``): with ``n`` trusted proxies in
front, the ``n``-th address from the right of ``X-Forwarded-For`` is the client; every address
further left was written by the client itself and counts for nothing.
"""

from __future__ import annotations

import hashlib
import ipaddress

# An IPv6 host picks new temporary addresses inside its /64 (RFC 8981) while a session runs.
IPV6_GROUP_PREFIX = 64
MAX_ADDRESS_CHARS = 64
MAX_USER_AGENT_CHARS = 512


def client_address(peer: str, forwarded_for: str, trusted_hops: int) -> str:
    """The client's address: ``peer`` (the TCP peer) unless ``trusted_hops`` proxies vouch for another.

    ``forwarded_for`` holds every X-Forwarded-For value of the request joined by ", " (how
    Reflex joins repeated headers). A header with fewer entries than hops did not pass through
    all proxies; the peer is then the best we know.
    """
    if trusted_hops > 0:
        forwarded = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if len(forwarded) >= trusted_hops:
            return forwarded[-trusted_hops][:MAX_ADDRESS_CHARS]
    return peer[:MAX_ADDRESS_CHARS]


def address_group(address: str) -> str:
    """What counts as "the same address" for limits and bindings.

    IPv4 addresses stand for themselves (an IPv4 peer on a dual-stack socket, ``::ffff:a.b.c.d``,
    too); IPv6 addresses count by their /64 network, which one household or phone holds whole.
    Anything that does not parse is kept as it is (cut to a bounded length).
    """
    text = address.strip()
    try:
        parsed = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text[:MAX_ADDRESS_CHARS]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_GROUP_PREFIX), strict=False))
    return str(parsed)


def binding(address: str, user_agent: str) -> str:
    """A session's binding: the client's address group and browser, hashed (nothing to read back).

    A session credential (the Reflex client token of a tab) that is copied to another network or
    browser no longer matches, so the session behind it ends instead of changing hands.
    """
    material = f"{address_group(address)}|{user_agent[:MAX_USER_AGENT_CHARS]}"
    return hashlib.sha256(material.encode("utf-8", "replace")).hexdigest()
