"""Rate limits in front of Reflex: reply-link openings and upload requests, and their refusals;
and the count of a token's hand-over to the reply state.

Counted before the app sees the request (an upload before a byte of its body is read), per
client address (behind ``trusted_proxy_hops`` proxies, the rule Reflex's states use too) and per
link or session. The counters live in the portal's database (``portal.protection.ratelimit``) so all
instances share them. A refusal is a 429 with ``Retry-After`` that a person can read:

- a reply link gets a small page in the applicant's language (``Accept-Language``, else German)
  that says how long to wait; its script takes the token out of the address bar, as the
  reply page's own head script does;
- an upload gets the line Reflex's upload client reads as a state update: it calls the reply
  state's ``upload_refused`` handler, which shows the translated refusal where the page lists
  refused files.

If the database cannot count, the request passes (and a warning is logged): the limits protect
the portal, they must not be what takes it down.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
from collections.abc import Callable, MutableMapping
from http.cookies import CookieError, SimpleCookie
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from portal import links, routes
from portal.domain import formatting, i18n
from portal.protection.clients import address_group, client_address
from portal.protection.ratelimit import PortalRules, RateLimiter, Rule, Verdict

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]

UPLOAD_REFUSED_CODE = "too_many_uploads"
MAX_TOKEN_HEADER_CHARS = 128


def header(scope: Scope, name: bytes) -> str:
    """Every value of one request header, joined by ", " (as Reflex joins them)."""
    return ", ".join(value.decode("latin-1") for key, value in scope.get("headers", []) if key.lower() == name)


def scope_address(scope: Scope, trusted_hops: int) -> str:
    client = scope.get("client") or ("", 0)
    return address_group(client_address(str(client[0]), header(scope, b"x-forwarded-for"), trusted_hops))


def link_subject(token: str) -> str:
    """A link's counter subject: its token's hash (the counter key is hashed again anyway)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


async def count(limiter: Callable[[], RateLimiter], checks: list[tuple[Rule, str]]) -> Verdict:
    """One hit on each counter, off the event loop; a database that cannot count lets it pass."""
    try:
        return await asyncio.to_thread(lambda: limiter().hit(checks))
    except SQLAlchemyError:
        log.warning("rate limit counters unavailable; request let through")
        return Verdict(allowed=True)


async def count_handover(limiter: Callable[[], RateLimiter], rules: PortalRules, client_ip: str, token: str) -> Verdict:
    """Counts one hand-over of a token (per client address and per link) against the limits.

    The hand-over, not the page request, is what asks the case service about a token, so this is
    the limit that stops anyone from trying tokens; the guard counts the page requests apart.
    """
    checks = [(rules.handover_address, address_group(client_ip)), (rules.handover_link, link_subject(token))]
    return await count(limiter, checks)


class RequestLimits:
    def __init__(self, limiter: Callable[[], RateLimiter], rules: PortalRules, trusted_hops: int) -> None:
        self._limiter = limiter
        self.rules = rules
        self.trusted_hops = trusted_hops

    async def link_opening(self, scope: Scope, token: str) -> Verdict:
        address = scope_address(scope, self.trusted_hops)
        link = link_subject(token)
        return await self._hit([(self.rules.link_open_address, address), (self.rules.link_open_link, link)])

    async def upload(self, scope: Scope) -> Verdict:
        address = scope_address(scope, self.trusted_hops)
        # The tab's Reflex token: one tab holds one link (the state counts per link as well).
        session = header(scope, b"reflex-client-token")[:MAX_TOKEN_HEADER_CHARS]
        return await self._hit([(self.rules.upload_address, address), (self.rules.upload_link, "session:" + session)])

    async def _hit(self, checks: list[tuple[Rule, str]]) -> Verdict:
        return await count(self._limiter, checks)


def picked_language(scope: Scope) -> str:
    """The language this device's person picked on an earlier page (the cookie), or ""."""
    jar = SimpleCookie()
    try:
        jar.load(header(scope, b"cookie"))
    except CookieError:
        return ""
    picked = jar.get(i18n.LANGUAGE_COOKIE)
    return picked.value if picked is not None else ""


def link_refusal(verdict: Verdict, accept_language: str, languages: list[str], picked: str = "") -> Answer:
    """The 429 page for a reply link opened too often, in the person's language as a page would
    pick it without the case (their own pick on this device, else the browser's)."""
    lang = i18n.pick_language(picked, None, accept_language, languages)
    title = html.escape(i18n.translate(lang, "link.too_many_attempts_title"))
    body = html.escape(i18n.translate(lang, "link.too_many_attempts_body"))
    minutes = formatting.format_number(verdict.minutes, lang)
    wait = html.escape(i18n.translate_count(lang, "limit.wait_minutes", verdict.minutes, minutes=minutes))
    page = (
        f'<!DOCTYPE html><html lang="{i18n.html_lang(lang)}" dir="{i18n.text_direction(lang)}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        # The token leaves the address bar and the history, as on the reply page.
        f"<script>{links.CLEAR}</script>"
        f"<title>{title}</title>"
        f'<link rel="stylesheet" href="{routes.STYLESHEET}"></head><body><main id="main" class="site-main">'
        f'<section class="notice notice-error" role="alert"><h1>{title}</h1><p>{body}</p><p>{wait}</p></section>'
        "</main></body></html>"
    ).encode()
    return 429, _refusal_headers(verdict, b"text/html; charset=utf-8", page), page


def upload_refusal(verdict: Verdict, handler: str) -> Answer:
    """The 429 answer to an upload: one state-update line calling ``handler`` (see module doc)."""
    event = {"name": handler, "payload": {"code": UPLOAD_REFUSED_CODE, "minutes": verdict.minutes}}
    body = (json.dumps({"delta": {}, "events": [event], "final": True}) + "\n").encode()
    return 429, _refusal_headers(verdict, b"application/json", body), body


def _refusal_headers(verdict: Verdict, content_type: bytes, body: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(verdict.retry_after).encode()),
    ]
