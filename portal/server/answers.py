"""The small JSON answers the server's own endpoints give (metrics, health), never cached."""

from __future__ import annotations

import json

from starlette.types import Send


async def json_answer(
    send: Send, status: int, payload: object, headers: list[tuple[bytes, bytes]] | None = None, *, head: bool = False
) -> None:
    """Sends ``payload`` as JSON with ``status``; ``head``: the headers only, as for a HEAD request."""
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})
