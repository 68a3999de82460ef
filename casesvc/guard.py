"""The outermost layer of the case service: credential first, bounded bodies, security headers.

FastAPI reads a request's whole JSON body before it runs any dependency, so a credential check
written as a dependency comes too late: an unauthenticated client could make the service hold
hundreds of megabytes. This layer runs before FastAPI sees the request:

1. Every path except the public ones (health, the OpenAPI document and its viewers) needs a known
   bearer key; otherwise 401 at once, without reading a byte of the body. Which face a key may use
   is still decided by the route's dependencies (403).
2. Every body has a limit: the route's own (the multipart reply upload) or the small JSON limit.
   A declared Content-Length above it is refused with 413 before reading; without one (chunked),
   the bytes are counted as they arrive and the request is cut off at the limit.
3. Every answer carries the security headers, errors and 500s included (this layer wraps
   Starlette's own error handler).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casesvc.context import KeyRing
from casesvc.errors import problem_response

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Messages, replies and files carry personal data: no cache may keep a copy.
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000"
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a body outgrows its limit.

    An HTTPException, so FastAPI's body reading passes it on unchanged (it turns other exceptions
    into 400) and the app's handler answers with the usual 413 problem.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


@dataclass(frozen=True)
class RouteLimit:
    """A body limit for one route other than the default, e.g. the multipart reply upload."""

    method: str
    pattern: re.Pattern[str]
    limit: int

    @classmethod
    def for_route(cls, method: str, path_template: str, limit: int) -> RouteLimit:
        # The same path matching as Starlette's router, from the route's own template.
        return cls(method, compile_path(path_template)[0], limit)


@dataclass(frozen=True)
class GuardPolicy:
    keys: KeyRing
    # Paths served without a credential; they take no body.
    public_paths: frozenset[str]
    # Documentation pages load Swagger UI / ReDoc scripts, which the API's CSP would block.
    html_paths: frozenset[str]
    default_limit: int
    route_limits: Sequence[RouteLimit]

    def limit_for(self, method: str, path: str) -> int:
        for route in self.route_limits:
            if route.method == method and route.pattern.match(path):
                return route.limit
        return self.default_limit


def route_path(scope: Scope) -> str:
    # The path as the router matches it: under ``uvicorn --root-path`` the scope's path carries the
    # prefix (as Starlette's own get_route_path, which is private, strips it).
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


def bearer_key(headers: Headers) -> str | None:
    # The same reading as FastAPI's HTTPBearer, so this layer and the route's guard agree.
    scheme, _, key = headers.get("authorization", "").partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


class _Exchange:
    """One request's state: whether the body was refused, so the connection must not be reused."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.received = 0
        self.refused = False


class RequestGuard:
    def __init__(self, app: ASGIApp, policy: GuardPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = route_path(scope)
        exchange = _Exchange(self.policy.limit_for(scope["method"], path))
        send = self._with_headers(path, scope, send, exchange)
        if path not in self.policy.public_paths:
            key = bearer_key(headers)
            if key is None or self.policy.keys.identify(key) is None:
                exchange.refused = True
                response = problem_response(401, "unauthorized", "a valid bearer key is required", UNAUTHORIZED_HEADERS)
                await response(scope, receive, send)
                return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > exchange.limit:
            exchange.refused = True
            too_large = BodyTooLarge(exchange.limit)
            await problem_response(413, "too_large", too_large.detail)(scope, receive, send)
            return

        async def receive_counted() -> Message:
            # Content-Length may be absent (chunked): count what actually arrives, stop at the limit.
            message = await receive()
            if message["type"] == "http.request":
                exchange.received += len(message.get("body", b""))
                if exchange.received > exchange.limit:
                    exchange.refused = True
                    raise BodyTooLarge(exchange.limit)
            return message

        await self.app(scope, receive_counted, send)

    def _with_headers(self, path: str, scope: Scope, send: Send, exchange: _Exchange) -> Send:
        csp = path not in self.policy.html_paths
        # scheme is "https" behind TLS, and behind a proxy that uvicorn trusts (--forwarded-allow-ips)
        # and that sets X-Forwarded-Proto; a header from anyone else does not change it.
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if csp:
                    headers["Content-Security-Policy"] = API_CSP
                if https:
                    headers["Strict-Transport-Security"] = HSTS
                if exchange.refused:
                    # The rest of the body is still on its way: close instead of reading it to
                    # find the next request (the server honours this header).
                    headers["Connection"] = "close"
            await send(message)

        return send_with_headers
