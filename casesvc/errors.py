"""The one exception the service layer raises; the app turns it into a ``Problem`` body.

Codes are stable API: clients (the portal) map them to their own texts, so never rename one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

from casesvc.schemas import Problem


class ServiceError(Exception):
    def __init__(self, status: int, code: str, detail: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers


def not_found(code: str, detail: str) -> ServiceError:
    # Another authority's message answers exactly like a missing one, so ids cannot be probed.
    return ServiceError(404, code, detail)


def unprocessable(code: str, detail: str) -> ServiceError:
    return ServiceError(422, code, detail)


def summarize_errors(errors: Any) -> str:
    # Location and message only: the rejected input may hold personal data and stays out of the body.
    parts = [f"{'.'.join(str(p) for p in error.get('loc', ()))}: {error.get('msg', '')}" for error in list(errors)[:10]]
    return "; ".join(parts)


def problem_response(
    status: int, code: str, detail: str = "", headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(Problem(code=code, detail=detail).model_dump(), status_code=status, headers=headers)
