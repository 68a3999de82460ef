"""The build's content-hashed files (``/assets/<name>-<hash>.<ext>``), served from memory.

A fresh browser fetches about ten of them per link opening. Through Reflex's static files each
one costs a lookup and a file read in worker threads besides the routing of two Starlette apps:
half the backend's CPU at 30 openings per second. A name changes with its content, so a file read
once is the file for the process's life: it is kept in memory with its precompressed gzip twin
(the build writes one beside each), and browsers may keep it for a year.

Only names that were in the build's folder when first asked are served here, so nothing a request
names ever reaches the disk, and memory is bounded by the build. Anything else (another path, a
method other than GET/HEAD, a name the build does not have) goes on to Reflex unchanged.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREFIX = "/assets/"
# The bundler's names: a stem, a dash and an eight-character content hash (no slash: no way out
# of the folder).
_HASHED = re.compile(r"[A-Za-z0-9_.-]*-[A-Za-z0-9_-]{8}\.(?:js|mjs|css|woff2?|ttf|png|jpe?g|svg|ico|webp)")
IMMUTABLE = b"public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class _Variant:
    body: bytes
    etag: bytes


@dataclass(frozen=True, slots=True)
class _Asset:
    media_type: bytes
    plain: _Variant
    gzip: _Variant | None


def compiled_assets_dir() -> Path | None:
    """Where ``reflex run --env prod`` serves the built frontend's hashed files from, when this
    backend serves the frontend at all (a backend-only process behind nginx does not)."""
    from reflex.utils import prerequisites
    from reflex_base import constants
    from reflex_base.config import get_config
    from reflex_base.environment import environment

    if not environment.REFLEX_MOUNT_FRONTEND_COMPILED_APP.get():
        return None
    frontend_path = get_config().frontend_path.strip("/")
    return prerequisites.get_web_dir() / constants.Dirs.STATIC / frontend_path / PREFIX.strip("/")


class HashedAssets:
    """ASGI layer serving ``directory``'s hashed files from memory; None passes everything on."""

    def __init__(self, app: ASGIApp, directory: Path | None) -> None:
        self.app = app
        self.directory = directory
        self._names: frozenset[str] | None = None
        self._assets: dict[str, _Asset] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            asset = self._asset(scope.get("path", ""))
            if asset is not None:
                await _serve(scope, send, asset)
                return
        await self.app(scope, receive, send)

    def _asset(self, path: str) -> _Asset | None:
        if self.directory is None or not path.startswith(PREFIX):
            return None
        name = path[len(PREFIX) :]
        if not _HASHED.fullmatch(name):
            return None
        if self._names is None:
            # The build is finished before the backend serves it: listed once.
            try:
                self._names = frozenset(p.name for p in self.directory.iterdir() if p.is_file())
            except OSError:
                self._names = frozenset()
        if name not in self._names:
            return None
        asset = self._assets.get(name)
        if asset is None:
            asset = self._assets[name] = self._read(self.directory / name)
        return asset

    @staticmethod
    def _read(path: Path) -> _Asset:
        # Once per file and process, a few hundred kB at most.
        plain = path.read_bytes()
        twin = path.with_name(path.name + ".gz")
        compressed = twin.read_bytes() if twin.is_file() else None
        media_type = "text/javascript" if path.suffix in (".js", ".mjs") else mimetypes.guess_type(path.name)[0]
        media_type = media_type or "application/octet-stream"
        if media_type.startswith("text/"):
            media_type += "; charset=utf-8"
        tag = hashlib.sha256(plain).hexdigest()[:20]
        return _Asset(
            media_type=media_type.encode(),
            plain=_Variant(plain, f'"{tag}"'.encode()),
            gzip=_Variant(compressed, f'"{tag}-gz"'.encode()) if compressed is not None else None,
        )


async def _serve(scope: Scope, send: Send, asset: _Asset) -> None:
    headers = _request_headers(scope)
    use_gzip = asset.gzip is not None and _accepts_gzip(headers.get(b"accept-encoding", b""))
    variant = asset.gzip if use_gzip and asset.gzip is not None else asset.plain
    common = [
        (b"etag", variant.etag),
        (b"cache-control", IMMUTABLE),
        (b"vary", b"Accept-Encoding"),
    ]
    if variant.etag in _tags(headers.get(b"if-none-match", b"")):
        await send({"type": "http.response.start", "status": 304, "headers": common})
        await send({"type": "http.response.body", "body": b""})
        return
    response = [
        (b"content-type", asset.media_type),
        (b"content-length", str(len(variant.body)).encode()),
        *common,
    ]
    if use_gzip:
        response.append((b"content-encoding", b"gzip"))
    await send({"type": "http.response.start", "status": 200, "headers": response})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else variant.body})


def _request_headers(scope: Scope) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    for name, value in scope.get("headers", []):
        key = name.lower()
        found[key] = found[key] + b"," + value if key in found else value
    return found


def _accepts_gzip(value: bytes) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (named or by ``*``, with a quality above 0)."""
    qualities: dict[str, float] = {}
    for entry in value.decode("latin-1").split(","):
        token, *params = entry.split(";")
        quality = 1.0
        for param in params:
            key, _, number = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        qualities[token.strip().lower()] = quality
    return qualities.get("gzip", qualities.get("*", 0.0)) > 0


def _tags(value: bytes) -> set[bytes]:
    return {tag.strip().removeprefix(b"W/") for tag in value.split(b",") if tag.strip()}
