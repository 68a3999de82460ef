"""The headers every answer of the portal gets, set in one place (``portal.server.guard``).

- The fixed security headers and a Content-Security-Policy whose ``connect-src`` names the
  portal's own origin (its http(s) and ws(s) forms) rather than any websocket host.
- ``Strict-Transport-Security`` on answers over HTTPS: a TLS connection to us, a trusted proxy's
  ``X-Forwarded-Proto: https``, or an https public URL (the address every link points to).
- ``Cache-Control: no-store`` on everything that is not a static asset: pages, the answer to a
  reply link, upload answers, the websocket's polling answers, errors. Only scripts, styles,
  fonts and images (the content-hashed build output, our stylesheet and icons) stay cacheable.
- ``Location`` of a redirect on the public URL: Starlette builds it from the request's Host
  header (``/reply`` to ``/reply/``), which anyone can set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from portal import routes
from portal.protection.clients import client_address

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

# Reflex runs scripts inline and evaluates the scripts the server sends (rx.call_script uses
# eval in Reflex's state.js), so 'unsafe-inline' and 'unsafe-eval' stay for scripts; see README.
# Everything else is limited to our own origin: no third party.
CSP_TEMPLATE = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' {origins}; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

FIXED_HEADERS: list[tuple[bytes, bytes]] = [
    # The token is in the first URL: no Referer may ever carry it elsewhere.
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]

# What may be cached: static files only, and never an answer under these paths.
CACHEABLE_TYPES = (b"text/javascript", b"application/javascript", b"text/css", b"font/", b"image/")
# A 304 carries no Content-Type: judged by the file's extension instead.
STATIC_SUFFIXES = (".js", ".mjs", ".css", ".woff", ".woff2", ".ttf", ".png", ".jpg", ".jpeg", ".svg", ".ico", ".webp")
PRIVATE_PREFIXES = (routes.LINK_PREFIX, routes.REPLY, routes.UPLOAD, routes.EVENT, routes.STAFF_HOME)
NO_STORE = b"no-store"


def connect_origins(public_origin: str) -> str:
    """The public origin in its http(s) and ws(s) forms, for ``connect-src``."""
    parts = urlsplit(public_origin)
    socket_scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{public_origin} {socket_scheme}://{parts.netloc}"


class ResponseHeaders:
    def __init__(self, public_origin: str, trusted_proxy_hops: int, hsts_max_age_seconds: int) -> None:
        self.public_origin = public_origin
        self.public_is_https = public_origin.startswith("https://")
        self.trusted_proxy_hops = trusted_proxy_hops
        csp = CSP_TEMPLATE.format(origins=connect_origins(public_origin))
        self.fixed = [*FIXED_HEADERS, (b"content-security-policy", csp.encode())]
        self.hsts = f"max-age={hsts_max_age_seconds}".encode() if hsts_max_age_seconds > 0 else b""

    def wrap(self, scope: MutableMapping[str, Any], send: Send) -> Send:
        """``send`` with this request's headers added to the answer's start."""
        https = self._is_https(scope)
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": self._headers(message, path, https)}
            await send(message)

        return send_with_headers

    def _headers(self, message: Message, path: str, https: bool) -> list[tuple[bytes, bytes]]:
        headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
        names = {name.lower() for name, _ in headers}
        extra = [(n, v) for n, v in self.fixed if n not in names]
        if https and self.hsts:
            extra.append((b"strict-transport-security", self.hsts))
        status = int(message.get("status", 200))
        if not _cacheable(status, headers, path):
            headers = [(n, v) for n, v in headers if n.lower() not in (b"cache-control", b"expires")]
            extra.append((b"cache-control", NO_STORE))
        if 300 <= status < 400:
            headers = [(n, self._public_location(v) if n.lower() == b"location" else v) for n, v in headers]
        return [*headers, *extra]

    def _is_https(self, scope: MutableMapping[str, Any]) -> bool:
        if self.public_is_https or scope.get("scheme") == "https":
            return True
        if self.trusted_proxy_hops <= 0:
            return False
        forwarded = ", ".join(
            value.decode("latin-1") for name, value in scope.get("headers", []) if name.lower() == b"x-forwarded-proto"
        )
        # The entry the nearest trusted proxy wrote, by the same rule as the client's address.
        return client_address("", forwarded, self.trusted_proxy_hops).strip().lower() == "https"

    def _public_location(self, value: bytes) -> bytes:
        """An absolute Location put on the public origin (path and query kept); relative ones stay."""
        try:
            parts = urlsplit(value.decode("latin-1"))
        except ValueError:
            return self.public_origin.encode() + b"/"
        if not parts.scheme and not parts.netloc:
            return value
        public = urlsplit(self.public_origin)
        return urlunsplit((public.scheme, public.netloc, parts.path or "/", parts.query, "")).encode("latin-1")


def _cacheable(status: int, headers: list[tuple[bytes, bytes]], path: str) -> bool:
    if status not in (200, 304) or path.startswith(PRIVATE_PREFIXES):
        return False
    if status == 304:
        return path.lower().endswith(STATIC_SUFFIXES)
    content_type = next((v.lower() for n, v in headers if n.lower() == b"content-type"), b"")
    return content_type.startswith(CACHEABLE_TYPES)
