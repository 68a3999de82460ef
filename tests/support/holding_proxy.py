"""A TCP proxy in front of the case service that holds a reply's hand-over half-way.

proxy = HoldingProxy(case_service.url, hold="response")   # or "request"
with proxy:                      # serving on proxy.url (a thread of its own)
    ...                          # the portal delivers through proxy.url
    proxy.held.wait(30)          # a reply POST is being held

``request``: the POST's bytes are read but never passed on (the case service never sees the
reply). ``response``: the POST reaches the case service, its answer is never passed back (the
reply is stored there, the portal never learns it). Every other request passes untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from typing import Literal, Self
from urllib.parse import urlsplit

from tests.support.processes import free_port

Hold = Literal["request", "response"]
REPLY_POST = b"POST "
REPLY_PATH = b"/reply"


class HoldingProxy:
    def __init__(self, target_url: str, hold: Hold) -> None:
        parts = urlsplit(target_url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.hold = hold
        self.port = free_port()
        self.held = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        # The held connections end with the proxy.
        for task in self._connections:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)
        try:
            await self._relay(client_r, client_w)
        finally:
            client_w.close()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self._target)
        except OSError:
            return
        # One connection carries one request after another (the portal keeps them open): each
        # chunk from the portal that starts a reply's POST turns the hold on for the rest of it.
        holding = asyncio.Event()
        try:
            await asyncio.gather(
                self._forward(client_r, upstream_w, holding),
                self._back(upstream_r, client_w, holding),
                return_exceptions=True,
            )
        finally:
            upstream_w.close()

    async def _forward(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, holding: asyncio.Event
    ) -> None:
        while data := await reader.read(65536):
            line = data.split(b"\r\n", 1)[0]
            if line.startswith(REPLY_POST) and REPLY_PATH in line:
                holding.set()
                self.held.set()
            if holding.is_set() and self.hold == "request":
                continue  # read and dropped: nothing of the reply reaches the case service
            writer.write(data)
            await writer.drain()

    async def _back(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, holding: asyncio.Event) -> None:
        while data := await reader.read(65536):
            if holding.is_set() and self.hold == "response":
                continue  # the case service answered; the portal never hears it
            writer.write(data)
            await writer.drain()
