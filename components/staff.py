"""The staff area's pieces: sign-in, the message list, the preview frame.

Presentational only: each takes the vars and event handlers it shows (``portal.pages.staff``
passes them); nothing here knows a state."""

from __future__ import annotations

from typing import TYPE_CHECKING

import reflex as rx
from reflex.event import EventHandler
from reflex.vars import ArrayVar, ObjectVar, StringVar, Var

from components.request import fact, item_facts, request_overview
from components.vars import Texts
from portal import routes

if TYPE_CHECKING:
    from portal.presenter import ItemDisplay, MessageDisplay
    from portal.staff.presenter import StaffRow


def _error(t: Texts, key: StringVar, element_id: str, detail: StringVar | None = None) -> rx.Component:
    return rx.cond(
        key != "",
        rx.el.div(
            rx.el.p(t[key]),
            # A filled sentence from the server (how long to wait), when there is one.
            rx.cond(detail != "", rx.el.p(detail)) if detail is not None else rx.fragment(),
            id=element_id,
            role="alert",
            tab_index=-1,
            class_name="error-summary",
        ),
    )


def _field(label: Var[str], name: str, kind: str, auto_complete: str, max_length: int) -> rx.Component:
    return rx.el.div(
        rx.el.label(label, html_for=name),
        rx.el.input(id=name, name=name, type=kind, auto_complete=auto_complete, max_length=max_length, required=True),
        class_name="field",
    )


def sign_in_form(
    t: Texts,
    error_key: StringVar,
    on_submit: EventHandler,
    header_mode: Var[bool],
    signed_out: Var[bool],
    on_sso: EventHandler,
    wait: StringVar | None = None,
) -> rx.Component:
    return rx.el.section(
        rx.el.h1(t["staff.sign_in_title"], id="step-heading", tab_index=-1),
        _error(t, error_key, "sign-in-error", wait),
        rx.cond(signed_out, rx.el.p(t["staff.signed_out"], role="status", id="signed-out")),
        rx.cond(
            header_mode,
            rx.cond(
                signed_out,
                rx.el.button(
                    t["staff.sign_in_again"],
                    type="button",
                    class_name="button-primary",
                    id="sign-in-again",
                    on_click=on_sso,
                ),
                rx.el.p(t["staff.sign_in_sso"]),
            ),
            rx.el.form(
                _field(t["staff.username"], "username", "text", "username", 120),
                _field(t["staff.password"], "password", "password", "current-password", 1024),
                rx.el.button(t["staff.sign_in"], type="submit", class_name="button-primary", id="sign-in-button"),
                on_submit=on_submit,
                reset_on_submit=True,
                class_name="staff-form",
            ),
        ),
        class_name="card",
    )


def staff_bar(t: Texts, name: StringVar, on_sign_out: EventHandler, on_check: EventHandler) -> rx.Component:
    """`on_check` is pressed by the page's timer (never by hand) to end an expired session."""
    return rx.el.div(
        rx.el.button(id="staff-session-check", type="button", hidden=True, tab_index=-1, on_click=on_check),
        rx.el.p(t["staff.signed_in_as"], " ", rx.el.strong(rx.el.bdi(name))),
        rx.el.nav(
            rx.el.a(t["staff.list_link"], href=routes.STAFF_HOME),
            rx.el.button(
                t["staff.sign_out"], type="button", class_name="button-secondary", id="sign-out", on_click=on_sign_out
            ),
            aria_label=t["staff.nav_label"],
            class_name="staff-nav",
        ),
        class_name="staff-bar",
    )


def message_list(t: Texts, rows: ArrayVar[list[StaffRow]]) -> rx.Component:
    return rx.el.ul(
        rx.foreach(
            rows,
            lambda r: rx.el.li(
                rx.el.h2(rx.el.a(rx.el.bdi(r.subject), href=routes.STAFF_MESSAGE_PREFIX + r.id, lang="de")),
                rx.el.p(rx.el.span(r.status_text, class_name="status-" + r.status), class_name="status"),
                rx.cond(r.more_time != "", rx.el.p(r.more_time, class_name="status more-time")),
                rx.el.dl(
                    fact(t["staff.reference"], r.reference),
                    fact(t["staff.message_id"], r.id),
                    fact(t["staff.applicant"], r.applicant),
                    fact(t["staff.language"], r.language),
                    fact(t["staff.kind"], r.kind),
                    fact(t["staff.sent"], r.sent),
                    fact(t["staff.deadline"], r.deadline + rx.cond(r.days_left != "", " — " + r.days_left, "")),
                    fact(t["staff.last_opened"], r.last_opened),
                    class_name="facts",
                ),
                class_name="card message-row",
            ),
        ),
        class_name="message-list",
        aria_label=t["staff.list_label"],
    )


def search_form(
    t: Texts, query: StringVar, on_submit: EventHandler, on_clear: EventHandler, searched: Var[bool]
) -> rx.Component:
    return rx.el.form(
        rx.el.label(t["staff.search_label"], html_for="query"),
        rx.el.p(t["staff.search_hint"], id="query-hint", class_name="hint"),
        rx.el.div(
            rx.el.input(
                id="query",
                name="query",
                type="search",
                default_value=query,
                max_length=64,
                aria_describedby="query-hint",
                key=query,
            ),
            rx.el.button(t["staff.search"], type="submit", class_name="button-primary", id="search-button"),
            rx.cond(
                searched,
                rx.el.button(t["staff.show_all"], type="button", class_name="button-secondary", on_click=on_clear),
            ),
            class_name="search-row",
        ),
        on_submit=on_submit,
        role="search",
        class_name="staff-form",
    )


def preview_banner(t: Texts) -> rx.Component:
    return rx.el.div(
        rx.el.p(rx.el.strong(t["staff.preview_banner_title"])),
        rx.el.p(t["staff.preview_banner_body"]),
        class_name="preview-banner",
        role="note",
        id="preview-banner",
    )


def item_preview(t: Texts, item: ObjectVar[ItemDisplay]) -> rx.Component:
    """A requested item's screen as the applicant sees it, every control disabled."""
    return rx.el.section(
        rx.el.h2(item.title),
        item_facts(t, item),
        rx.el.p(item.guidance, class_name="prewrap"),
        rx.cond(
            item.uploadable,
            rx.el.button(t["upload.add"], type="button", class_name="button-secondary", disabled=True),
        ),
        rx.el.label(
            rx.el.input(type="checkbox", disabled=True),
            " ",
            t["item.not_available"],
            class_name="check",
        ),
        class_name="card item-preview",
    )


def applicant_column(
    t: Texts,
    msg: ObjectVar[MessageDisplay],
    items: ArrayVar[list[ItemDisplay]],
    lang: StringVar | str,
    direction: StringVar | str,
    label: Var[str],
) -> rx.Component:
    # The label is the staff member's words; the column below is the applicant's page.
    return rx.el.section(
        rx.el.h2(label, class_name="column-label"),
        rx.el.div(
            request_overview(t, msg, items, None, heading_id=None),
            rx.foreach(items, lambda item: item_preview(t, item)),
            lang=lang,
            dir=direction,
        ),
        class_name="preview-column",
    )
