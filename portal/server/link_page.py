"""The first response to a reply link: the reply page with the request (or why not) in it.

The guard (``portal.server.guard``) counts the opening against the link limits, then asks this
module. It opens the link as the websocket hand-over does (``portal.links.open_link``, the same
errors), writes the request in the language the live page would pick (``portal.static_request``)
into the prerendered reply page, and keeps the outcome for that page's websocket under a one-time
nonce (``portal.protection.handover``), so the link is opened once per page load. The token is
never written into the HTML, a log or a header; the answer is ``no-store`` (``headers.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import Any

from portal import links, metrics, presenter
from portal import static_request as page
from portal.domain import draft, errors, i18n
from portal.domain.message import MessageView
from portal.protection.handover import Handovers
from portal.server.ratelimit import header, picked_language, scope_address

Scope = MutableMapping[str, Any]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
# What opening a link came to: its request, or the error that says why not.
Outcome = links.OpenedLink | errors.PortalError
OpenLink = Callable[[str], Awaitable[links.OpenedLink]]
# When a reply to the message already waits in this portal's outbox, if one does.
CommittedAt = Callable[[str], Awaitable[datetime | None]]

# Which HTTP status says what: the reply page and an answered link's page (it offers the receipt)
# are pages as any; a link that never was one is not found, one that ended is gone.
STATUS = {
    errors.LinkMalformed.code: 404,
    errors.LinkUnknown.code: 404,
    errors.LinkExpired.code: 410,
    errors.LinkRevoked.code: 410,
    errors.LinkAnswered.code: 200,
    errors.CaseServiceUnavailable.code: 503,
}
# Not kept for the websocket: a refusal for now says nothing about the link; the live page asks again.
TRANSIENT = (errors.CaseServiceUnavailable,)


@dataclass(frozen=True, slots=True)
class Template:
    """The prerendered reply page, cut where the server's parts go."""

    head_start: str  # up to and with <head>
    head_rest: str  # the rest of the head and <body>
    body_rest: str  # the live page and the app's scripts

    @classmethod
    def parse(cls, html: str) -> Template:
        head_at = html.index("<head>") + len("<head>")
        body_at = html.index("<body>", head_at) + len("<body>")
        return cls(html[:head_at], html[head_at:body_at], html[body_at:])


def reply_template(assets_dir: Callable[[], Path | None]) -> Callable[[], Template | None]:
    """The reply page of the build whose hashed files ``assets_dir`` names (asked on first use:
    the server knows where the build is only once it runs), read once."""
    cached: list[Template | None] = []

    def load() -> Template | None:
        if not cached:
            directory = assets_dir()
            try:
                html = (directory.parent / "reply" / "index.html").read_text() if directory is not None else None
                cached.append(Template.parse(html) if html else None)
            except (OSError, ValueError):
                cached.append(None)
        return cached[0]

    return load


class LinkPages:
    def __init__(
        self,
        template: Callable[[], Template | None],
        open_link: OpenLink,
        committed_at: CommittedAt,
        handovers: Handovers[Outcome],
        languages: Sequence[str],
        trusted_hops: int,
        today: Callable[[], date],
    ) -> None:
        self.template = template
        self.open_link = open_link
        self.committed_at = committed_at
        self.handovers = handovers
        self.languages = list(languages)
        self.trusted_hops = trusted_hops
        self.today = today

    async def answer(self, scope: Scope, token: str) -> Answer | None:
        """The page for ``token``'s link, or None when this process has no built reply page (a
        backend behind nginx, which serves the page itself): the request is then shown once the
        app has started, as before."""
        template = self.template()
        if template is None:
            return None
        outcome = await self._open(token)
        # Counted here, as the live page counts a hand-over; a hand-over that takes this outcome
        # under its nonce is not counted again.
        metrics.count_link_opening(metrics.OPENED if isinstance(outcome, links.OpenedLink) else outcome.code)
        nonce = ""
        if not isinstance(outcome, TRANSIENT):
            nonce = self.handovers.issue(token, scope_address(scope, self.trusted_hops), outcome)
        message = outcome.message if isinstance(outcome, links.OpenedLink) else None
        lang = i18n.pick_language(
            picked_language(scope),
            message.case.preferred_language if message is not None else None,
            header(scope, b"accept-language"),
            self.languages,
        )
        t = page.Words(lang)
        if message is not None:
            status, main = 200, self._overview(t, message)
        else:
            assert isinstance(outcome, errors.PortalError)
            status, main = self._refusal(t, outcome)
        html = (
            template.head_start
            + (f'<meta name="{links.NONCE_META}" content="{escape(nonce)}">' if nonce else "")
            + template.head_rest
            + page.page(t, self.languages, main)
            + template.body_rest
        )
        html = _with_language(html, lang)
        body = html.encode()
        headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        return status, headers, body if scope["method"] != "HEAD" else b""

    async def _open(self, token: str) -> Outcome:
        try:
            opened = await self.open_link(token)
        except (errors.LinkError, errors.CaseServiceUnavailable) as exc:
            return exc
        except errors.PortalError:
            return errors.PortalError()
        try:
            committed = await self.committed_at(opened.message.id)
        except Exception:
            committed = None  # the submit finds it and says so, as on the live page
        if committed is not None:
            return errors.LinkAnswered(answered_at=committed, message_id=opened.message.id)
        return opened

    def _overview(self, t: page.Words, message: MessageView) -> str:
        display = presenter.message_display(message, t.lang, self.today())
        items = presenter.items_display(message, draft.empty_draft(message), {}, [], t.lang)
        return page.request_overview(t, display, items)

    @staticmethod
    def _refusal(t: page.Words, exc: errors.PortalError) -> tuple[int, str]:
        code = exc.code if exc.code in STATUS else "internal"
        when = presenter.format_when(exc.answered_at, t.lang) if isinstance(exc, errors.LinkAnswered) else ""
        return STATUS.get(code, 500), page.notice(t, code, page.answered_when(t, when))


def _with_language(html: str, lang: str) -> str:
    """``<html lang dir>`` as the live page sets them once it runs."""
    start = html.index("<html")
    end = html.index(">", start)
    return html[:start] + f'<html lang="{i18n.html_lang(lang)}" dir="{i18n.text_direction(lang)}"' + html[end:]
