"""The applicant of ``bench/load.py``: a phone browser at the protocol level (HTTP for the page
and its assets, Socket.IO to Reflex's ``/_event`` for the events, ``POST /_upload`` for files).

What Reflex 0.10 names on the wire is read from ``reflex/app.py`` (EventNamespace) and the built
``utils/state.js``; see ``bench/load.py`` for the flow and what is measured.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import socketio  # python-socketio's AsyncClient, on aiohttp

EVENT_PATH = "/_event"
UPLOAD_PATH = "/_upload"
ROOT_STATE = "reflex___state____state"
REPLY_STATE = f"{ROOT_STATE}.portal___state___language____language_state.portal___state___reply____reply_state"
SUFFIX = "_rx_state_"
USER_AGENT = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile"
ACCEPT_LANGUAGE = "de-DE,de;q=0.9,en;q=0.8"
# Client addresses for the applicants (RFC 2544's benchmarking range): no traffic goes there.
ADDRESSES = ipaddress.ip_network("198.18.0.0/15")
STEP_TIMEOUT = 60.0


# ---------------------------------------------------------------- what the built page tells


@dataclass(frozen=True)
class Page:
    """What every applicant's browser reads from the served reply page."""

    assets: tuple[str, ...]
    state_hashes: tuple[str, ...]
    state_schema: str


_ASSET = re.compile(r'(?:href|src)="(/[^"]+\.(?:js|css|ico|png|svg|woff2?))"')
_HASHES = re.compile(r"initialStateHashes\s*=\s*\[([^\]]*)\]")
_SCHEMA = re.compile(r"stateSchema\s*=\s*[`\"']([0-9a-f]+)[`\"']")


async def read_page(http: httpx.AsyncClient, html: str) -> Page:
    """The assets the page names, and the state hashes its hydrate event carries (from the
    module that holds the compiled initial state)."""
    assets = tuple(dict.fromkeys(_ASSET.findall(html)))
    for asset in (a for a in assets if "/context" in a and a.endswith(".js")):
        script = (await http.get(asset)).text
        hashes, schema = _HASHES.search(script), _SCHEMA.search(script)
        if hashes and schema:
            return Page(assets, tuple(re.findall(r"[0-9a-f]{16}", hashes.group(1))), schema.group(1))
    raise SystemExit("the reply page names no module with the initial state's hashes (not a Reflex 0.10 build?)")


# ---------------------------------------------------------------- one applicant


class Failed(Exception):
    pass


@dataclass(frozen=True)
class Upload:
    name: str
    body: bytes
    media_type: str


@dataclass
class Timings:
    render: float = 0.0  # link request → request rendered
    page: float = 0.0  # the HTML
    assets: float = 0.0  # every asset the HTML names, fetched six at a time
    socket: float = 0.0  # websocket open → request rendered (hydrate, link check, request)
    events: list[float] = field(default_factory=list)
    uploads: list[float] = field(default_factory=list)


class Applicant:
    """One phone browser with one reply link: its own address, client token and connections."""

    def __init__(self, base: str, token: str, number: int, page: Page, files: dict[str, Upload]) -> None:
        self.base = base
        self.token = token
        self.page = page
        self.files = files
        self.client_token = str(uuid.uuid4())
        address = str(ADDRESSES[number + 1])
        self.headers = {
            "User-Agent": USER_AGENT,
            "Accept-Language": ACCEPT_LANGUAGE,
            "X-Forwarded-For": address,
        }
        # Made when the applicant starts (aiohttp wants a running loop): six connections per host,
        # as browsers keep, shared with the websocket. aiohttp rather than httpx: with hundreds of
        # connections in one process, httpx's pools stalled for seconds in the client itself.
        self.http: aiohttp.ClientSession | None = None
        self.sio: socketio.AsyncClient | None = None
        self.state: dict[str, Any] = {}
        self.changed = asyncio.Event()
        self.timings = Timings()

    def _session(self) -> aiohttp.ClientSession:
        if self.http is None:
            connector = aiohttp.TCPConnector(limit_per_host=6)
            timeout = aiohttp.ClientTimeout(total=STEP_TIMEOUT)
            self.http = aiohttp.ClientSession(headers=self.headers, connector=connector, timeout=timeout)
        return self.http

    def _socket(self) -> socketio.AsyncClient:
        if self.sio is None:
            self.sio = socketio.AsyncClient(reconnection=False, http_session=self._session())
            self.sio.on("event", self._update, namespace=EVENT_PATH)
        return self.sio

    # -------------------------------------------------------------- the wire

    async def _update(self, update: dict[str, Any]) -> None:
        self._apply(update)

    def _apply(self, update: dict[str, Any]) -> None:
        for name, values in (update.get("delta") or {}).items():
            if name == REPLY_STATE:
                self.state.update({key.removesuffix(SUFFIX): value for key, value in values.items()})
        self.changed.set()
        # Frontend events (scripts: focus, address bar, document language) run in the browser;
        # nothing of them goes back to the server in this flow.

    async def _until(self, done: Callable[[dict[str, Any]], bool], what: str) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while not done(self.state):
            if self.state.get("phase") == "error":
                raise Failed(f"{what}: the page shows the error {self.state.get('error_code')!r}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), deadline - time.monotonic())
            except TimeoutError:
                raise Failed(f"{what}: nothing after {STEP_TIMEOUT:.0f} s") from None

    @staticmethod
    def _router(as_path: str = "/reply") -> dict[str, str]:
        return {"pathname": "/reply", "asPath": as_path}

    async def event(self, handler: str, payload: dict[str, Any], done: Callable[[dict[str, Any]], bool]) -> None:
        """Sends one event as the page does and waits for its effect; records the round trip."""
        body: dict[str, Any] = {"name": f"{REPLY_STATE}.{handler}", "router_data": self._router()}
        if payload:
            body["payload"] = payload
        start = time.perf_counter()
        await self._socket().emit("event", body, namespace=EVENT_PATH)
        await self._until(done, handler)
        self.timings.events.append(time.perf_counter() - start)

    async def upload(self, file: Upload) -> None:
        """``POST /_upload`` as Reflex's upload helper sends it; the answer streams state updates."""
        headers = {
            "Reflex-Client-Token": self.client_token,
            "Reflex-Event-Handler": f"{REPLY_STATE}.upload",
            "Origin": self.base,
        }
        form = aiohttp.FormData()
        form.add_field("files", file.body, filename=file.name, content_type=file.media_type)
        start = time.perf_counter()
        async with self._session().post(self.base + UPLOAD_PATH, data=form, headers=headers) as response:
            if response.status != 200:
                raise Failed(f"upload of {file.name}: HTTP {response.status}")
            async for line in response.content:  # one state update per line
                if line.strip():
                    self._apply(json.loads(line))
        self.timings.uploads.append(time.perf_counter() - start)
        if self.state.get("upload_errors"):
            raise Failed(f"upload of {file.name} refused: {self.state['upload_errors']}")

    # -------------------------------------------------------------- what the applicant does

    async def open(self) -> None:
        """From the link to the request on screen."""
        start = time.perf_counter()
        http = self._session()
        async with http.get(f"{self.base}/r/{self.token}") as response:
            await response.read()
            if response.status != 200:
                raise Failed(f"link: HTTP {response.status}")
        self.timings.page = time.perf_counter() - start
        # A fresh browser fetches what the page names (six connections per host).
        statuses = await asyncio.gather(*(self._fetch(asset) for asset in self.page.assets))
        if bad := [status for status in statuses if status != 200]:
            raise Failed(f"assets: HTTP {bad}")
        connected = time.perf_counter()
        self.timings.assets = connected - start - self.timings.page
        # The head script has put /reply#t=<token> in the address bar; the hydrate event rides in
        # the CONNECT packet and carries it (state.js connect(): bootAuth).
        boot = {
            "event": {
                "name": f"{ROOT_STATE}.hydrate_and_load",
                "payload": {"hashes": list(self.page.state_hashes)},
                "router_data": self._router(f"/reply#t={self.token}"),
            },
            "state_schema": self.page.state_schema,
        }
        ws_headers = {**self.headers, "Origin": self.base}
        await self._socket().connect(
            f"{self.base}?token={self.client_token}",
            headers=ws_headers,
            auth=boot,
            transports=["websocket"],
            namespaces=[EVENT_PATH],
            socketio_path=EVENT_PATH,
            wait_timeout=int(STEP_TIMEOUT),
        )
        await self._until(lambda s: s.get("phase") == "ready" and bool((s.get("msg") or {}).get("subject")), "open")
        now = time.perf_counter()
        self.timings.socket = now - connected
        self.timings.render = now - start

    async def answer(self) -> str:
        """A question with two required documents and an optional one; returns the reference."""
        await self.event("next_step", {}, lambda s: s.get("step") == "item" and s.get("item_index") == 0)
        await self.upload(self.files["pdf"])
        await self.event("next_step", {}, lambda s: s.get("step") == "item" and s.get("item_index") == 1)
        await self.upload(self.files["jpeg"])
        await self.event("next_step", {}, lambda s: s.get("step") == "item" and s.get("item_index") == 2)
        await self.event("next_step", {}, lambda s: s.get("step") == "text")
        text = "Guten Tag, anbei die Unterlagen."
        await self.event("set_text", {"value": text}, lambda s: s.get("text") == text)
        await self.event("next_step", {}, lambda s: s.get("step") == "extras")
        await self.event("next_step", {}, lambda s: s.get("step") == "review")
        await self.event("set_declaration", {"checked": True}, lambda s: s.get("declaration") is True)
        await self.event("submit", {}, lambda s: s.get("step") == "done" and bool(s.get("done_reference")))
        return str(self.state["done_reference"])

    async def _fetch(self, path: str) -> int:
        async with self._session().get(self.base + path) as response:
            await response.read()
            return response.status

    async def close(self) -> None:
        if self.sio is not None and self.sio.connected:
            await self.sio.disconnect()
        if self.http is not None:
            await self.http.close()
