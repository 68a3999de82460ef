"""The build's hashed files served from memory, alone and behind the guard, over real ASGI."""

from __future__ import annotations

import gzip
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from portal.server.assets import IMMUTABLE, HashedAssets
from portal.server.guard import PortalGuard
from portal.settings import PortalSettings

SCRIPT = b"console.log('the reply page');\n" * 50
SCRIPT_NAME = "context-CZ65XQkS.js"


class Downstream:
    """Stands in for Reflex behind the layer: answers 404 and counts what reached it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"downstream"})


@pytest.fixture
def build(tmp_path: Path) -> Path:
    folder = tmp_path / "assets"
    folder.mkdir()
    (folder / SCRIPT_NAME).write_bytes(SCRIPT)
    (folder / (SCRIPT_NAME + ".gz")).write_bytes(gzip.compress(SCRIPT))
    (folder / "styles-B0rfI5EF.css").write_bytes(b"body { margin: 0 }")  # no twin
    (tmp_path / "secret-AbCdEfGh.js").write_bytes(b"outside the folder")
    return folder


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test")


async def test_a_hashed_file_comes_from_memory_compressed_when_accepted(build: Path) -> None:
    downstream = Downstream()
    async with _client(HashedAssets(downstream, build)) as client:
        zipped = await client.get(f"/assets/{SCRIPT_NAME}", headers={"Accept-Encoding": "gzip, deflate"})
        plain = await client.get(f"/assets/{SCRIPT_NAME}", headers={"Accept-Encoding": "identity"})
        refused = await client.get(f"/assets/{SCRIPT_NAME}", headers={"Accept-Encoding": "gzip;q=0, br"})
        head = await client.head(f"/assets/{SCRIPT_NAME}", headers={"Accept-Encoding": "*"})
    assert downstream.paths == []
    assert zipped.status_code == 200 and zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == SCRIPT  # httpx undoes the gzip: the twin is the same file
    assert zipped.headers["content-type"] == "text/javascript; charset=utf-8"
    assert zipped.headers["cache-control"] == IMMUTABLE.decode() and zipped.headers["vary"] == "Accept-Encoding"
    assert plain.content == SCRIPT and "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) == len(SCRIPT)
    assert "content-encoding" not in refused.headers
    # Each encoding has its own validator; HEAD gives the headers without the body.
    assert zipped.headers["etag"] != plain.headers["etag"]
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == zipped.headers["etag"]


async def test_a_browser_that_holds_the_file_gets_304(build: Path) -> None:
    async with _client(HashedAssets(Downstream(), build)) as client:
        first = await client.get("/assets/styles-B0rfI5EF.css")
        again = await client.get("/assets/styles-B0rfI5EF.css", headers={"If-None-Match": first.headers["etag"]})
        other = await client.get("/assets/styles-B0rfI5EF.css", headers={"If-None-Match": '"something-else"'})
    assert first.headers["content-type"] == "text/css; charset=utf-8"
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]
    assert other.status_code == 200 and other.content == b"body { margin: 0 }"


async def test_the_file_stays_what_it_was_when_first_read(build: Path) -> None:
    async with _client(HashedAssets(Downstream(), build)) as client:
        first = await client.get("/assets/styles-B0rfI5EF.css")
        (build / "styles-B0rfI5EF.css").write_bytes(b"changed")  # a name is its content: not read again
        second = await client.get("/assets/styles-B0rfI5EF.css")
    assert first.content == second.content == b"body { margin: 0 }"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/assets/unknown-AbCdEfGh.js"),  # not in the build
        ("GET", "/assets/../secret-AbCdEfGh.js"),  # out of the folder
        ("GET", "/assets/%2e%2e/secret-AbCdEfGh.js"),
        ("GET", f"/assets/{SCRIPT_NAME}.gz"),  # only the names a page asks for
        ("GET", "/assets/context.js"),  # no content hash: may change under its name
        ("GET", f"/other/{SCRIPT_NAME}"),
        ("POST", f"/assets/{SCRIPT_NAME}"),
    ],
)
async def test_anything_else_goes_on_to_reflex(build: Path, method: str, path: str) -> None:
    downstream = Downstream()
    async with _client(HashedAssets(downstream, build)) as client:
        answer = await client.request(method, path)
    assert answer.status_code == 404 and answer.content == b"downstream"
    assert len(downstream.paths) == 1


async def test_without_a_built_frontend_everything_goes_on(build: Path) -> None:
    downstream = Downstream()
    async with _client(HashedAssets(downstream, None)) as client:
        answer = await client.get(f"/assets/{SCRIPT_NAME}")
    assert answer.status_code == 404 and downstream.paths == [f"/assets/{SCRIPT_NAME}"]


async def test_behind_the_guard_the_file_keeps_its_caching_and_gets_the_security_headers(build: Path) -> None:
    guard = PortalGuard(
        HashedAssets(Downstream(), build),
        max_upload_request_bytes=1000,
        settings=PortalSettings(public_url="https://portal.example"),
    )
    async with _client(guard) as client:
        answer = await client.get(f"/assets/{SCRIPT_NAME}")
        cached = await client.get(f"/assets/{SCRIPT_NAME}", headers={"If-None-Match": answer.headers["etag"]})
    assert answer.status_code == 200 and answer.content == SCRIPT
    for response in (answer, cached):
        assert response.headers["cache-control"] == IMMUTABLE.decode()
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" in response.headers
        assert response.headers["strict-transport-security"].startswith("max-age=")
    assert cached.status_code == 304
