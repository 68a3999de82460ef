"""The FastAPI application: the request guard, error bodies and the OpenAPI document.

The endpoints live in ``casesvc.routes`` and ``casesvc.staff`` (staff preview, audit log); the logic
behind them in ``casesvc.service``, ``casesvc.replies`` and ``casesvc.audit`` so the CLI can use it
without HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from casesvc.context import AppContext, KeyRing, utc_now
from casesvc.db import Database
from casesvc.errors import ServiceError, problem_response, summarize_errors
from casesvc.guard import GuardPolicy, RequestGuard, RouteLimit
from casesvc.routes import (
    API_PREFIX,
    IDEMPOTENCY_KEY_LOC,
    IDEMPOTENCY_KEY_RULE,
    REPLY_UPLOAD_PATH,
    build_router,
    problems,
)
from casesvc.schemas import ReplyIn
from casesvc.settings import CaseServiceSettings
from casesvc.staff import build_staff_router

TITLE = "Rückkanal case service"
VERSION = "1.0.0"
DESCRIPTION = (
    "Reference implementation of the case-service contract behind the Rückkanal portal. "
    "Authorities create messages and collect replies; the portal resolves reply links and delivers replies. "
    "Every error body is a Problem with a stable code. A request without a known bearer key is refused (401) "
    "before its body is read; every body has a size limit (413). Malformed JSON is 400 invalid_json, "
    "well-formed JSON that breaks a rule is 422."
)


# FastAPI's only 400 is a JSON body it cannot decode (not UTF-8); other malformed JSON comes as a
# validation error of type json_invalid. Both are invalid_json.
HTTP_CODES = {400: "invalid_json", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def _install_error_handlers(app: FastAPI) -> None:
    async def service_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        return problem_response(exc.status, exc.code, exc.detail, exc.headers)

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        if any(error.get("type") == "json_invalid" for error in errors):
            # Not JSON at all is a malformed request (400); JSON that breaks a rule is 422.
            return problem_response(400, "invalid_json", "the body is not valid JSON")
        if all(tuple(error.get("loc", ())) == IDEMPOTENCY_KEY_LOC for error in errors):
            return problem_response(422, "idempotency_key_missing", IDEMPOTENCY_KEY_RULE)
        return problem_response(422, "invalid_request", summarize_errors(errors))

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return problem_response(exc.status_code, code, str(exc.detail), exc.headers)

    async def unexpected(_request: Request, _exc: Exception) -> JSONResponse:
        return problem_response(500, "internal", "unexpected error")

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


class CaseServiceAPI(FastAPI):
    guard_policy: GuardPolicy | None = None

    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's error handler, so even a 500 carries the security headers, and before
        # FastAPI reads any body.
        stack = super().build_middleware_stack()
        if self.guard_policy is None:
            return stack
        return RequestGuard(stack, self.guard_policy)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            schema = super().openapi()
            # The reply endpoint reads its multipart body by hand (file part names are dynamic), so
            # FastAPI does not see ReplyIn; add it, and its parts, for the route's requestBody $ref.
            reply_schema = ReplyIn.model_json_schema(ref_template="#/components/schemas/{model}")
            definitions = reply_schema.pop("$defs", {})
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, definition in {**definitions, "ReplyIn": reply_schema}.items():
                components.setdefault(name, definition)
        return self.openapi_schema or {}


def _declared_query_only(request: Request) -> None:
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    declared = {param.alias for param in getattr(dependant, "query_params", [])}
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise ServiceError(422, "unknown_parameter", f"not a query parameter of this operation: {unknown[0][:64]!r}")


def create_app(settings: CaseServiceSettings, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    db = Database(settings.database_url)
    ctx = AppContext(settings=settings, db=db, keys=KeyRing(settings), clock=clock or utc_now)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        settings.files_dir.mkdir(parents=True, exist_ok=True)
        db.create_all()
        yield
        db.dispose()

    app = CaseServiceAPI(title=TITLE, version=VERSION, description=DESCRIPTION, lifespan=lifespan)
    app.state.context = ctx
    _install_error_handlers(app)

    @app.get("/health", tags=["operations"], summary="Liveness check (no credential)", responses=problems(only=True))
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # A query parameter the operation does not declare is refused, not silently ignored: the
    # document says what the service takes, and a client's typo must not read as "no filter".
    app.include_router(build_router(ctx), dependencies=[Depends(_declared_query_only)])
    app.include_router(build_staff_router(ctx), dependencies=[Depends(_declared_query_only)])
    docs = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    html_paths = frozenset(path for path in docs if path)
    app.guard_policy = GuardPolicy(
        keys=ctx.keys,
        public_paths=html_paths | {path for path in ("/health", app.openapi_url) if path},
        html_paths=html_paths,
        default_limit=settings.max_json_bytes,
        route_limits=[RouteLimit.for_route("POST", API_PREFIX + REPLY_UPLOAD_PATH, settings.max_reply_bytes)],
    )
    return app
