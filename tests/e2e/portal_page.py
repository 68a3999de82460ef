"""Driving the portal's pages as a person does, and waiting on what matters instead of sleeping.

- :func:`button`, :func:`field`, :func:`heading`, :func:`uploaded`, ... find what a person sees, by
  role and label, in the page's language;
- :func:`next_step` presses a step button and waits until the next step is on screen;
- the text fields send what was typed after a short pause (``on_change.debounce``): :func:`fill`
  and :func:`sends` wait until the app's websocket has carried the text to the portal, so a click
  that follows never overtakes it. The socket is known for pages of a context passed to
  :func:`follow_sockets` before its pages open (the fixtures' contexts are).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import BrowserContext, Locator, Page, WebSocket, expect

from portal.domain import i18n

_SOCKETS: dict[Page, WebSocket] = {}
_LANGUAGE_LABELS = re.compile(
    "^(?:" + "|".join(re.escape(i18n.translate(lang, "language.label")) for lang in i18n.available_languages()) + ")$"
)


def button(page: Page | Locator, key: str, lang: str = "de") -> Locator:
    return page.get_by_role("button", name=i18n.translate(lang, key), exact=True)


def field(page: Page | Locator, key: str, lang: str = "de") -> Locator:
    return page.get_by_label(i18n.translate(lang, key), exact=True)


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def live(page: Page) -> None:
    """Wait until the live page has taken over from the server's copy of a link's first answer
    (``#ssr-page``): acting while the app re-renders the page in its place can lose a click."""
    expect(page.locator("#ssr-page")).to_have_count(0)


def language_select(page: Page) -> Locator:
    """The language switcher, labelled in whatever language the page is in (the live page's)."""
    live(page)
    return page.get_by_label(_LANGUAGE_LABELS)


def footer_link(page: Page, name: str, lang: str = "de") -> Locator:
    footer = page.get_by_role("navigation", name=i18n.translate(lang, "app.footer_links"))
    return footer.get_by_role("link", name=i18n.translate(lang, f"nav_pages.{name}"), exact=True)


def next_step(page: Page, press: Locator | None = None, *, lang: str = "de") -> None:
    """Press a step button ("Weiter" unless given) and wait until the new step is on screen and
    focus has moved to its heading (never act on the old one, nor click while the page scrolls to
    the top: a click aimed before that scroll lands beside its button)."""
    live(page)
    step = page.locator("#step-heading")
    before = step.text_content() or ""
    (press if press is not None else button(page, "nav.next", lang)).click()
    expect(step).not_to_have_text(before)
    expect(step).to_be_focused()


def uploaded(page: Page, lang: str = "de") -> Locator:
    """The rows of the file lists on screen (each list is named "Hochgeladene Dateien")."""
    return page.get_by_role("list", name=i18n.translate(lang, "upload.list_label")).get_by_role("listitem")


def upload_button(page: Page, key: str = "upload.add", lang: str = "de") -> Locator:
    """The button that opens the picker (its file input, labelled by it, has the same name)."""
    return button(page, key, lang).and_(page.locator("button"))


def choose_files(page: Page, *paths: Path, key: str = "upload.add", lang: str = "de") -> None:
    """What the picker behind the upload button does: the files go into its input, which is
    labelled by the button (named ``key``)."""
    field(page, key, lang).set_input_files([str(path) for path in paths])


# ------------------------------------------------------------------ the app's websocket


def follow_sockets(context: BrowserContext) -> BrowserContext:
    """Record the app's websocket of every page ``context`` opens from now on."""
    context.on("page", _follow)
    return context


def _follow(page: Page) -> None:
    def opened(socket: WebSocket) -> None:
        if "/_event" in socket.url:
            _SOCKETS[page] = socket

    page.on("websocket", opened)
    page.on("close", lambda closed: _SOCKETS.pop(closed, None))


def latest_socket(page: Page) -> WebSocket | None:
    """The page's app socket opened last, closed or not (None before the first)."""
    return _SOCKETS.get(page)


def socket_of(page: Page) -> WebSocket:
    """The page's app socket, the one opened last (a page that navigates away reports no close)."""
    socket = _SOCKETS.get(page)
    assert socket is not None and not socket.is_closed(), "no open app socket: open the page in a followed context"
    return socket


@contextmanager
def sends(page: Page, text: str) -> Iterator[None]:
    """Wait, after the block, until the page has sent ``text`` to the portal (as a JSON string)."""
    encoded = json.dumps(text, ensure_ascii=False)[1:-1]

    def carries(payload: str | bytes) -> bool:
        return isinstance(payload, str) and encoded in payload

    with socket_of(page).expect_event("framesent", predicate=carries):
        yield


def fill(target: Locator, text: str) -> None:
    """Fill a text field and wait until the portal has been sent the text."""
    with sends(target.page, text):
        target.fill(text)
