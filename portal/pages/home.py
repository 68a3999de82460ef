"""The start page: what this portal is, for someone who arrives without a link."""

from __future__ import annotations

import reflex as rx

from components.layout import notice, page_shell
from portal.state.language import LanguageState as L


def home_page() -> rx.Component:
    return page_shell(
        L.t,
        L.languages,
        L.lang,
        L.change_language,
        notice(L.t["home.title"], L.t["home.body"]),
        direction=L.dir,
    )
