"""The HTTP endpoints of both faces. Thin: check the caller, call the service layer, shape the answer."""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

from collections.abc import Callable
from typing import Any, BinaryIO, NamedTuple
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from casesvc import replies, service
from casesvc.context import AppContext
from casesvc.errors import ServiceError, summarize_errors, unprocessable
from casesvc.schemas import (
    Message,
    MessageCreated,
    MessageIn,
    Problem,
    ReplyCreated,
    ReplyIn,
    ReplyPage,
    Resolved,
    ResolveIn,
    Revoked,
    RevokeIn,
)
from casesvc.service import Caller

IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
IDEMPOTENCY_KEY_LOC = ("header", "Idempotency-Key")
IDEMPOTENCY_KEY_RULE = "header Idempotency-Key of 1..128 [A-Za-z0-9_-] required"
REPLY_PART = "reply"
API_PREFIX = "/api/v1"
# The request guard gives this route the reply upload limit instead of the JSON limit.
REPLY_UPLOAD_PATH = "/messages/{message_id}/reply"
MAX_REPLY_JSON = 1024 * 1024

bearer = HTTPBearer(auto_error=False, description="Authority key or portal key")

PROBLEM_TEXT = {
    400: "Malformed request: the body is not JSON (invalid_json), or the upload broke off",
    401: "Missing or unknown credential (unauthorized)",
    403: "Credential of the other face (forbidden)",
    404: "Not found, or belongs to another authority",
    409: "Conflict (already_answered, idempotency_key_reused)",
    410: "Link no longer usable (link_revoked, link_expired)",
    413: "Body over the route's limit, or a file over the file limit (too_large)",
    422: "Request refused; the code names the rule",
}
# Any request may carry a body, so any may exceed its limit (413, from the request guard).
AUTHENTICATED = (401, 403, 413, 422)

# Where a paged list (replies, audit entries) goes on: the previous page's next_cursor.
after_cursor = Query(default=0, ge=0, description="next_cursor of the previous page; 0 for the start")


def problems(*statuses: int, only: bool = False) -> dict[int | str, dict[str, Any]]:
    """The Problem answers of a route: those of every authenticated route plus ``statuses``.

    ``only=True`` for a public route: just 413 (and ``statuses``).
    """
    listed = sorted({413, *statuses} if only else {*AUTHENTICATED, *statuses})
    return {status: {"model": Problem, "description": PROBLEM_TEXT[status]} for status in listed}


FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        # Served with the media type the portal declared for the file.
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The file's bytes, with the media type it was delivered with",
    },
    **problems(404),
}

REPLY_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [REPLY_PART],
                    "properties": {REPLY_PART: {"$ref": "#/components/schemas/ReplyIn"}},
                    "additionalProperties": {"type": "string", "contentMediaType": "application/octet-stream"},
                    "description": "A part named 'reply' with the ReplyIn JSON, then one part per file, "
                    "named by its FileMeta.key",
                },
                "encoding": {REPLY_PART: {"contentType": "application/json"}},
            }
        },
    }
}


def content_disposition(name: str) -> str:
    # ASCII fallback for old clients, RFC 5987 form for the real (often German) name.
    fallback = name.encode("ascii", "replace").decode("ascii").replace('"', "'").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def read_reply_form(request: Request) -> tuple[ReplyIn, dict[str, BinaryIO], FormData]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise unprocessable("invalid_request", "the reply is sent as multipart/form-data")
    # The request guard stops the stream at the reply limit (413), whatever Content-Length said.
    parser = MultiPartParser(
        request.headers, request.stream(), max_files=64, max_fields=4, max_part_size=MAX_REPLY_JSON
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise unprocessable("invalid_request", exc.message) from None
    except ClientDisconnect:
        raise ServiceError(400, "client_disconnected", "the upload was interrupted") from None
    try:
        reply_values = form.getlist(REPLY_PART)
        if len(reply_values) != 1:
            raise unprocessable("invalid_request", "exactly one part named 'reply' is expected")
        raw = reply_values[0]
        # Sent as a file part by some clients; read no more than a ReplyIn can legitimately be.
        text = (await raw.read(MAX_REPLY_JSON + 1)).decode("utf-8", "replace") if isinstance(raw, UploadFile) else raw
        if len(text) > MAX_REPLY_JSON:
            raise unprocessable("invalid_request", "the 'reply' part is too large")
        try:
            reply = ReplyIn.model_validate_json(text)
        except ValidationError as exc:
            errors = exc.errors()
            if any(error["type"] == "json_invalid" for error in errors):
                raise ServiceError(400, "invalid_json", "the 'reply' part is not valid JSON") from None
            raise unprocessable("invalid_request", summarize_errors(errors)) from None
        parts: dict[str, BinaryIO] = {}
        for name, value in form.multi_items():
            if name == REPLY_PART:
                continue
            if not isinstance(value, UploadFile) or name in parts:
                raise unprocessable("file_mismatch", f"part {name!r} is not a single file part")
            parts[name] = value.file
    except BaseException:
        await form.close()
        raise
    return reply, parts, form


class Guards(NamedTuple):
    """The credential checks, as FastAPI dependencies: any known key, an authority key, the portal key."""

    any_caller: Callable[..., Caller]
    authority: Callable[..., str]
    portal: Callable[..., Caller]


def make_guards(ctx: AppContext) -> Guards:
    def any_caller(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Caller:
        caller = ctx.keys.identify(credentials.credentials) if credentials is not None else None
        if caller is None:
            raise ServiceError(401, "unauthorized", "a valid bearer key is required", {"WWW-Authenticate": "Bearer"})
        return caller

    def authority(caller: Caller = Depends(any_caller)) -> str:
        if caller.authority_id is None:
            raise ServiceError(403, "forbidden", "this endpoint is for authorities")
        return caller.authority_id

    def portal(caller: Caller = Depends(any_caller)) -> Caller:
        if not caller.is_portal:
            raise ServiceError(403, "forbidden", "this endpoint is for the portal")
        return caller

    return Guards(any_caller, authority, portal)


def build_router(ctx: AppContext) -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    any_caller, authority, portal = make_guards(ctx)

    message_id_path = Path(min_length=1, max_length=64)

    @router.post("/messages", status_code=201, tags=["authority"], responses=problems(400))
    def create_message(message: MessageIn, authority_id: str = Depends(authority)) -> MessageCreated:
        """Create a message to an applicant and mint its reply link (returned only here)."""
        return service.create_message(ctx.db, ctx.settings, authority_id, message, ctx.now())

    @router.get("/messages", tags=["authority"], responses=problems())
    def list_messages(
        case_reference: str | None = Query(default=None, min_length=1, max_length=64),
        limit: int = Query(default=100, ge=1, le=500),
        authority_id: str = Depends(authority),
    ) -> list[Message]:
        """The authority's messages, oldest first, optionally of one case. Entries carry no history."""
        return service.list_messages(ctx.db, authority_id, case_reference, limit, ctx.now())

    @router.get("/messages/{message_id}", tags=["authority", "portal"], responses=problems(404))
    def get_message(message_id: str = message_id_path, caller: Caller = Depends(any_caller)) -> Message:
        """The message with its case context and the earlier messages of the same case."""
        return service.get_message(ctx.db, message_id, caller, ctx.now())

    @router.post("/messages/{message_id}/revoke", tags=["authority"], responses=problems(400, 404, 409))
    def revoke(
        message_id: str = message_id_path,
        body: RevokeIn | None = Body(default=None),
        authority_id: str = Depends(authority),
    ) -> Revoked:
        """Make the reply link unusable. An answered message cannot be revoked (409)."""
        reason = body.reason if body is not None else ""
        return service.revoke(
            ctx.db, message_id, Caller(authority_id), reason, ctx.now(), ctx.settings.audit_retention_days
        )

    @router.get("/replies", tags=["authority"], responses=problems())
    def list_replies(
        after: int = after_cursor,
        limit: int = Query(default=50, ge=1, le=100),
        authority_id: str = Depends(authority),
    ) -> ReplyPage:
        """The authority's replies after a cursor, in the order they were received, each complete."""
        return replies.list_replies(ctx.db, authority_id, after, limit)

    @router.get(
        "/replies/{reply_id}/files/{file_id}",
        tags=["authority"],
        response_class=FileResponse,
        responses=FILE_RESPONSES,
    )
    def get_file(
        reply_id: str = Path(min_length=1, max_length=64),
        file_id: str = Path(min_length=1, max_length=64),
        authority_id: str = Depends(authority),
    ) -> FileResponse:
        """The bytes of one file of a reply, as delivered (their SHA-512 is in the reply)."""
        row, path = replies.open_file(ctx.db, ctx.settings, authority_id, reply_id, file_id)
        headers = {"Content-Disposition": content_disposition(row.name)}
        return FileResponse(path, media_type=row.media_type, headers=headers)

    @router.post("/links/resolve", tags=["portal"], responses=problems(400, 404))
    def resolve(body: ResolveIn, _caller: Caller = Depends(portal)) -> Resolved:
        """Resolve a reply token to its message and the link's state. Unknown token: 404 link_unknown."""
        return service.resolve(ctx.db, body.token, ctx.now())

    @router.post(
        REPLY_UPLOAD_PATH,
        status_code=201,
        tags=["portal"],
        responses=problems(400, 404, 409, 410),
        openapi_extra=REPLY_BODY,
    )
    async def reply(
        request: Request,
        message_id: str = message_id_path,
        # Required, and checked before the body is read; a missing or malformed key is refused as
        # 422 idempotency_key_missing (see the app's validation handler).
        idempotency_key: str = Header(
            alias="Idempotency-Key",
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description="1..128 of [A-Za-z0-9_-]; the same key again returns the first result",
        ),
        _caller: Caller = Depends(portal),
    ) -> ReplyCreated:
        """Deliver the applicant's reply with its files. Exactly one reply per message is stored."""
        # Answer retries and closed messages before reading what may be 150 MiB of upload.
        replay = await run_in_threadpool(replies.precheck, ctx.db, message_id, idempotency_key)
        if replay is not None:
            return replay
        body, parts, form = await read_reply_form(request)
        try:
            return await run_in_threadpool(
                replies.store_reply, ctx.db, ctx.settings, message_id, idempotency_key, body, parts, ctx.now()
            )
        finally:
            await form.close()

    return router
