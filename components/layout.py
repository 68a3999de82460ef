"""The page shell: skip link, header with the language switcher, main landmark, footer."""

from __future__ import annotations

import reflex as rx
from reflex.event import EventHandler
from reflex.vars import ArrayVar, StringVar, Var
from reflex_components_core.core.banner import has_too_many_connection_errors

from components.vars import Texts
from portal import routes


def language_switcher(
    t: Texts, languages: ArrayVar[list[dict[str, str]]], lang: StringVar, on_change: EventHandler
) -> rx.Component:
    return rx.el.div(
        rx.el.label(t["language.label"], html_for="language-select", class_name="lang-label"),
        rx.el.select(
            rx.foreach(
                languages,
                lambda o: rx.el.option(o["name"], value=o["code"], lang=o["code"]),
            ),
            id="language-select",
            value=lang,
            on_change=on_change,
            class_name="lang-select",
        ),
        class_name="lang-switch",
    )


def connection_notice(t: Texts) -> rx.Component:
    """Our own notice when the connection to the server drops (phones lose signal).

    Replaces Reflex's default toaster and pulser (their contrast fails axe, and the toaster costs
    bundle bytes); says that nothing entered is lost and that it reconnects by itself.
    """
    return rx.cond(
        has_too_many_connection_errors,
        rx.el.div(
            rx.el.strong(t["connection.lost_title"]),
            " ",
            t["connection.lost_body"],
            role="alert",
            class_name="connection-notice",
        ),
    )


def session_warning(t: Texts, on_extend: EventHandler) -> rx.Component:
    """Hidden until shortly before the session would end (shown by the session timer script)."""
    return rx.el.div(
        rx.el.h2(t["session.warning_title"], id="session-warning-title"),
        rx.el.p(t["session.warning_body"], id="session-warning-body"),
        rx.el.button(
            t["session.extend"], type="button", class_name="button-primary", id="session-extend", on_click=on_extend
        ),
        id="session-warning",
        role="alertdialog",
        aria_labelledby="session-warning-title",
        aria_describedby="session-warning-body",
        aria_live="assertive",
        hidden=True,
        class_name="session-warning",
    )


def page_shell(
    t: Texts,
    languages: ArrayVar[list[dict[str, str]]],
    lang: StringVar,
    on_change_language: EventHandler,
    *children: rx.Component,
    direction: StringVar | str = "ltr",
    on_extend: EventHandler | None = None,
    phase: StringVar | None = None,
) -> rx.Component:
    """The page frame. `direction` is also set here (not only on <html>, by script) so a change of
    language lays the page out anew in one step rather than two (layout shift, #5). `phase` (the
    reply page's) tells the stylesheet when the live page holds the request, so the server's copy
    of a link's page gives way to it (portal/static_request.py)."""
    return rx.el.div(
        rx.el.header(
            # Inside the banner landmark, so no content stands outside a landmark (axe "region").
            rx.el.a(t["app.skip"], href="#main", class_name="skip-link"),
            rx.el.div(
                rx.el.p(t["app.title"], class_name="brand"),
                language_switcher(t, languages, lang, on_change_language),
                class_name="header-inner",
            ),
            class_name="site-header",
            # New nodes when the language (and maybe the direction) changes, instead of the same
            # nodes moving to the other side: no layout shift when the case's language arrives.
            key=lang,
        ),
        rx.el.main(
            connection_notice(t),
            session_warning(t, on_extend) if on_extend is not None else rx.fragment(),
            *children,
            id="main",
            tab_index=-1,
            class_name="site-main",
        ),
        rx.el.footer(
            rx.el.p(t["app.footer"]),
            rx.el.nav(
                rx.el.ul(
                    *[rx.el.li(rx.el.a(t[f"nav_pages.{name}"], href=routes.info(name))) for name in routes.INFO_PAGES],
                    class_name="footer-links",
                ),
                aria_label=t["app.footer_links"],
            ),
            class_name="site-footer",
        ),
        class_name="page",
        dir=direction,
        custom_attrs={"data-phase": phase} if phase is not None else {},
    )


def notice(title: Var[str], body: Var[str], *actions: rx.Component, tone: str = "info") -> rx.Component:
    """A page-level message (link refused, case service down, nothing open)."""
    return rx.el.section(
        rx.el.h1(title, id="step-heading", tab_index=-1),
        rx.el.p(body, class_name="prewrap"),
        *actions,
        class_name=f"notice notice-{tone}",
        role="status" if tone == "info" else None,
    )
