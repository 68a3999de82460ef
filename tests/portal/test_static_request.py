"""The request page as plain HTML (the first response to a reply link): the presenter's words and
values, escaped, in the live page's frame, landmarks and headings."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from portal import presenter
from portal import static_request as page
from portal.domain import draft, i18n
from tests.support import messages

TODAY = messages.T0.date()
KINDS = ["question", "appointment", "intent_to_refuse", "status", "not_responsible"]


class Outline(HTMLParser):
    """The elements, text and landmarks of a piece of HTML; fails on unbalanced tags."""

    VOID = {"meta", "link", "br", "img", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.tags: list[str] = []
        self.headings: list[tuple[str, str]] = []
        self.text: list[str] = []
        self._heading: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.open.append(tag)
        if tag in ("h1", "h2", "h3"):
            self._heading = ""

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag
        if tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append((tag, self._heading))
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading is not None:
            self._heading += data


def _render(kind: str, lang: str, **options: object) -> tuple[str, presenter.MessageDisplay]:
    msg = messages.message_view(kind, **options)
    display = presenter.message_display(msg, lang, TODAY)
    items = presenter.items_display(msg, draft.empty_draft(msg), {}, [], lang)
    t = page.Words(lang)
    return page.page(t, i18n.available_languages(), page.request_overview(t, display, items)), display


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", ["de", "ar"])
def test_the_overview_says_what_the_presenter_says(kind: str, lang: str) -> None:
    html, display = _render(kind, lang)
    outline = Outline()
    outline.feed(html)
    assert outline.open == []
    text = "".join(outline.text)
    assert [t for t in outline.tags if t in ("header", "main", "footer")] == ["header", "main", "footer"]
    assert outline.headings[0] == ("h1", display.subject)
    assert i18n.translate(lang, "request.contact") in [h for _, h in outline.headings]
    for value in (display.kind_label, display.authority_name, display.deadline, display.days_left, display.body):
        assert value in text
    assert display.contact_person in text and display.phone in text
    assert f'<rk-static id="ssr-page" class="page" dir="{i18n.text_direction(lang)}">' in html
    assert 'lang="de" dir="auto"' in html  # the German original is marked as such


def test_the_requested_items_are_listed_with_their_status() -> None:
    html, _ = _render("question", "ar")
    msg = messages.message_view("question")
    for item in presenter.items_display(msg, draft.empty_draft(msg), {}, [], "ar"):
        assert page.text(item.title) in html
        assert page.text(item.status) in html


def test_values_are_escaped() -> None:
    html, _ = _render("question", "de", subject='<script>alert("x")</script> & "so"')
    assert "<script>" not in html
    assert '&lt;script&gt;alert("x")&lt;/script&gt; &amp; "so"' in html
    assert page.el("a", "x", href='"><b') == '<a href="&quot;&gt;&lt;b">x</a>'


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_without_scripts_the_page_says_how_to_answer_otherwise(lang: str) -> None:
    html, display = _render("question", lang)
    sentence = page.text(i18n.translate(lang, "static.needs_script", contact=i18n.isolate(display.contact_person)))
    assert "<noscript>" in html
    assert html.count(sentence) == 2  # in <noscript>, and for scripts that fail to start


def test_nothing_to_answer_has_no_note_on_scripts() -> None:
    html, _ = _render("status", "de")
    assert "<noscript>" not in html
    assert page.text(i18n.translate("de", "overview.nothing_to_answer")) in html


def test_a_refused_link_gets_the_live_pages_words() -> None:
    t = page.Words("de")
    html = page.notice(t, "link_expired")
    assert page.text(i18n.translate("de", "link.link_expired_title")) in html
    assert page.text(i18n.translate("de", "link.link_expired_body")) in html
