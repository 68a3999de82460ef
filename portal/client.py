"""The one module that talks to the case service (contract ``/api/v1``, see ``casesvc/schemas.py``).

Everything else in the portal sees typed results and the exceptions of ``portal.domain.errors``;
no httpx type leaves this module. The reply token travels only in a request body: it is never part
of a URL, a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import IO, Any, BinaryIO, Protocol, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, RootModel, ValidationError

from portal.domain.errors import (
    CaseServiceUnavailable,
    LinkAnswered,
    LinkExpired,
    LinkRevoked,
    LinkUnknown,
    ReplyRejected,
)
from portal.domain.message import MessageSummaryView, MessageView, ResolvedLink
from portal.domain.outgoing import OutgoingReply

__all__ = ["CaseServiceClient", "Delivery"]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

API = "/api/v1"

# Statuses that say "not now" rather than "never": retrying the same request later can succeed.
# 401/403 belong here because a refused portal credential is an operator's configuration error;
# a reply must wait for the fix instead of being rejected for good.
_RETRYABLE_4XX = frozenset({401, 403, 408, 425, 429})


@dataclass(frozen=True, slots=True)
class Delivery:
    reply_id: str
    received_at: datetime


class _Created(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reply_id: str
    received_at: datetime


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context (httpx's defaults) for every client of the process.

    Building one loads the CA bundle: about 45 ms of CPU on the event loop, and a client is made
    per link opening and per step, so a burst of openings queued behind them for seconds.
    A context is safe to share between connections.
    """
    return httpx.create_ssl_context()


# Idle pooled connections are dropped before a server with uvicorn's default keep-alive (5 s)
# closes them, so a request is rarely sent on a connection the server is just closing.
_KEEPALIVE_SECONDS = 4.0


class CaseServiceClient:
    """Async client of the case service's portal face, authenticated with the portal's key.

    It keeps its connections open between requests (a pool). ``lend()`` hands out the same
    connections under a client whose closing leaves them open: the process's shared client is
    used that way (``portal.runtime.case_service``).
    """

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            transport=transport,
            verify=_tls_context(),
            # The case service is addressed directly; an environment proxy must not see the traffic.
            trust_env=False,
            follow_redirects=False,
            limits=httpx.Limits(keepalive_expiry=_KEEPALIVE_SECONDS),
        )
        self._owner = True

    def lend(self) -> CaseServiceClient:
        """This client's connections under a client whose ``aclose`` (and ``async with``) leaves
        them open for the next borrower."""
        borrowed = object.__new__(CaseServiceClient)
        borrowed._timeout = self._timeout
        borrowed._http = self._http
        borrowed._owner = False
        return borrowed

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Closes the connections; a lent client leaves them to their owner."""
        if self._owner:
            await self._http.aclose()

    # ------------------------------------------------------------------ portal face

    async def resolve(self, token: str) -> ResolvedLink:
        """The message and state behind a reply token. Unknown token → ``LinkUnknown``."""
        response = await self._small_request("POST", f"{API}/links/resolve", json={"token": token})
        _raise_for_status(response, "resolve")
        return _parse(ResolvedLink, response, "resolve")

    async def get_message(self, message_id: str) -> MessageView:
        response = await self._small_request("GET", f"{API}/messages/{quote(message_id, safe='')}")
        _raise_for_status(response, "get_message")
        return _parse(MessageView, response, "get_message")

    async def deliver_reply(
        self,
        message_id: str,
        reply: OutgoingReply,
        idempotency_key: str,
        files: StoredFiles,
    ) -> Delivery:
        """Hand one reply over. The same ``idempotency_key`` again returns the first result.

        Raises ``LinkAnswered`` (someone else's reply is there), ``LinkExpired``/``LinkRevoked``,
        ``ReplyRejected`` (never retry), ``CaseServiceUnavailable`` (retry later), and
        ``OSError`` (``FileNotFoundError``) if a file has gone from ``files``, the file storage.
        """
        with _open_parts(reply, files) as parts:
            try:
                # No overall deadline here: a large upload may legitimately take longer than one
                # timeout; httpx still bounds connecting, every read and every write.
                response = await self._http.post(
                    f"{API}/messages/{quote(message_id, safe='')}/reply",
                    files=parts,
                    headers={"Idempotency-Key": idempotency_key},
                )
            except httpx.HTTPError as exc:
                log.info("case service unreachable during deliver_reply: %s", type(exc).__name__)
                raise CaseServiceUnavailable() from None
        _raise_for_status(response, "deliver_reply")
        created = _parse(_Created, response, "deliver_reply")
        return Delivery(reply_id=created.reply_id, received_at=created.received_at)

    # ------------------------------------------------------------------ staff
    # The portal acts for an authority whose staff member it has signed in; the case service
    # never returns another authority's messages, nor any token or link.

    async def staff_messages(
        self, authority_id: str, *, case_reference: str = "", message_id: str = "", limit: int = 50
    ) -> list[MessageSummaryView]:
        params: dict[str, str | int] = {"limit": limit}
        if case_reference:
            params["case_reference"] = case_reference
        if message_id:
            params["message_id"] = message_id
        response = await self._small_request("GET", f"{_staff(authority_id)}/messages", params=params)
        _raise_for_status(response, "staff_messages")
        return _parse(_Summaries, response, "staff_messages").root

    async def staff_message(self, authority_id: str, message_id: str) -> MessageView:
        url = f"{_staff(authority_id)}/messages/{quote(message_id, safe='')}"
        response = await self._small_request("GET", url)
        _raise_for_status(response, "staff_message")
        return _parse(MessageView, response, "staff_message")

    async def staff_revoke(self, authority_id: str, message_id: str, *, reason: str, actor: str, source: str) -> None:
        url = f"{_staff(authority_id)}/messages/{quote(message_id, safe='')}/revoke"
        body = {"reason": reason, "actor": actor, "source": source}
        response = await self._small_request("POST", url, json=body)
        _raise_for_status(response, "staff_revoke")

    async def staff_audit(
        self,
        authority_id: str,
        *,
        actor: str,
        action: str,
        source: str,
        message_id: str | None = None,
        detail: str = "",
    ) -> None:
        body = {"actor": actor, "action": action, "source": source, "message_id": message_id, "detail": detail}
        response = await self._small_request("POST", f"{_staff(authority_id)}/audit", json=body)
        _raise_for_status(response, "staff_audit")

    async def check_health(self) -> None:
        """Whether the case service answers its health check; raises CaseServiceUnavailable if not."""
        response = await self._small_request("GET", "/health")
        if response.status_code != 200:
            raise CaseServiceUnavailable()

    # ------------------------------------------------------------------ plumbing

    async def _small_request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A request with a small body, bounded as a whole (a trickling server cannot hold us)."""
        try:
            async with asyncio.timeout(self._timeout):
                return await self._http.request(method, url, **kwargs)
        except (httpx.HTTPError, TimeoutError) as exc:
            # Only the exception's type, and ``from None``: request details stay out of logs.
            log.info("case service unreachable: %s %s", method, type(exc).__name__)
            raise CaseServiceUnavailable() from None


def _staff(authority_id: str) -> str:
    return f"{API}/staff/{quote(authority_id, safe='')}"


class _Summaries(RootModel[list[MessageSummaryView]]):
    pass


def _raise_for_status(response: httpx.Response, operation: str) -> None:
    """Turn a non-2xx answer into the portal's exception for it."""
    status = response.status_code
    if 200 <= status < 300:
        return
    code = _problem_code(response)
    if status == 404:
        raise LinkUnknown()
    if status == 409 and code == "already_answered":
        raise LinkAnswered(_answered_at(response))
    if status == 410:
        raise LinkExpired() if code == "link_expired" else LinkRevoked()
    if status >= 500 or status in _RETRYABLE_4XX:
        log.warning("case service answered %s to %s (code %s)", status, operation, code)
        raise CaseServiceUnavailable(status=status, server_code=code)
    log.warning("case service refused %s with %s (code %s)", operation, status, code)
    raise ReplyRejected(server_code=code, status=status)


def _problem_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"http_{response.status_code}"
    if isinstance(body, dict):
        code = body.get("code")
        if isinstance(code, str) and code:
            return code[:64]
        # FastAPI's own errors (validation, routing) come as {"detail": ...}.
        if "detail" in body:
            return "validation_error" if response.status_code == 422 else f"http_{response.status_code}"
    return f"http_{response.status_code}"


def _answered_at(response: httpx.Response) -> datetime | None:
    try:
        body = response.json()
        value = body.get("answered_at") if isinstance(body, dict) else None
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _parse(model: type[M], response: httpx.Response, operation: str) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError:
        # A body that does not fit the contract is the case service's fault, not the applicant's.
        log.error("case service sent a body that does not fit the contract for %s", operation)
        raise CaseServiceUnavailable(server_code="bad_response") from None


class StoredFiles(Protocol):
    """What sending a reply needs of the file storage (``portal.storage``): its files' bytes."""

    def open(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]: ...


@contextlib.contextmanager
def _open_parts(
    reply: OutgoingReply, files: StoredFiles
) -> Iterator[list[tuple[str, tuple[str | None, bytes | IO[bytes], str]]]]:
    """Multipart parts: the JSON reply first, then each file as an open handle httpx streams."""
    reply_json = json.dumps(reply.wire(), ensure_ascii=False).encode()
    with contextlib.ExitStack() as stack:
        parts: list[tuple[str, tuple[str | None, bytes | IO[bytes], str]]] = [
            ("reply", (None, reply_json, "application/json"))
        ]
        for file in reply.attached:
            handle = stack.enter_context(files.open(file.stored_as))
            parts.append((file.key, (file.name, handle, file.media_type)))
        yield parts
