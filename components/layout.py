"""The page shell: skip link, header with the language switcher, main landmark, footer."""

from __future__ import annotations

import reflex as rx
from reflex.vars import Var


def language_switcher(t: Var, languages: Var, lang: Var, on_change) -> rx.Component:  # noqa: ANN001
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


def page_shell(t: Var, languages: Var, lang: Var, on_change_language, *children: rx.Component) -> rx.Component:  # noqa: ANN001
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
        ),
        rx.el.main(*children, id="main", tab_index=-1, class_name="site-main"),
        rx.el.footer(
            rx.el.p(t["app.footer"]),
            rx.el.nav(
                rx.el.ul(
                    *[
                        rx.el.li(rx.el.a(t[f"nav_pages.{name}"], href=f"/{name}"))
                        for name in ("help", "accessibility", "privacy", "imprint")
                    ],
                    class_name="footer-links",
                ),
                aria_label=t["app.footer_links"],
            ),
            class_name="site-footer",
        ),
        class_name="page",
    )


def notice(title: Var, body: Var, *actions: rx.Component, tone: str = "info") -> rx.Component:
    """A page-level message (link refused, case service down, nothing open)."""
    return rx.el.section(
        rx.el.h1(title, id="step-heading", tab_index=-1),
        rx.el.p(body, class_name="prewrap"),
        *actions,
        class_name=f"notice notice-{tone}",
        role="status" if tone == "info" else None,
    )
