"""The FastAPI application: authentication, error bodies and the OpenAPI document.

The endpoints live in ``casesvc.routes`` and ``casesvc.staff`` (staff preview, audit log); the logic
behind them in ``casesvc.service``, ``casesvc.replies`` and ``casesvc.audit`` so the CLI can use it
without HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from casesvc.context import AppContext, KeyRing, utc_now
from casesvc.db import Database
from casesvc.errors import ServiceError, summarize_errors
from casesvc.routes import build_router
from casesvc.schemas import Problem, ReplyIn
from casesvc.settings import CaseServiceSettings
from casesvc.staff import build_staff_router

TITLE = "Rückkanal case service"
VERSION = "1.0.0"
DESCRIPTION = (
    "Reference implementation of the case-service contract behind the Rückkanal portal. "
    "Authorities create messages and collect replies; the portal resolves reply links and delivers replies. "
    "Every error body is a Problem with a stable code."
)


def problem_response(
    status: int, code: str, detail: str = "", headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(Problem(code=code, detail=detail).model_dump(), status_code=status, headers=headers)


HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def _install_error_handlers(app: FastAPI) -> None:
    async def service_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        return problem_response(exc.status, exc.code, exc.detail, exc.headers)

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(422, "invalid_request", summarize_errors(exc.errors()))

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

    @app.get("/health", tags=["operations"], summary="Liveness check (no credential)")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(build_router(ctx))
    app.include_router(build_staff_router(ctx))
    return app
