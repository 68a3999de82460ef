"""The request guard: credential before body, bounded bodies, security headers.

The body tests call the app as an ASGI server would, with a ``receive`` that hands out a huge body
in chunks on demand and counts what the app pulled, so nothing near 200 MB is ever allocated. A
tripwire fails the test if the app reads far past any sensible limit (the old code read it all).
"""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message

from casesvc.app import create_app
from casesvc.settings import CaseServiceSettings
from tests.casesvc.conftest import Api
from tests.casesvc.helpers import KEY_A, PORTAL_KEY, TODAY, Clock, auth, complete_question_reply
from tests.support.case_service import CaseServiceProcess, run_case_service
from tests.support.messages import message_in

KiB = 1024
MiB = 1024 * KiB
HUGE = 200 * MiB
CHUNK = 64 * KiB
TRIPWIRE = 8 * MiB
ZEROS = b"0" * CHUNK

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-resource-policy": "same-origin",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


@dataclass
class Upload:
    """A request body of ``size`` bytes, produced only as fast as the app asks for it."""

    size: int
    pulled: int = 0
    sent: list[Message] = field(default_factory=list)

    async def receive(self) -> Message:
        if self.pulled >= self.size:
            return {"type": "http.disconnect"}
        if self.pulled >= TRIPWIRE:
            raise AssertionError(f"the app read more than {TRIPWIRE} bytes of the body")
        chunk = ZEROS[: min(CHUNK, self.size - self.pulled)]
        self.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": self.pulled < self.size}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def closes(self) -> bool:
        # The rest of a refused body must not be read to find the next request on the connection.
        return (b"connection", b"close") in self.sent[0]["headers"]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


async def post(
    app: ASGIApp,
    path: str,
    upload: Upload,
    headers: dict[str, str],
    *,
    declare_length: bool = True,
    root_path: str = "",
    method: str = "POST",
) -> Upload:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    if declare_length:
        raw.append((b"content-length", str(upload.size).encode()))
    else:
        raw.append((b"transfer-encoding", b"chunked"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": root_path + path,
        "raw_path": (root_path + path).encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *raw],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, upload.receive, upload.send)
    return upload


JSON = {"Content-Type": "application/json"}
JSON_ROUTES = ["/api/v1/messages", "/api/v1/links/resolve", "/api/v1/messages/m1/revoke"]


@pytest.fixture
def app(settings: CaseServiceSettings) -> ASGIApp:
    return create_app(settings)


# ------------------------------------------------------------------------------- credential first


@pytest.mark.parametrize("path", [*JSON_ROUTES, "/api/v1/messages/m1/reply", "/api/v1/staff/abh-potsdam/audit"])
@pytest.mark.parametrize("declare_length", [True, False])
@pytest.mark.parametrize("headers", [{}, auth("not-a-configured-key-at-all"), {"Authorization": f"Basic {KEY_A}"}])
async def test_huge_body_without_a_valid_key_is_401_before_a_byte_is_read(
    app: ASGIApp, path: str, declare_length: bool, headers: dict[str, str]
) -> None:
    upload = await post(app, path, Upload(HUGE), JSON | headers, declare_length=declare_length)
    assert upload.status == 401 and b'"code":"unauthorized"' in upload.body
    assert (b"www-authenticate", b"Bearer") in upload.sent[0]["headers"]
    assert upload.pulled == 0 and upload.closes


@pytest.fixture(scope="module")
def real_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaseServiceProcess]:
    with run_case_service(tmp_path_factory.mktemp("casesvc-guard")) as service:
        yield service


def _answer_to_headers_only(service: CaseServiceProcess, headers: str) -> bytes:
    # A real uvicorn on loopback: the client announces 200 MB and sends one chunk; the service must
    # answer without waiting for the rest (the old code waited for the whole body), then close.
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        sock.sendall(headers.encode() + ZEROS)
        answer = b""
        while data := sock.recv(4096):
            answer += data
        return answer  # recv gave b"": the service closed the connection


def test_real_server_refuses_a_200_mb_unauthenticated_body_without_reading_it(
    real_service: CaseServiceProcess,
) -> None:
    started = time.monotonic()
    answer = _answer_to_headers_only(
        real_service,
        f"POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {HUGE}\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert b'"code":"unauthorized"' in answer and b"\r\nconnection: close\r\n" in answer.lower()
    assert time.monotonic() - started < 5


def test_real_server_refuses_an_oversize_body_by_its_declared_length(real_service: CaseServiceProcess) -> None:
    answer = _answer_to_headers_only(
        real_service,
        f"POST /api/v1/links/resolve HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {real_service.portal_key}\r\nContent-Length: {HUGE}\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"code":"too_large"' in answer


# ------------------------------------------------------------------------------------ body limits


@pytest.mark.parametrize("path", JSON_ROUTES)
async def test_declared_length_over_the_json_limit_is_413_before_reading(app: ASGIApp, path: str) -> None:
    key = PORTAL_KEY if path == "/api/v1/links/resolve" else KEY_A
    upload = await post(app, path, Upload(HUGE), JSON | auth(key))
    assert upload.status == 413 and b'"code":"too_large"' in upload.body
    assert upload.pulled == 0 and upload.closes


@pytest.mark.parametrize("path", JSON_ROUTES)
async def test_a_body_without_length_is_cut_off_at_the_json_limit(
    make_settings: Callable[..., CaseServiceSettings], path: str
) -> None:
    limit = 256 * KiB
    app = create_app(make_settings(max_json_bytes=limit))
    key = PORTAL_KEY if path == "/api/v1/links/resolve" else KEY_A
    upload = await post(app, path, Upload(HUGE), JSON | auth(key), declare_length=False)
    assert upload.status == 413 and b'"code":"too_large"' in upload.body
    assert limit < upload.pulled <= limit + CHUNK and upload.closes


async def test_a_route_without_a_body_still_refuses_an_oversize_one(app: ASGIApp) -> None:
    upload = await post(app, "/health", Upload(HUGE), {}, method="GET")
    assert upload.status == 413 and upload.pulled == 0


async def test_the_reply_upload_has_its_own_limit(make_settings: Callable[..., CaseServiceSettings]) -> None:
    limit = 2 * MiB
    app = create_app(make_settings(max_reply_bytes=limit))
    headers = auth(PORTAL_KEY) | {"Idempotency-Key": "k1", "Content-Type": "multipart/form-data; boundary=b"}
    with TestClient(app):  # runs the lifespan: the database exists
        declared = await post(app, "/api/v1/messages/m1/reply", Upload(HUGE), headers)
        assert declared.status == 413 and declared.pulled == 0
        # Within the limit, the checks that need no body come first: no message m1, 404 unread.
        within = await post(app, "/api/v1/messages/m1/reply", Upload(limit), headers)
        assert within.status == 404 and within.pulled == 0


async def test_paths_are_matched_below_a_root_path(make_settings: Callable[..., CaseServiceSettings]) -> None:
    # Served with ``uvicorn --root-path /casesvc``: the public paths and the reply limit still apply.
    app = create_app(make_settings(max_reply_bytes=2 * MiB))
    health = await post(app, "/health", Upload(0), {}, root_path="/casesvc", method="GET")
    assert health.status == 200 and b'"status":"ok"' in health.body
    headers = auth(PORTAL_KEY) | {"Idempotency-Key": "k1", "Content-Type": "multipart/form-data; boundary=b"}
    reply = await post(app, "/api/v1/messages/m1/reply", Upload(2 * MiB + 1), headers, root_path="/casesvc")
    assert reply.status == 413 and b"2097152 bytes" in reply.body


def test_the_reply_upload_is_not_held_to_the_json_limit(
    make_settings: Callable[..., CaseServiceSettings], clock: Clock
) -> None:
    with TestClient(create_app(make_settings(max_json_bytes=8 * KiB), clock=clock)) as client:
        api = Api(client)
        created = api.created()
        draft = complete_question_reply()
        draft.uploads[0].content = b"%PDF-1.7 " + b"x" * (32 * KiB)
        assert api.reply(created["id"], draft).status_code == 201
        too_big = client.post("/api/v1/messages", json=message_in(today=TODAY, body="x" * 9 * KiB), headers=auth(KEY_A))
        assert too_big.status_code == 413 and too_big.json()["code"] == "too_large"


# ------------------------------------------------------------------------------- security headers


def _assert_security_headers(headers: Any, *, csp: bool = True) -> None:
    for name, value in SECURITY_HEADERS.items():
        if name == "content-security-policy" and not csp:
            assert name not in headers
        else:
            assert headers.get(name) == value, name
            assert len(headers.get_list(name)) == 1, name


def test_every_answer_carries_the_security_headers(api: Api, client: TestClient) -> None:
    created = api.created()
    reply = api.reply(created["id"], complete_question_reply())
    assert reply.status_code == 201
    page = api.replies().json()["replies"][0]
    file_id = page["items"][0]["files"][0]["id"]
    answers = [
        client.get("/health"),
        client.get("/openapi.json"),
        client.get(f"/api/v1/messages/{created['id']}", headers=auth(KEY_A)),  # 200 JSON
        client.get(f"/api/v1/replies/{page['id']}/files/{file_id}", headers=auth(KEY_A)),  # a PDF
        client.get("/api/v1/replies"),  # 401 from the guard
        client.get("/api/v1/replies", headers=auth(PORTAL_KEY)),  # 403 from the route
        client.get("/api/v1/messages/nope", headers=auth(KEY_A)),  # 404
        client.post("/api/v1/messages", content=b"{", headers=auth(KEY_A) | JSON),  # 400
        client.post("/api/v1/messages", json={}, headers=auth(KEY_A)),  # 422
        reply,
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 401, 403, 404, 400, 422, 201]
    assert answers[3].headers["content-type"] == "application/pdf"
    for answer in answers:
        _assert_security_headers(answer.headers)
        assert "strict-transport-security" not in answer.headers


def test_a_server_error_carries_the_security_headers_too(settings: CaseServiceSettings) -> None:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        # A real fault: somebody drops a table under the running service.
        with sqlite3.connect(settings.database_url.removeprefix("sqlite:///")) as db:
            db.execute("DROP TABLE replies")
        response = client.get("/api/v1/replies", headers=auth(KEY_A))
    assert response.status_code == 500 and response.json()["code"] == "internal"
    _assert_security_headers(response.headers)


def test_the_documentation_pages_keep_their_scripts(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    _assert_security_headers(response.headers, csp=False)


def test_hsts_only_over_https(settings: CaseServiceSettings) -> None:
    app = create_app(settings)
    with TestClient(app, base_url="https://testserver") as https:
        assert https.get("/health").headers["strict-transport-security"] == "max-age=31536000"
        assert https.get("/api/v1/replies").headers["strict-transport-security"] == "max-age=31536000"
    with TestClient(app) as http:
        # A client's own X-Forwarded-Proto changes nothing; uvicorn honours it only from trusted proxies.
        answer = http.get("/health", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in answer.headers
