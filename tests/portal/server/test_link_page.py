"""The first response to a reply link, through the guard, against the real case service: the
request (or why not) in the page, the right status, no-store, no token, a nonce that hands over
what opening the link came to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from portal import links
from portal.domain import errors, i18n
from portal.domain.clock import today
from portal.protection.clients import address_group
from portal.server.guard import PortalGuard
from portal.server.link_page import LinkPages, reply_template
from tests.portal.state.conftest import revoke

# The shape of the build's prerendered reply page, as far as the server's parts go.
PRERENDERED = (
    '<!DOCTYPE html><html lang="de"><head><meta charSet="utf-8"/><script>HANDOFF</script></head>'
    '<body><div class="page" data-phase="checking"><main>live</main></div><script type="module"></script></body></html>'
)
CLIENT = "127.0.0.1"


async def _not_committed(message_id: str) -> None:
    return None


@pytest.fixture
def build(tmp_path: Path) -> Path:
    assets = tmp_path / "client" / "assets"
    assets.mkdir(parents=True)
    (tmp_path / "client" / "reply").mkdir()
    (tmp_path / "client" / "reply" / "index.html").write_text(PRERENDERED)
    return assets


@pytest.fixture
def pages(portal_runtime: Any, build: Path) -> LinkPages:
    return LinkPages(
        reply_template(lambda: build),
        portal_runtime.open_link,
        _not_committed,
        portal_runtime.handovers(),
        ["de", "en", "ar"],
        0,
        today,
    )


@pytest.fixture
def browser(pages: LinkPages) -> httpx.AsyncClient:
    guard = PortalGuard(_never, max_upload_request_bytes=1000, link_page=pages.answer)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=guard, client=(CLIENT, 5000)), base_url="http://p.test")


async def _never(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("a link's page is answered before the app")


async def test_an_open_link_is_answered_with_its_request(browser, create_message, portal_runtime) -> None:
    _, token = await create_message("question")
    response = await browser.get(f"/r/{token}", headers={"accept-language": "ar"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    html = response.text
    assert token not in html
    assert '<html lang="en" dir="ltr"' in html  # the case records English, which comes before the browser's
    assert '<rk-static id="ssr-page"' in html and html.index("<rk-static") < html.index('<div class="page"')
    assert i18n.translate("en", "request.contact") in html
    nonce = html.split(f'<meta name="{links.NONCE_META}" content="', 1)[1].split('"', 1)[0]
    kept = portal_runtime.handovers().redeem(nonce, token, address_group(CLIENT))
    assert isinstance(kept, links.OpenedLink)
    assert kept.message.subject in html


async def test_the_applicants_own_pick_comes_first(browser, create_message) -> None:
    _, token = await create_message("question")
    response = await browser.get(f"/r/{token}", headers={"cookie": f"{i18n.LANGUAGE_COOKIE}=ar"})
    assert '<html lang="ar" dir="rtl"' in response.text
    assert i18n.translate("ar", "request.contact") in response.text


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [("/r/short", 404, "link_malformed"), ("/r/" + "Z" * 43, 404, "link_unknown")],
)
async def test_a_link_that_never_was_one_is_not_found(browser, path: str, status: int, code: str) -> None:
    response = await browser.get(path)
    assert response.status_code == status
    assert i18n.translate("de", f"link.{code}_title") in response.text


async def test_a_revoked_link_is_gone_and_its_outcome_kept(
    browser, create_message, case_service, portal_runtime
) -> None:
    message_id, token = await create_message("question")
    await revoke(case_service, message_id)
    response = await browser.get(f"/r/{token}")
    assert response.status_code == 410
    assert i18n.translate("de", "link.link_revoked_title") in response.text
    nonce = response.text.split(f'<meta name="{links.NONCE_META}" content="', 1)[1].split('"', 1)[0]
    assert isinstance(portal_runtime.handovers().redeem(nonce, token, address_group(CLIENT)), errors.LinkRevoked)


async def test_without_a_built_page_the_guard_serves_as_before(portal_runtime) -> None:
    pages = LinkPages(
        reply_template(lambda: None),
        portal_runtime.open_link,
        _not_committed,
        portal_runtime.handovers(),
        ["de"],
        0,
        today,
    )
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"prerendered"})

    guard = PortalGuard(app, max_upload_request_bytes=1000, link_page=pages.answer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://p.test") as http:
        response = await http.get("/r/" + "A" * 43)
    assert response.text == "prerendered" and seen == ["/reply/"]


async def test_a_page_that_fails_to_render_falls_back_to_the_prerendered_one() -> None:
    async def broken(scope: Any, token: str) -> None:
        raise RuntimeError("no page")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"prerendered"})

    guard = PortalGuard(app, max_upload_request_bytes=1000, link_page=broken)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://p.test") as http:
        response = await http.get("/r/" + "A" * 43)
    assert (response.status_code, response.text) == (200, "prerendered")
    assert response.headers["cache-control"] == "no-store"
