"""The guard in front of Reflex: upload limits before the body is read, security headers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from portal.server.guard import PortalGuard

LIMIT = 1000


class Downstream:
    """A stand-in for the Reflex app that records how many body bytes reached it."""

    def __init__(self) -> None:
        self.calls = 0
        self.body_bytes = 0
        self.paths: list[tuple[str, bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        self.paths.append((scope.get("path", ""), scope.get("raw_path", b"")))
        if scope["type"] == "http":
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                self.body_bytes += len(message.get("body", b""))
                if not message.get("more_body"):
                    break
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture()
def downstream() -> Downstream:
    return Downstream()


UPLOAD_HANDLER = "state.reply_state.upload"
VERIFIED = {"reflex-event-handler": UPLOAD_HANDLER, "reflex-client-token": "tab-with-a-verified-link"}


async def _may_upload(client_token: str) -> bool:
    return client_token == VERIFIED["reflex-client-token"]


def _guard(downstream: Downstream) -> PortalGuard:
    return PortalGuard(
        downstream, max_upload_request_bytes=LIMIT, upload_handlers=[UPLOAD_HANDLER], may_upload=_may_upload
    )


@pytest.fixture()
def client(downstream: Downstream) -> httpx.AsyncClient:
    """A browser whose session verified a link: its upload requests name the upload handler."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_guard(downstream)), base_url="http://portal.test", headers=VERIFIED
    )


@pytest.fixture()
def stranger(downstream: Downstream) -> httpx.AsyncClient:
    """A client with no verified link: random client tokens, any handler name."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_guard(downstream)), base_url="http://portal.test")


@pytest.mark.parametrize("token", ["", "random-client-token-1", "tab-with-a-verified-link "])
async def test_an_upload_without_a_verified_link_creates_nothing(
    stranger: httpx.AsyncClient, downstream: Downstream, token: str
) -> None:
    headers = {"reflex-event-handler": UPLOAD_HANDLER, "reflex-client-token": token}
    response = await stranger.post("/_upload", content=b"x" * 10, headers=headers)
    assert response.status_code in (400, 403)
    assert response.json()["code"] in ("upload_malformed", "link_not_verified")
    assert downstream.calls == 0


@pytest.mark.parametrize(
    "handler", ["state.reply_state.submit", "state.language_state.change_language", "", "state.reply_state.upload2"]
)
async def test_an_upload_to_any_other_handler_is_refused_cleanly(
    client: httpx.AsyncClient, downstream: Downstream, handler: str
) -> None:
    response = await client.post("/_upload", content=b"x" * 10, headers={"reflex-event-handler": handler})
    assert response.status_code == 400
    assert response.json()["code"] in ("upload_handler_unknown", "upload_malformed")
    assert downstream.calls == 0


async def test_oversized_upload_is_refused_before_the_app_sees_it(
    client: httpx.AsyncClient, downstream: Downstream
) -> None:
    response = await client.post("/_upload", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert response.json() == {"code": "upload_too_large"}
    assert downstream.calls == 0


async def test_upload_within_the_limit_passes(client: httpx.AsyncClient, downstream: Downstream) -> None:
    response = await client.post("/_upload", content=b"x" * LIMIT)
    assert response.status_code == 200
    assert downstream.body_bytes == LIMIT


async def test_upload_without_length_is_refused(client: httpx.AsyncClient, downstream: Downstream) -> None:
    async def chunks():  # noqa: ANN202 - a streamed body has no Content-Length
        yield b"x" * 10

    response = await client.post("/_upload", content=chunks())
    assert response.status_code == 411
    assert downstream.calls == 0


async def test_reflex_public_upload_folder_is_closed(client: httpx.AsyncClient, downstream: Downstream) -> None:
    response = await client.get("/_upload/some/file.pdf")
    assert response.status_code == 404
    assert downstream.calls == 0


async def test_security_headers_on_every_response(client: httpx.AsyncClient) -> None:
    response = await client.get("/reply")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp


@pytest.mark.parametrize("path", ["/r/" + "A" * 43, "/r/abc/", "/r/x?utm=1"])
async def test_a_reply_link_is_served_the_prerendered_reply_page(
    client: httpx.AsyncClient, downstream: Downstream, path: str
) -> None:
    # Issue #5: /reply has prerendered HTML that paints before the scripts; the token stays in
    # the browser (the page's head script takes it), the app below never sees it in a path.
    response = await client.get(path)
    assert response.status_code == 200
    assert downstream.paths == [("/reply/", b"/reply/")]


@pytest.mark.parametrize("path", ["/r/", "/r", "/r/a/b", "/reply", "/rx/abc"])
async def test_other_paths_are_passed_unchanged(client: httpx.AsyncClient, downstream: Downstream, path: str) -> None:
    await client.get(path)
    assert downstream.paths[0][0] == path


async def test_a_link_path_is_rewritten_only_for_reading(client: httpx.AsyncClient, downstream: Downstream) -> None:
    await client.post("/r/" + "A" * 43, content=b"")
    assert downstream.paths[0][0] == "/r/" + "A" * 43
