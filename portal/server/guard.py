"""ASGI middleware in front of Reflex: who may upload and how much, before the body is read;
security headers.

Reflex enforces upload size and count only in the browser, serves its upload folder without
authentication, and creates a session's state for any client token an upload names; it also
answers an upload sent to a handler that takes no files with a server error. So this layer
decides on the server, before Reflex sees the request: only the portal's upload handler, only
for a session whose reply link was verified and is still open, only within the size limit.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# Does the session with this Reflex client token hold a verified, open reply link?
MayUpload = Callable[[str], Awaitable[bool]]

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    # The token is in the first URL: no Referer may ever carry it elsewhere.
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    # Reflex inlines scripts and evaluates scripts sent from the server ('unsafe-inline'/'unsafe-eval',
    # reflex-notes "Security knobs"); everything else is limited to our own origin: no third party.
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; "
        b"base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
]


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
        upload_handlers: Collection[str] = (),
        may_upload: MayUpload | None = None,
    ) -> None:
        self.app = app
        self.max_upload_request_bytes = max_upload_request_bytes
        # Full names of the event handlers that take files; any other is refused.
        self.upload_handlers = frozenset(upload_handlers)
        self.may_upload = may_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        if scope["method"] in ("GET", "HEAD") and _is_link_path(path):
            # A reply link /r/<token> gets the prerendered /reply page, which paints at once; the
            # script in its head moves the token into the fragment (/reply#t=<token>) before the
            # app starts (issue #5: first paint without waiting for the JavaScript; a dynamic
            # route has no prerendered HTML). See portal/state/link_handoff.py.
            scope = {**scope, "path": "/reply/", "raw_path": b"/reply/", "query_string": b""}
        if path.startswith("/_upload"):
            if scope["method"] != "POST":
                # Reflex would serve its upload folder publicly; nothing of ours is there, and nothing may be.
                await self._reply(send_with_headers, 404, "not_found")
                return
            length = _content_length(scope)
            if length is None:
                await self._reply(send_with_headers, 411, "length_required")
                return
            if length > self.max_upload_request_bytes:
                # Answered before a single byte of the body is read.
                await self._reply(send_with_headers, 413, "upload_too_large")
                return
            refusal = await self._upload_refusal(scope)
            if refusal is not None:
                await self._reply(send_with_headers, *refusal)
                return
            receive = _capped(receive, length)
        await self.app(scope, receive, send_with_headers)

    async def _upload_refusal(self, scope: Scope) -> tuple[int, str] | None:
        """Why an upload request is refused before anything of it is read, if it is."""
        handler = _header(scope, b"reflex-event-handler")
        token = _header(scope, b"reflex-client-token")
        if not handler or not token:
            return 400, "upload_malformed"
        if handler not in self.upload_handlers:
            return 400, "upload_handler_unknown"
        if self.may_upload is None or not await self.may_upload(token):
            # No state is created for a client token that never verified a link.
            return 403, "link_not_verified"
        return None

    @staticmethod
    async def _reply(send: Send, status: int, code: str) -> None:
        start, body = _problem(status, code)
        await send(start)
        await send({"type": "http.response.body", "body": body})


def _is_link_path(path: str) -> bool:
    parts = path.strip("/").split("/")
    return len(parts) == 2 and parts[0] == "r" and parts[1] != ""


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


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
