"""What a browser fetches when a reply link is opened, until the request is on screen and the
network is quiet: each request's address, type and bytes on the wire (headers and encoded body).

Shared by the e2e test that holds the first load to its budget and by ``bench/lighthouse.py``.

    fetches = first_load(browser, link)
    total_bytes(fetches), [f.url for f in fetches]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# What the request page shows once its session holds the request (the German original, quoted).
REQUEST_TEXT = "blockquote.original"


@dataclass(frozen=True, slots=True)
class Fetch:
    url: str
    resource_type: str
    status: int
    transfer_bytes: int

    @property
    def path(self) -> str:
        """The address without scheme, host and query (a link's token is in its path)."""
        return urlsplit(self.url).path


def first_load(browser: Any, link: str, *, settle_ms: int = 1500) -> list[Fetch]:
    """Open ``link`` in a fresh phone-sized context (empty cache) and list what was fetched."""
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="de-DE")
    try:
        page = ctx.new_page()
        finished: list[Any] = []
        page.on("requestfinished", lambda request: finished.append(request))
        page.goto(link)
        page.locator(REQUEST_TEXT).wait_for()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(settle_ms)
        fetches = []
        for request in finished:
            sizes = request.sizes()
            response = request.response()
            fetches.append(
                Fetch(
                    url=request.url,
                    resource_type=request.resource_type,
                    status=response.status if response is not None else 0,
                    transfer_bytes=sizes["responseHeadersSize"] + sizes["responseBodySize"],
                )
            )
        return fetches
    finally:
        ctx.close()


def total_bytes(fetches: list[Fetch]) -> int:
    return sum(f.transfer_bytes for f in fetches)
