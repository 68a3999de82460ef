"""The case-service client against the real reference case service, and against servers that
misbehave on purpose (closed port, 500, hanging, trickling, off-contract bodies)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from portal.client import CaseServiceClient
from portal.domain.errors import (
    CaseServiceUnavailable,
    LinkAnswered,
    LinkRevoked,
    LinkUnknown,
    ReplyRejected,
)
from portal.domain.message import LinkState, MessageKind
from portal.storage import LocalStorage
from tests.portal.conftest import CreateMessage, authority_client, file_bytes, make_reply, replies_for

TIMEOUT = 1.0


# ---------------------------------------------------------------- against the reference service


async def test_resolve_and_read_message(client: CaseServiceClient, create_message: CreateMessage) -> None:
    message_id, token = await create_message()
    resolved = await client.resolve(token)
    assert resolved.message_id == message_id
    assert resolved.state is LinkState.open and resolved.answered_at is None
    assert resolved.expires_at.tzinfo is not None

    message = await client.get_message(message_id)
    assert message.id == message_id and message.kind is MessageKind.question
    assert message.answerable and message.has_items
    assert [(i.id, i.code, i.required) for i in message.requested_items] == [
        ("item-1", "employment_contract", True),
        ("item-2", "payslips", False),
    ]
    assert message.requested_items[0].title_de == "Arbeitsvertrag"
    assert message.requested_items[0].note == "Mit Unterschrift"
    assert message.case.reference == "ABH-2026-0042" and message.case.preferred_language == "en"
    assert message.authority.name == "Landeshauptstadt Potsdam, Ausländerbehörde"
    assert message.link_state is LinkState.open and message.deadline is not None
    assert message.item("item-2") is not None and message.item("item-9") is None


async def test_status_message_is_not_answerable(client: CaseServiceClient, create_message: CreateMessage) -> None:
    message_id, _ = await create_message("status", deadline=None, requested_items=[])
    message = await client.get_message(message_id)
    assert message.kind is MessageKind.status and not message.answerable and not message.has_items


async def test_unknown_token_and_message(client: CaseServiceClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = "UnknownTokenThatMustNeverBeLogged_0123456789ab"
    with pytest.raises(LinkUnknown) as caught:
        await client.resolve(token)
    assert token not in str(caught.value) and token not in repr(caught.value.params)
    assert token not in caplog.text
    with pytest.raises(LinkUnknown):
        await client.get_message("0" * 32)


async def test_token_stays_out_of_logs_and_errors_when_service_is_down(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = "AnotherSecretToken_never_in_a_log_0123456789"
    async with CaseServiceClient(f"http://127.0.0.1:{_closed_port()}", "k" * 32, timeout=TIMEOUT) as c:
        with pytest.raises(CaseServiceUnavailable) as caught:
            await c.resolve(token)
    assert caught.value.__cause__ is None
    assert token not in str(caught.value) and token not in caplog.text


async def test_wrong_portal_key_is_retryable(case_service: Any, create_message: CreateMessage) -> None:
    # A refused credential is the operator's configuration error: replies must wait, not be rejected.
    _, token = await create_message()
    async with CaseServiceClient(case_service.url, "wrong-key-" + "x" * 30, timeout=5.0) as c:
        with pytest.raises(CaseServiceUnavailable):
            await c.resolve(token)


async def test_deliver_reply_once_and_idempotently(
    client: CaseServiceClient, case_service: Any, create_message: CreateMessage, tmp_path: Path
) -> None:
    message_id, token = await create_message()
    reply = make_reply(tmp_path)

    first = await client.deliver_reply(message_id, reply, "idem-key-1", LocalStorage(tmp_path))
    assert first.received_at.tzinfo is not None
    # The same key again (say, the response was lost) gives the first result, not a second reply.
    again = await client.deliver_reply(message_id, reply, "idem-key-1", LocalStorage(tmp_path))
    assert again == first
    # Another reply to the answered message is refused.
    with pytest.raises(LinkAnswered):
        await client.deliver_reply(message_id, reply, "idem-key-2", LocalStorage(tmp_path))

    resolved = await client.resolve(token)
    assert resolved.state is LinkState.answered and resolved.answered_at is not None
    message = await client.get_message(message_id)
    assert message.link_state is LinkState.answered

    [stored] = await replies_for(case_service, message_id)
    assert stored["id"] == first.reply_id
    item = next(i for i in stored["items"] if i["item_id"] == "item-1")
    assert {f["sha512"] for f in item["files"]} == {f.sha512 for f in reply.files}
    for f in item["files"]:
        data = await file_bytes(case_service, first.reply_id, f["id"])
        assert len(data) == f["size"]
        assert hashlib.sha512(data).hexdigest() == f["sha512"]


async def test_deliver_to_revoked_message(
    client: CaseServiceClient, case_service: Any, create_message: CreateMessage, tmp_path: Path
) -> None:
    message_id, _ = await create_message()
    async with authority_client(case_service) as http:
        response = await http.post(f"/api/v1/messages/{message_id}/revoke", json={"reason": "erledigt"})
        assert response.status_code == 200, response.text
    reply = make_reply(tmp_path, n_files=1, size=1000)
    with pytest.raises(LinkRevoked):
        await client.deliver_reply(message_id, reply, "idem-revoked", LocalStorage(tmp_path))


async def test_invalid_reply_is_rejected_for_good(
    client: CaseServiceClient, create_message: CreateMessage, tmp_path: Path
) -> None:
    message_id, _ = await create_message()
    reply = make_reply(tmp_path, item_id="item-9", n_files=1, size=1000)
    with pytest.raises(ReplyRejected) as caught:
        await client.deliver_reply(message_id, reply, "idem-bad", LocalStorage(tmp_path))
    assert caught.value.code == "reply_rejected"
    assert caught.value.status is not None and 400 <= caught.value.status < 500
    assert caught.value.server_code


async def test_missing_file_is_reported_before_sending(
    client: CaseServiceClient, create_message: CreateMessage, tmp_path: Path
) -> None:
    message_id, _ = await create_message()
    reply = make_reply(tmp_path, n_files=1, size=1000)
    (tmp_path / reply.files[0].stored_as).unlink()
    with pytest.raises(FileNotFoundError):
        await client.deliver_reply(message_id, reply, "idem-missing", LocalStorage(tmp_path))


# ---------------------------------------------------------------- faults


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def misbehaving_server(mode: str) -> AsyncIterator[str]:
    """A loopback HTTP server that answers 500, never answers, trickles, or sends off-contract JSON."""
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            if mode == "hang":
                await asyncio.sleep(3600)
            elif mode == "500":
                body = b'{"code": "internal", "detail": "boom"}'
                writer.write(_head(500, len(body)) + body)
            elif mode == "off_contract":
                body = b'{"message_id": 42}'
                writer.write(_head(200, len(body)) + body)
            elif mode == "not_json":
                body = b"<html>proxy error</html>"
                writer.write(_head(502, len(body)) + body)
            elif mode == "trickle":
                writer.write(_head(200, 10_000))
                for _ in range(10_000):
                    writer.write(b" ")
                    await writer.drain()
                    await asyncio.sleep(0.05)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            handlers.discard(task)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in list(handlers):
            task.cancel()
        await server.wait_closed()


def _head(status: int, length: int) -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


async def _timed_unavailable(url: str, call: str, tmp_path: Path) -> float:
    reply = make_reply(tmp_path, n_files=1, size=2_000_000)
    started = time.monotonic()
    async with CaseServiceClient(url, "k" * 32, timeout=TIMEOUT) as c:
        with pytest.raises(CaseServiceUnavailable):
            if call == "resolve":
                await c.resolve("some-token")
            elif call == "get_message":
                await c.get_message("abc")
            else:
                await c.deliver_reply("abc", reply, "idem", LocalStorage(tmp_path))
    return time.monotonic() - started


@pytest.mark.parametrize("call", ["resolve", "get_message", "deliver_reply"])
async def test_closed_port(call: str, tmp_path: Path) -> None:
    assert await _timed_unavailable(f"http://127.0.0.1:{_closed_port()}", call, tmp_path) < TIMEOUT


@pytest.mark.parametrize("mode", ["500", "not_json", "hang", "trickle", "off_contract"])
@pytest.mark.parametrize("call", ["resolve", "get_message", "deliver_reply"])
async def test_misbehaving_server(mode: str, call: str, tmp_path: Path) -> None:
    if mode == "trickle" and call == "deliver_reply":
        pytest.skip("an upload is bounded per read and write, not as a whole (large replies take time)")
    async with misbehaving_server(mode) as url:
        elapsed = await _timed_unavailable(url, call, tmp_path)
    # Bounded by the timeout (plus scheduling slack), however the server behaves.
    assert elapsed < TIMEOUT + 1.0


async def test_staff_find_read_revoke_and_audit_for_one_authority(
    client: CaseServiceClient, create_message: CreateMessage, case_service: Any
) -> None:
    message_id, token = await create_message()
    await client.resolve(token)  # the applicant opened it
    found = await client.staff_messages("abh-potsdam", case_reference="ABH-2026-0042")
    assert message_id in [m.id for m in found]
    mine = next(m for m in found if m.id == message_id)
    assert mine.link_state is LinkState.open and mine.last_opened_at is not None
    assert token not in mine.model_dump_json()
    # Staff of another authority find nothing and cannot read or revoke it.
    assert message_id not in [m.id for m in await client.staff_messages("abh-cottbus", message_id=message_id)]
    with pytest.raises(LinkUnknown):
        await client.staff_message("abh-cottbus", message_id)
    with pytest.raises(LinkUnknown):
        await client.staff_revoke("abh-cottbus", message_id, reason="x", actor="b.mueller", source="127.0.0.1")

    assert (await client.staff_message("abh-potsdam", message_id)).id == message_id
    await client.staff_audit(
        "abh-potsdam", actor="a.schulz", action="preview", source="127.0.0.1", message_id=message_id
    )
    await client.staff_revoke(
        "abh-potsdam", message_id, reason="Neue Nachricht folgt", actor="a.schulz", source="127.0.0.1"
    )
    assert (await client.resolve(token)).state is LinkState.revoked
    async with authority_client(case_service) as http:
        entries = (await http.get("/api/v1/audit", params={"limit": 500})).json()["entries"]
    actions = [(e["actor"], e["action"]) for e in entries if e["message_id"] == message_id]
    assert ("a.schulz", "preview") in actions and ("a.schulz", "revoke") in actions
