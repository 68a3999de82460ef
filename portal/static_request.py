"""The request page as plain HTML, for the first response to a reply link.

The reply link's response carries the request itself (``portal.server.link_page``): the
applicant reads it at first paint, and also when the scripts never load. This module writes that
HTML from the same display objects the live page shows (``portal.presenter``), with the same
classes, landmarks and headings as ``components/request.py`` and ``components/layout.py``, so the
two look alike and say the same; a test compares them for every message kind. Every value is
escaped here (``html.escape``), attributes quoted. No ids of the live page are used: both copies
are in the document until the live one takes over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from portal import links, routes
from portal.domain import i18n
from portal.presenter import ItemDisplay, MessageDisplay

# The server's copy: hidden by the stylesheet once the live page shows the request (or says why
# not), and taken out of the document then (portal.links.HANDOFF).
STATIC_ID = links.STATIC_PAGE_ID
STATIC_MAIN_ID = "ssr-main"
STATIC_TAG = "rk-static"

Html = str


def el(tag: str, *children: Html, **attrs: str | None) -> Html:
    """An element; ``children`` are HTML already (use :func:`text` for text), attributes are
    escaped (a trailing underscore is dropped: ``class_``; other underscores become dashes)."""
    rendered = "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(value, quote=True)}"'
        for name, value in attrs.items()
        if value is not None
    )
    return f"<{tag}{rendered}>{''.join(children)}</{tag}>"


def text(value: str) -> Html:
    return escape(value, quote=False)


def bdi(value: str, **attrs: str | None) -> Html:
    return el("bdi", text(value), **attrs)


class Words:
    """The page's texts in one language, as the live page reads them (``t[...]``)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **params: object) -> Html:
        return text(i18n.translate(self.lang, key, **params))


def _fact(label: Html, value: str) -> Html:
    return el("dt", label) + el("dd", bdi(value)) if value else ""


def _facts_card(heading: Html, *facts: tuple[Html, str], class_: str = "facts") -> Html:
    """A card with a heading and its label/value list (a fact without a value is left out)."""
    return el("section", el("h2", heading), el("dl", *(_fact(k, v) for k, v in facts), class_=class_), class_="card")


def request_summary(t: Words, msg: MessageDisplay) -> Html:
    parts = [
        el("p", text(msg.kind_label), class_="kind-label"),
        el("h1", text(msg.subject), lang="de", dir="auto", tabindex="-1"),
        el("p", t("request.from"), " ", el("strong", bdi(msg.authority_name)), class_="lead"),
    ]
    if msg.deadline:
        parts.append(
            el(
                "p",
                el("strong", t("request.deadline")),
                " ",
                bdi(msg.deadline),
                " — ",
                text(msg.days_left),
                class_="deadline",
            )
        )
    parts.append(
        _facts_card(
            t("request.application"),
            (t("request.service"), msg.service_name),
            (t("request.reference"), msg.reference),
            (t("request.submitted_on"), msg.submitted_on),
            (t("request.applicant"), msg.applicant_name),
        )
    )
    parts.append(
        el(
            "section",
            el("h2", t("request.message")),
            el("p", t("request.original_words"), class_="hint"),
            el("blockquote", text(msg.body), lang="de", dir="auto", class_="prewrap original"),
            el("p", t("request.sent"), " ", bdi(msg.sent), class_="hint"),
            _glossary(t, msg),
            class_="card",
        )
    )
    if msg.appointment_when:
        parts.append(
            _facts_card(
                t("appointment.heading"),
                (t("appointment.when_label"), msg.appointment_when),
                (t("appointment.place"), msg.appointment_place),
                (t("appointment.bring"), msg.appointment_bring),
            )
        )
    if msg.responsible_name:
        website = (
            el("p", el("a", t("links.responsible_website"), href=msg.responsible_website))
            if msg.responsible_website
            else ""
        )
        parts.append(
            el(
                "section",
                el("h2", t("not_responsible.heading")),
                el("p", t("not_responsible.explain")),
                el("p", el("strong", bdi(msg.responsible_name))),
                el("p", text(msg.responsible_contact), class_="prewrap"),
                website,
                class_="card",
            )
        )
    return el("div", *parts)


def _glossary(t: Words, msg: MessageDisplay) -> Html:
    if not msg.glossary:
        return ""
    entries = "".join(
        el("dt", el("span", text(g.german), lang="de"), el("span", " — ", bdi(g.term)) if g.term else "")
        + el("dd", text(g.explanation))
        for g in msg.glossary
    )
    return el(
        "details",
        el("summary", t("glossary_ui.heading")),
        el("p", t("glossary_ui.intro"), class_="hint"),
        el("dl", entries, class_="glossary"),
        class_="guidance",
    )


def needs_script(t: Words, msg: MessageDisplay) -> Html:
    """Where the live page has its "Reply now" button: that answering needs a current browser
    with JavaScript, and whom to reach otherwise. Shown at once without scripts (``noscript``);
    with scripts that fail to load, after a while (the stylesheet reveals it; the space is kept
    from the start, so nothing moves)."""
    contact = msg.contact_person or msg.authority_name
    sentence = el("p", t("static.needs_script", contact=i18n.isolate(contact)), class_="static-needs-script-text")
    return el("noscript", el("div", sentence, class_="static-needs-script static-noscript")) + el(
        "div", sentence, class_="static-needs-script static-late"
    )


def request_overview(t: Words, msg: MessageDisplay, items: Sequence[ItemDisplay]) -> Html:
    parts = [request_summary(t, msg)]
    if msg.answerable:
        start = []
        if items:
            start.append(
                el(
                    "section",
                    el("h2", t("overview.items_heading")),
                    el(
                        "ul",
                        *(
                            el("li", el("strong", text(i.title)), " (", text(i.badge), ") — ", text(i.status))
                            for i in items
                        ),
                        class_="checklist",
                    ),
                    class_="card",
                )
            )
        start.append(needs_script(t, msg))
        if msg.can_ask_more_time:
            start.append(
                el(
                    "section",
                    el("h2", t("extension.overview_heading")),
                    el("p", t("extension.overview_hint")),
                    el("h3", t("extension.consequence_heading")),
                    el("p", text(msg.deadline_consequence)),
                    class_="card more-time",
                )
            )
        parts.append(el("div", *start, class_="start"))
    else:
        parts.append(el("p", t("overview.nothing_to_answer"), class_="card"))
    parts.append(request_background(t, msg))
    return el("div", *parts)


def request_background(t: Words, msg: MessageDisplay) -> Html:
    parts = [contact_card(t, msg)]
    if msg.submitted_documents:
        docs = (
            el("li", bdi(d.title, lang="de"), f" ({bdi(d.submitted_on)})" if d.submitted_on else "")
            for d in msg.submitted_documents
        )
        parts.append(el("section", el("h2", t("request.submitted_documents")), el("ul", *docs), class_="card"))
    if msg.history:
        rows = (
            el(
                "li",
                bdi(h.sent),
                ": ",
                bdi(h.subject, lang="de"),
                el("span", " — ", t("request.history_answered"), " ", bdi(h.answered)) if h.answered else "",
            )
            for h in msg.history
        )
        parts.append(el("section", el("h2", t("request.history")), el("ul", *rows), class_="card"))
    return "".join(parts)


def contact_card(t: Words, msg: MessageDisplay) -> Html:
    return _facts_card(
        t("request.contact"),
        (t("request.authority"), msg.authority_name),
        (t("request.contact_person"), msg.contact_person),
        (t("request.phone"), msg.phone),
        (t("request.email"), msg.email),
        (t("request.opening_hours"), msg.opening_hours),
        (t("request.address"), msg.authority_address),
        class_="facts prewrap",
    )


def notice(t: Words, code: str, *extra: Html) -> Html:
    """A link's page that says why it does not open (the live page's error notice)."""
    return el(
        "section",
        el("h1", t(f"link.{code}_title"), tabindex="-1"),
        el("p", t(f"link.{code}_body"), class_="prewrap"),
        *extra,
        class_="notice notice-error",
    )


def answered_when(t: Words, when: str) -> Html:
    return el("p", t("link.answered_when"), " ", bdi(when)) if when else ""


def page(t: Words, languages: Iterable[str], main: Html) -> Html:
    """The page frame of ``components/layout.py``: header, main, footer."""
    options = "".join(
        el(
            "option",
            text(i18n.translate(code, "language.name")),
            value=code,
            lang=i18n.html_lang(code),
            selected="" if code == t.lang else None,
        )
        for code in languages
    )
    # The switcher needs the app: its place is kept (nothing moves when the app takes over), but
    # nothing of it is shown or offered until then.
    switch = el(
        "div",
        el("span", t("language.label"), class_="lang-label"),
        el("select", options, class_="lang-select", disabled="", tabindex="-1"),
        class_="lang-switch static-placeholder",
        aria_hidden="true",
    )
    footer_links = "".join(
        el("li", el("a", t(f"nav_pages.{name}"), href=routes.info(name))) for name in routes.INFO_PAGES
    )
    # Not a <div>: React hydrates the live page's <div class="page"> and passes over an element
    # of another name in <body>, so the server's copy is left in place until the live one is ready.
    return el(
        STATIC_TAG,
        el(
            "header",
            el("a", t("app.skip"), href=f"#{STATIC_MAIN_ID}", class_="skip-link"),
            el("div", el("p", t("app.title"), class_="brand"), switch, class_="header-inner"),
            class_="site-header",
        ),
        el("main", main, id=STATIC_MAIN_ID, tabindex="-1", class_="site-main"),
        el(
            "footer",
            el("p", t("app.footer")),
            el(
                "nav",
                el("ul", footer_links, class_="footer-links"),
                aria_label=i18n.translate(t.lang, "app.footer_links"),
            ),
            class_="site-footer",
        ),
        id=STATIC_ID,
        class_="page",
        dir=i18n.text_direction(t.lang),
    )
