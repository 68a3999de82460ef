"""Process-wide resources built from the settings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from portal import links, runtime
from portal.client import CaseServiceClient
from portal.domain import clock
from portal.domain.errors import CaseServiceUnavailable
from portal.domain.outgoing import OutboxState
from portal.intake.limits import Limits
from portal.outbox import delivery
from portal.outbox.delivery import RetryPolicy
from portal.outbox.store import PortalStore
from portal.settings import get_settings
from portal.storage import LocalStorage
from tests.portal.conftest import CreateMessage, make_reply, replies_for
from tests.support.processes import free_port


def test_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_MAX_FILE_BYTES", "5000000")
    monkeypatch.setenv("PORTAL_MAX_PDF_CONTENT_BYTES", "20000000")
    monkeypatch.setenv("PORTAL_SANDBOX_MEMORY_MB", "256")
    monkeypatch.setenv("PORTAL_SANDBOX_SECONDS", "12.5")
    monkeypatch.setenv("PORTAL_SANDBOX_JOBS", "3")
    get_settings.cache_clear()
    try:
        limits = runtime.limits()
    finally:
        get_settings.cache_clear()
    assert limits.max_file_bytes == 5_000_000 and limits.max_pdf_content_bytes == 20_000_000
    assert (limits.sandbox_memory_bytes, limits.sandbox_seconds, limits.sandbox_jobs) == (256 * 2**20, 12.5, 3)
    # What the settings leave out keeps the domain's default.
    assert limits.max_image_pixels == Limits().max_image_pixels


def test_the_delivery_policy_and_the_scanner_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_DELIVERY_RETRY_INITIAL_SECONDS", "3")
    monkeypatch.setenv("PORTAL_DELIVERY_RETRY_MAX_SECONDS", "90")
    monkeypatch.setenv("PORTAL_DELIVERY_POLL_SECONDS", "7")
    monkeypatch.setenv("PORTAL_CLAMD_ADDRESS", "tcp:127.0.0.1:3310")
    monkeypatch.setenv("PORTAL_CLAMD_TIMEOUT_SECONDS", "7.5")
    get_settings.cache_clear()
    runtime.scanner.cache_clear()
    try:
        policy = runtime.retry_policy()
        scan = runtime.scanner()
    finally:
        get_settings.cache_clear()
        runtime.scanner.cache_clear()
    assert (policy.initial_seconds, policy.max_seconds, policy.poll_seconds) == (3.0, 90.0, 7.0)
    assert scan is not None
    assert repr(scan.__self__) == "ClamdScanner('tcp:127.0.0.1:3310', timeout=7.5)"  # type: ignore[attr-defined]


def test_the_default_settings_give_the_default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    # One definition: the settings' defaults are the limits' own.
    for field in Limits.__dataclass_fields__:
        monkeypatch.delenv(f"PORTAL_{field.upper()}", raising=False)
    monkeypatch.delenv("PORTAL_SANDBOX_MEMORY_MB", raising=False)
    get_settings.cache_clear()
    try:
        limits = runtime.limits()
    finally:
        get_settings.cache_clear()
    assert limits == Limits()
    assert (limits.max_files_per_item, limits.max_files_per_reply, limits.max_reply_bytes) == (10, 30, 60_000_000)


# ---------------------------------------------------------------- the case service's shared client


class CountingForwarder:
    """A loopback TCP forwarder in front of the real case service that counts the connections
    the portal opens through it."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.connections = 0
        self.url = ""
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> CountingForwarder:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        pipes = [asyncio.create_task(self._pipe(reader, up_writer)), asyncio.create_task(self._pipe(up_reader, writer))]
        self._pipes.update(pipes)
        await asyncio.gather(*pipes, return_exceptions=True)
        self._pipes.difference_update(pipes)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(65536):
                sink.write(chunk)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()


@pytest.fixture
def at_case_service(case_service: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Points the portal's settings at a case-service address (with the real service's key)."""

    def point(url: str) -> None:
        monkeypatch.setenv("PORTAL_CASE_SERVICE_URL", url)
        monkeypatch.setenv("PORTAL_CASE_SERVICE_KEY", case_service.portal_key)
        get_settings.cache_clear()

    yield point
    get_settings.cache_clear()


async def test_link_openings_and_steps_share_one_connection(
    case_service: Any, at_case_service: Callable[[str], None], create_message: CreateMessage
) -> None:
    _, token = await create_message("question")
    async with CountingForwarder(case_service.url) as forwarder:
        at_case_service(forwarder.url)
        try:
            for _ in range(3):  # an opening, then two steps that ask again
                async with runtime.case_service() as client:
                    opened = await links.open_link(client, token)
                async with runtime.case_service() as client:
                    await links.check_link(client, token)
        finally:
            await runtime.close_case_service()
    assert opened.message.subject
    # Seven requests, one after the other, on the one connection the first opened.
    assert forwarder.connections == 1


async def test_leaving_the_block_leaves_the_shared_client_open_and_closing_it_starts_anew(
    case_service: Any, at_case_service: Callable[[str], None]
) -> None:
    at_case_service(case_service.url)
    try:
        async with runtime.case_service() as client:
            await client.check_health()
        assert not client.closed
        await client.check_health()  # still usable after the block: its owner keeps it
        await runtime.close_case_service()
        assert client.closed
        async with runtime.case_service() as fresh:
            await fresh.check_health()
    finally:
        await runtime.close_case_service()


async def test_settings_read_anew_get_a_client_for_their_case_service(
    case_service: Any, at_case_service: Callable[[str], None]
) -> None:
    try:
        at_case_service(case_service.url)
        async with runtime.case_service() as client:
            await client.check_health()
        # Another address in the settings (as a test or a restart with new settings has it):
        # the next client goes there, not to the pooled connection of the last one.
        async with CountingForwarder(case_service.url) as forwarder:
            at_case_service(forwarder.url)
            async with runtime.case_service() as client:
                await client.check_health()
            assert forwarder.connections == 1
            at_case_service(f"http://127.0.0.1:{free_port()}")
            async with runtime.case_service() as client:
                with pytest.raises(CaseServiceUnavailable):
                    await client.check_health()
            assert forwarder.connections == 1
    finally:
        await runtime.close_case_service()


def test_each_event_loop_gets_its_own_client(case_service: Any, at_case_service: Callable[[str], None]) -> None:
    at_case_service(case_service.url)

    async def ask() -> CaseServiceClient:
        try:
            async with runtime.case_service() as client:
                await client.check_health()
            return client
        finally:
            await runtime.close_case_service()

    # A connection belongs to the loop that opened it: a second loop (a test's, a thread's) must
    # not be handed the first one's pool.
    first, second = asyncio.run(ask()), asyncio.run(ask())
    assert first.closed and second.closed


async def test_the_delivery_loop_delivers_with_the_shared_client_and_leaves_it_open(
    case_service: Any,
    at_case_service: Callable[[str], None],
    create_message: CreateMessage,
    store: PortalStore,
    tmp_path: Path,
) -> None:
    at_case_service(case_service.url)
    files = LocalStorage(tmp_path)
    stop, wake = asyncio.Event(), asyncio.Event()
    policy = RetryPolicy(initial_seconds=0.5, max_seconds=1.0, poll_seconds=30.0)
    # As the backend runs it: the factory is runtime.case_service, held for the loop's life.
    task = asyncio.create_task(delivery.run_delivery_loop(store, files, runtime.case_service, policy, stop, wake))
    try:
        for n in range(2):  # rounds after the first still find the client open
            message_id, _ = await create_message()
            reply = make_reply(tmp_path, n_files=1, size=1000)
            entry = store.enqueue(message_id, reply, f"key-shared-{n}", clock.now())
            wake.set()
            async with asyncio.timeout(10):
                while getattr(store.get(entry.reference), "state", None) is not OutboxState.delivered:  # noqa: ASYNC110 - the store has no event
                    await asyncio.sleep(0.05)
            assert len(await replies_for(case_service, message_id)) == 1
        stop.set()
        async with asyncio.timeout(5):
            await task
        # The loop's ``async with`` ended without closing what link openings share.
        async with runtime.case_service() as client:
            await client.check_health()
    finally:
        stop.set()
        await runtime.close_case_service()


async def test_readiness_fails_while_the_receipts_fonts_are_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PORTAL_RECEIPT_FONTS_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        checks = runtime.readiness_checks()
        with pytest.raises(RuntimeError):
            await checks["receipt_fonts"]()
    finally:
        monkeypatch.delenv("PORTAL_RECEIPT_FONTS_DIR")
        get_settings.cache_clear()
    await runtime.readiness_checks()["receipt_fonts"]()  # Debian's fonts, as scripts/setup installs them
