"""ASGI middleware in front of Reflex: who may upload and how much, before the body is read;
rate limits; security headers.

Reflex enforces upload size and count only in the browser, serves its upload folder without
authentication, and creates a session's state for any client token an upload names; it also
answers an upload sent to a handler that takes no files with a server error. So this layer
decides on the server, before Reflex sees the request: only the portal's upload handler, only
for a session whose reply link was verified and is still open, only within the size limit and
the rate limits. The headers are set in ``portal.server.headers``, the rate limits in
``portal.server.ratelimit``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from portal import links, metrics, routes
from portal.domain.errors import RateLimited
from portal.protection.ratelimit import PortalRules, RateLimiter
from portal.server.headers import ResponseHeaders
from portal.server.ratelimit import (
    UPLOAD_REFUSED_CODE,
    RequestLimits,
    header,
    link_refusal,
    picked_language,
    upload_refusal,
)
from portal.settings import PortalSettings

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# Does the session with this Reflex client token hold a verified, open reply link?
MayUpload = Callable[[str], Awaitable[bool]]
# The first response to a reply link with its request in it (portal.server.link_page), or None
# when this process has no page to answer with.
LinkPage = Callable[[Scope, str], Awaitable[tuple[int, list[tuple[bytes, bytes]], bytes] | None]]
# The path the reply page's prerendered HTML is served under (Reflex redirects "/reply" to it).
_REPLY_PAGE = routes.REPLY + "/"


def _problem(status: int, code: str) -> tuple[dict[str, Any], bytes]:
    body = json.dumps({"code": code}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    return start, body


class PortalGuard:
    """Wraps the Reflex backend app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_upload_request_bytes: int,
        settings: PortalSettings | None = None,
        limiter: Callable[[], RateLimiter] | None = None,
        upload_refused_handler: str = "",
        upload_handlers: Collection[str] = (),
        may_upload: MayUpload | None = None,
        link_page: LinkPage | None = None,
    ) -> None:
        """``limiter`` (called on first use, so building the app opens no database) turns the rate
        limits on; ``upload_refused_handler`` is the reply state's event that shows a refused
        upload (see ``portal.server.ratelimit``)."""
        self.app = app
        self.max_upload_request_bytes = max_upload_request_bytes
        self.settings = settings or PortalSettings()
        self.headers = ResponseHeaders(
            self.settings.public_origin, self.settings.trusted_proxy_hops, self.settings.hsts_max_age_seconds
        )
        self.limits = (
            RequestLimits(limiter, PortalRules.from_settings(self.settings), self.settings.trusted_proxy_hops)
            if limiter is not None
            else None
        )
        self.upload_refused_handler = upload_refused_handler
        # Full names of the event handlers that take files; any other is refused.
        self.upload_handlers = frozenset(upload_handlers)
        self.may_upload = may_upload
        self.link_page = link_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        send_with_headers = self.headers.wrap(scope, send)
        token = links.token_in_path(path) if scope["method"] in ("GET", "HEAD") else None
        if token is not None:
            if await self._link_refused(scope, token, send_with_headers):
                return
            answer = await self._link_page(scope, token)
            if answer is not None:
                # The page with the request (or why not) in it; see portal/server/link_page.py.
                await _answer(send_with_headers, answer)
                return
            # A reply link /r/<token> gets the prerendered /reply page, which paints at once; the
            # script in its head moves the token into the fragment (/reply#t=<token>) before the
            # app starts (first paint without waiting for the JavaScript; a dynamic
            # route has no prerendered HTML). See portal/links.py.
            scope = {**scope, "path": _REPLY_PAGE, "raw_path": _REPLY_PAGE.encode(), "query_string": b""}
        if path.startswith(routes.UPLOAD):
            if scope["method"] != "POST":
                # Reflex would serve its upload folder publicly; nothing of ours is there, and nothing may be.
                await self._reply(send_with_headers, 404, "not_found")
                return
            length = _content_length(scope)
            if length is None:
                await self._refuse_upload(send_with_headers, 411, "length_required")
                return
            if length > self.max_upload_request_bytes:
                # Answered before a single byte of the body is read.
                await self._refuse_upload(send_with_headers, 413, "upload_too_large")
                return
            refusal = await self._upload_refusal(scope)
            if refusal is not None:
                await self._refuse_upload(send_with_headers, *refusal)
                return
            # Counted only for a session that may upload: a stranger's requests leave no trace.
            if await self._upload_refused(scope, send_with_headers):
                return
            receive = _capped(receive, length)
        await self.app(scope, receive, send_with_headers)

    async def _link_refused(self, scope: Scope, token: str, send: Send) -> bool:
        """Counts a link opening; answers 429 and returns True when refused."""
        if self.limits is None:
            return False
        verdict = await self.limits.link_opening(scope, token)
        if verdict.allowed:
            return False
        metrics.count_link_opening(RateLimited.code)
        languages = list(self.settings.languages)
        picked = picked_language(scope)
        await _answer(send, link_refusal(verdict, header(scope, b"accept-language"), languages, picked))
        return True

    async def _link_page(self, scope: Scope, token: str) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """The link's page with its request in it; on a failure of our own, None: the prerendered
        page then serves, and the websocket opens the link as before. Logged without the token."""
        if self.link_page is None:
            return None
        try:
            return await self.link_page(scope, token)
        except Exception as exc:
            log.warning("reply link page not rendered (%s); the prerendered page serves", type(exc).__name__)
            return None

    async def _upload_refused(self, scope: Scope, send: Send) -> bool:
        """Counts an upload request; answers 429 and returns True when refused."""
        if self.limits is None:
            return False
        verdict = await self.limits.upload(scope)
        if verdict.allowed:
            return False
        metrics.count_upload_refused(UPLOAD_REFUSED_CODE)
        await _answer(send, upload_refusal(verdict, self.upload_refused_handler))
        return True

    async def _upload_refusal(self, scope: Scope) -> tuple[int, str] | None:
        """Why an upload request is refused before anything of it is read, if it is."""
        handler = header(scope, b"reflex-event-handler")
        token = header(scope, b"reflex-client-token")
        if not handler or not token:
            return 400, "upload_malformed"
        if handler not in self.upload_handlers:
            return 400, "upload_handler_unknown"
        if self.may_upload is None or not await self.may_upload(token):
            # No state is created for a client token that never verified a link.
            return 403, "link_not_verified"
        return None

    @classmethod
    async def _refuse_upload(cls, send: Send, status: int, code: str) -> None:
        metrics.count_upload_refused(code)
        await cls._reply(send, status, code)

    @staticmethod
    async def _reply(send: Send, status: int, code: str) -> None:
        start, body = _problem(status, code)
        await send(start)
        await send({"type": "http.response.body", "body": body})


async def _answer(send: Send, answer: tuple[int, list[tuple[bytes, bytes]], bytes]) -> None:
    status, headers, body = answer
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _capped(receive: Receive, limit: int) -> Receive:
    """Never hand the app more bytes than the declared (and checked) Content-Length."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                return {"type": "http.disconnect"}
        return message

    return wrapped
