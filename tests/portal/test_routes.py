"""Every route of ``portal.routes`` is one the built app has, and the app has no other; the
guard in front of the real app answers each of its paths as the routes say."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from reflex import constants
from reflex_base.utils.format import format_route

from portal import links, routes, runtime
from portal.portal import app
from portal.server.headers import PRIVATE_PREFIXES
from portal.settings import get_settings
from portal.state import staff

TOKEN = "A" * 43


def test_the_app_registers_every_route_and_no_other() -> None:
    assert set(app._unevaluated_pages) == {format_route(route) for route in routes.PAGES}
    assert len(routes.PAGES) == len(set(routes.PAGES))


def test_each_page_loads_with_its_handler() -> None:
    on_load = {route: page.on_load for route, page in app._unevaluated_pages.items()}
    assert on_load[format_route(routes.REPLY)].fn.__name__ == "on_reply_page"
    assert on_load[format_route(routes.STAFF_SIGN_IN)].fn.__name__ == "open_sign_in"
    assert on_load[format_route(routes.STAFF_HOME)].fn.__name__ == "open_list"
    assert on_load[format_route(routes.STAFF_MESSAGE)].fn.__name__ == "open_preview"
    for route in (routes.HOME, *(routes.info(name) for name in routes.INFO_PAGES)):
        assert on_load[format_route(route)].fn.__name__ == "start"


def test_the_routes_are_reflex_s_own_where_they_are() -> None:
    assert routes.UPLOAD == str(constants.Endpoint.UPLOAD)
    assert routes.EVENT == str(constants.Endpoint.EVENT)
    # The metrics and a link's prefix are the portal's: neither a page nor one of Reflex's endpoints.
    reflex_paths = {str(endpoint) for endpoint in constants.Endpoint}
    for path in (routes.METRICS, routes.LINK_PREFIX.rstrip("/")):
        assert path not in reflex_paths and format_route(path) not in app._unevaluated_pages
    assert routes.STAFF_MESSAGE.startswith(routes.STAFF_MESSAGE_PREFIX)


def test_the_staff_states_send_to_the_staff_routes() -> None:
    assert (staff.SIGN_IN_ROUTE, staff.HOME_ROUTE) == (routes.STAFF_SIGN_IN, routes.STAFF_HOME)


def test_the_applicant_s_and_the_staff_s_paths_are_never_cached() -> None:
    for path in (routes.REPLY, routes.LINK_PREFIX, routes.UPLOAD, routes.EVENT, routes.STAFF_HOME):
        assert path in PRIVATE_PREFIXES
    assert routes.STAFF_SIGN_IN.startswith(routes.STAFF_HOME)


# ---------------------------------------------------------------- the real app's ASGI stack


class Downstream:
    """Stands for Reflex's backend: records the paths it is asked for."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"<html></html>"})


def _forget_runtime() -> None:
    get_settings.cache_clear()
    for cached in (runtime.rate_limiter, runtime.rate_rules):
        cached.cache_clear()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The guard counts link openings in the portal's database: a fresh one for this test.
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "portal"))
    monkeypatch.setenv("PORTAL_DATABASE_URL", "")
    _forget_runtime()
    yield
    _forget_runtime()


@pytest.fixture
async def stack(isolated: None) -> AsyncIterator[tuple[httpx.AsyncClient, Downstream]]:
    """The app's own middleware (metrics, guard), applied as Reflex applies them, over ``Downstream``."""
    downstream = Downstream()
    asgi: Any = downstream
    transformers = app.api_transformer if isinstance(app.api_transformer, list) else [app.api_transformer]
    for transform in transformers:
        asgi = transform(asgi)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://portal.test") as client:
        yield client, downstream


async def test_a_link_is_served_the_registered_reply_page(stack: tuple[httpx.AsyncClient, Downstream]) -> None:
    client, downstream = stack
    response = await client.get(routes.LINK_PREFIX + TOKEN)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    [served] = downstream.paths
    assert format_route(served) == format_route(routes.REPLY) and format_route(served) in app._unevaluated_pages
    # The script in the page's head hands the same path's token over.
    assert links.token_in_path(routes.LINK_PREFIX + TOKEN) == TOKEN


async def test_the_pages_reach_the_app_unchanged(stack: tuple[httpx.AsyncClient, Downstream]) -> None:
    client, downstream = stack
    pages = [route for route in routes.PAGES if "[" not in route]
    for route in pages:
        assert (await client.get(route)).status_code == 200
    assert downstream.paths == pages


async def test_the_upload_path_is_guarded(stack: tuple[httpx.AsyncClient, Downstream]) -> None:
    client, downstream = stack
    # Reflex's upload folder is closed; an upload without its headers never reaches the app.
    assert (await client.get(routes.UPLOAD + "/some/file.pdf")).status_code == 404
    assert (await client.post(routes.UPLOAD, content=b"x")).json() == {"code": "upload_malformed"}
    assert downstream.paths == []


async def test_the_metrics_path_is_answered_by_the_portal(stack: tuple[httpx.AsyncClient, Downstream]) -> None:
    client, downstream = stack
    response = await client.get(routes.METRICS)
    # Off (404) without a key, 401 without the right one: either way the portal's, never Reflex's.
    assert response.status_code in (401, 404) and response.json()["code"] in ("not_found", "unauthorized")
    assert downstream.paths == []
