"""The guard in front of Reflex: upload limits before the body is read, rate limits, security headers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.staticfiles import StaticFiles

from portal import links
from portal.protection.ratelimit import RateLimiter
from portal.server.guard import PortalGuard
from portal.settings import PortalSettings

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


def _upload_guard(downstream: Downstream) -> PortalGuard:
    return PortalGuard(
        downstream, max_upload_request_bytes=LIMIT, upload_handlers=[UPLOAD_HANDLER], may_upload=_may_upload
    )


@pytest.fixture()
def client(downstream: Downstream) -> httpx.AsyncClient:
    """A browser whose session verified a link: its upload requests name the upload handler."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_upload_guard(downstream)), base_url="http://portal.test", headers=VERIFIED
    )


@pytest.fixture()
def stranger(downstream: Downstream) -> httpx.AsyncClient:
    """A client with no verified link: random client tokens, any handler name."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_upload_guard(downstream)), base_url="http://portal.test"
    )


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
    async def chunks():  # a streamed body has no Content-Length
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
    assert response.headers["cross-origin-resource-policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/r/" + "A" * 43, "/r/abc/", "/r/x?utm=1"])
async def test_a_reply_link_is_served_the_prerendered_reply_page(
    client: httpx.AsyncClient, downstream: Downstream, path: str
) -> None:
    # Issue #5: /reply has prerendered HTML that paints before the scripts; the token stays in
    # the browser (the page's head script takes it), the app below never sees it in a path.
    response = await client.get(path)
    assert response.status_code == 200
    assert downstream.paths == [("/reply/", b"/reply/")]


# "/r/abc//" is no link either: the reply page's head script would not hand its token over.
@pytest.mark.parametrize("path", ["/r/", "/r", "/r/a/b", "/r/abc//", "/reply", "/rx/abc"])
async def test_other_paths_are_passed_unchanged(client: httpx.AsyncClient, downstream: Downstream, path: str) -> None:
    await client.get(path)
    assert downstream.paths[0][0] == path


async def test_a_link_path_is_rewritten_only_for_reading(client: httpx.AsyncClient, downstream: Downstream) -> None:
    await client.post("/r/" + "A" * 43, content=b"")
    assert downstream.paths[0][0] == "/r/" + "A" * 43


# ---------------------------------------------------------------------- rate limits

TOKEN = "A" * 43
HANDLER = "reflex___state____state.portal___state___reply____reply_state.upload_refused"


@pytest.fixture()
def limiter(tmp_path: Path) -> Iterator[RateLimiter]:
    limiter = RateLimiter(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    limiter.create_all()
    yield limiter
    limiter.dispose()


Tab = Callable[..., httpx.AsyncClient]


@pytest.fixture()
def limited(downstream: Downstream, limiter: RateLimiter) -> Tab:
    """A client from one address of a portal whose limits are small (settings as given)."""

    def make(address: str = "198.51.100.7", **settings: Any) -> httpx.AsyncClient:
        values = {"link_opens_per_address": 3, "link_opens_per_link": 5, "uploads_per_address": 2, **settings}
        app = PortalGuard(
            downstream,
            max_upload_request_bytes=LIMIT,
            settings=PortalSettings(**values),
            limiter=lambda: limiter,
            upload_refused_handler=HANDLER,
            upload_handlers=[UPLOAD_HANDLER],
            may_upload=_may_upload,
        )
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://portal.test")

    return make


async def test_link_openings_are_limited_per_address(limited: Tab, downstream: Downstream) -> None:
    here, elsewhere = limited("198.51.100.7"), limited("198.51.100.8")
    for i in range(3):
        assert (await here.get(f"/r/{TOKEN[:-1]}{i}")).status_code == 200
    refused = await here.get(f"/r/{TOKEN[:-1]}x", headers={"accept-language": "en-GB,en;q=0.9"})
    assert refused.status_code == 429
    # The window began at the first opening's whole second, so a second boundary may lie between.
    assert int(refused.headers["retry-after"]) in (59, 60)
    assert refused.headers["cache-control"] == "no-store"
    assert refused.headers["content-type"].startswith("text/html")
    # A page a person can read, in their language, saying how long to wait; the token leaves the address bar.
    assert '<html lang="en"' in refused.text and "Too many attempts" in refused.text
    assert "Please wait 1 minute and then try again." in refused.text
    assert links.CLEAR in refused.text and TOKEN[:-1] not in refused.text
    assert downstream.calls == 3
    # Someone else is not affected.
    assert (await elsewhere.get(f"/r/{TOKEN}")).status_code == 200
    # German when the browser asks for nothing we offer.
    german = await here.get(f"/r/{TOKEN}", headers={"accept-language": "ja"})
    assert '<html lang="de"' in german.text and "Minute" in german.text
    # The language this person picked on an earlier page (the cookie) comes before the browser's.
    picked = await here.get(f"/r/{TOKEN}", headers={"accept-language": "en", "cookie": "other=1; rk_lang=ar"})
    assert '<html lang="ar" dir="rtl"' in picked.text
    broken = await here.get(f"/r/{TOKEN}", headers={"accept-language": "en", "cookie": 'rk_lang="'})
    assert '<html lang="en"' in broken.text


async def test_link_openings_are_limited_per_link(limited: Tab) -> None:
    for i in range(5):
        assert (await limited(f"198.51.100.{i}").get(f"/r/{TOKEN}")).status_code == 200
    assert (await limited("198.51.100.99").get(f"/r/{TOKEN}")).status_code == 429
    assert (await limited("198.51.100.99").get(f"/r/{TOKEN[:-1]}B")).status_code == 200


async def test_forwarded_for_counts_only_behind_trusted_proxies(limited: Tab) -> None:
    # No trusted proxy: a made-up X-Forwarded-For does not make anyone a new client.
    direct = limited("198.51.100.7")
    for i in range(3):
        await direct.get(f"/r/{TOKEN[:-1]}{i}", headers={"x-forwarded-for": f"203.0.113.{i}"})
    assert (await direct.get(f"/r/{TOKEN}", headers={"x-forwarded-for": "203.0.113.77"})).status_code == 429

    # One trusted proxy (one peer address for everyone): the address it appended is the client.
    proxy = limited("10.0.0.2", trusted_proxy_hops=1)
    for i in range(3):
        assert (await proxy.get(f"/r/{TOKEN[:-1]}{i}", headers={"x-forwarded-for": "203.0.113.50"})).status_code == 200
    # What the client wrote in front of the proxy's entry changes nothing.
    spoofed = await proxy.get(f"/r/{TOKEN[:-1]}9", headers={"x-forwarded-for": "192.0.2.1, 203.0.113.50"})
    assert spoofed.status_code == 429
    assert (await proxy.get(f"/r/{TOKEN}", headers={"x-forwarded-for": "203.0.113.51"})).status_code == 200


async def test_upload_requests_are_limited_before_the_body_is_read(limited: Tab, downstream: Downstream) -> None:
    tab = limited("198.51.100.7")
    headers = VERIFIED
    for _ in range(2):
        assert (await tab.post("/_upload", content=b"x" * 10, headers=headers)).status_code == 200
    refused = await tab.post("/_upload", content=b"x" * LIMIT, headers=headers)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert refused.headers["cache-control"] == "no-store"
    assert downstream.calls == 2
    # The line Reflex's upload client applies as a state update: it calls the reply state's
    # handler, which shows the translated refusal on the page.
    update = json.loads(refused.text.splitlines()[0])
    assert update["events"] == [{"name": HANDLER, "payload": {"code": "too_many_uploads", "minutes": 10}}]


async def test_the_guard_lets_requests_through_without_counters(client: httpx.AsyncClient) -> None:
    for _ in range(50):
        assert (await client.get(f"/r/{TOKEN}")).status_code == 200


# ---------------------------------------------------------------------- headers


def _guard(downstream: Any, **settings: Any) -> httpx.AsyncClient:
    app = PortalGuard(downstream, max_upload_request_bytes=LIMIT, settings=PortalSettings(**settings))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test")


class Typed:
    """A downstream answering with one content type (and optionally a cache header of its own)."""

    def __init__(self, content_type: str, status: int = 200) -> None:
        self.content_type = content_type.encode()
        self.status = status

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", self.content_type), (b"cache-control", b"public, max-age=31536000")]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"x"})


@pytest.mark.parametrize(
    ("path", "content_type", "cacheable"),
    [
        ("/reply/", "text/html; charset=utf-8", False),
        ("/staff", "text/html; charset=utf-8", False),
        ("/", "text/html", False),
        ("/_upload", "application/json", False),
        ("/_event/?EIO=4&transport=polling", "text/plain", False),
        ("/ping", "application/json", False),
        ("/assets/app-3f9a1c.js", "text/javascript", True),
        ("/portal.css", "text/css; charset=utf-8", True),
        ("/favicon.ico", "image/vnd.microsoft.icon", True),
    ],
)
async def test_cache_control(path: str, content_type: str, cacheable: bool) -> None:
    response = await _guard(Typed(content_type)).get(path)
    if cacheable:
        assert response.headers["cache-control"] == "public, max-age=31536000"
    else:
        assert response.headers.get_list("cache-control") == ["no-store"]


async def test_a_reply_link_is_never_stored(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"/r/{TOKEN}")).headers["cache-control"] == "no-store"


async def test_hsts_only_over_https(downstream: Downstream) -> None:
    plain = await _guard(downstream).get("/reply")
    assert "strict-transport-security" not in plain.headers
    # TLS to the portal itself.
    tls = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=PortalGuard(downstream, max_upload_request_bytes=LIMIT)),
        base_url="https://portal.test",
    )
    assert (await tls.get("/reply")).headers["strict-transport-security"] == "max-age=31536000"
    # A public https URL (the address every link points to).
    public = await _guard(downstream, public_url="https://portal.example.de").get("/reply")
    assert public.headers["strict-transport-security"] == "max-age=31536000"
    # X-Forwarded-Proto only from a trusted proxy.
    forwarded = {"x-forwarded-proto": "https"}
    assert "strict-transport-security" not in (await _guard(downstream).get("/reply", headers=forwarded)).headers
    behind = await _guard(downstream, trusted_proxy_hops=1).get("/reply", headers=forwarded)
    assert "strict-transport-security" in behind.headers
    assert "strict-transport-security" not in (await _guard(downstream, hsts_max_age_seconds=0).get("/r/x")).headers


@pytest.mark.parametrize(
    ("public_url", "origins"),
    [
        ("https://portal.example.de", "'self' https://portal.example.de wss://portal.example.de;"),
        ("http://localhost:3000", "'self' http://localhost:3000 ws://localhost:3000;"),
    ],
)
async def test_connect_src_names_only_the_own_origin(downstream: Downstream, public_url: str, origins: str) -> None:
    csp = (await _guard(downstream, public_url=public_url).get("/reply")).headers["content-security-policy"]
    assert f"connect-src {origins}" in csp
    assert " ws: " not in csp and " wss:" not in csp.replace("wss://", "")


async def test_the_slash_redirect_points_to_the_public_url(tmp_path: Path) -> None:
    # Starlette's static files (Reflex's single-port frontend) redirect /reply to /reply/ on the
    # request's Host header, which anyone can set.
    (tmp_path / "reply").mkdir()
    (tmp_path / "reply" / "index.html").write_text("<html></html>")
    client = _guard(StaticFiles(directory=tmp_path, html=True), public_url="https://portal.example.de")
    response = await client.get("/reply?x=1", headers={"host": "evil.example"})
    assert response.status_code in (301, 307)
    assert response.headers["location"] == "https://portal.example.de/reply/?x=1"
