"""Pages around the form: help, accessibility statement, privacy notice, imprint."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from components.layout import page_shell
from portal import routes
from portal.state.reply import ReplyState as S


def info_page(name: str) -> Callable[[], rx.Component]:
    def page() -> rx.Component:
        return page_shell(
            S.t,
            S.languages,
            S.lang,
            S.switch_language,
            rx.el.article(
                rx.el.h1(S.t[f"pages.{name}.title"], id="step-heading", tab_index=-1),
                rx.el.p(S.t[f"pages.{name}.body"], class_name="prewrap"),
                rx.cond(
                    S.phase == "ready",
                    rx.el.p(rx.el.a(S.t["nav_pages.back_to_request"], href=routes.REPLY)),
                ),
                class_name="info-page",
            ),
            direction=S.dir,
            on_extend=S.keep_alive,
        )

    page.__name__ = f"{name}_page"
    return page
