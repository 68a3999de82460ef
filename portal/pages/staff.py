"""The staff area's pages: /staff/sign-in, /staff (list and search), /staff/message/<id> (preview).

Layout only: the states are ``portal.state.staff`` (sign-in, list) and ``portal.state.staff_preview``,
both on the session of ``portal.state.staff_session``; the pieces are ``components.staff``.

Nothing but the sign-in form renders without a session: the pages show their content only
while ``signed_in`` is true, and their on-load events send anyone else to the sign-in page.
"""

from __future__ import annotations

import reflex as rx

from components.forms import live_region
from components.layout import notice, page_shell
from components.staff import (
    applicant_column,
    message_list,
    preview_banner,
    search_form,
    sign_in_form,
    staff_bar,
)
from components.vars import Texts
from portal.state.language import LanguageState
from portal.state.staff import StaffState as S
from portal.state.staff_preview import MAX_REVOKE_REASON_CHARS
from portal.state.staff_preview import PreviewState as P


def _shell(state: type[S] | type[P], *children: rx.Component) -> rx.Component:
    return page_shell(state.t, state.languages, state.lang, state.switch_language, *children, direction=state.dir)


def _checking(state: type[LanguageState]) -> rx.Component:
    return notice(state.t["staff.checking_title"], state.t["staff.checking_body"])


def sign_in_page() -> rx.Component:
    return _shell(
        S, sign_in_form(S.t, S.sign_in_error, S.sign_in, S.header_mode, S.signed_out, S.sign_in_again, S.sign_in_wait)
    )


def list_page() -> rx.Component:
    return _shell(
        S,
        rx.cond(
            S.signed_in,
            rx.el.div(
                staff_bar(S.t, S.staff_name, S.sign_out, S.check_session),
                rx.el.h1(S.t["staff.list_title"], id="step-heading", tab_index=-1),
                search_form(S.t, S.query, S.search, S.clear_search, S.searched),
                rx.cond(
                    S.list_error != "",
                    rx.el.p(S.t[S.list_error], role="alert", class_name="error-summary"),
                    rx.cond(
                        S.rows.length() > 0,
                        message_list(S.t, S.rows),
                        rx.el.p(
                            rx.cond(S.searched, S.t["staff.nothing_found"], S.t["staff.no_messages"]),
                            role="status",
                        ),
                    ),
                ),
            ),
            _checking(S),
        ),
    )


def _status(t: Texts) -> rx.Component:
    return rx.el.section(
        rx.el.h2(t["staff.status_heading"], id="status-heading", tab_index=-1),
        rx.el.dl(
            rx.el.dt(t["staff.state_label"]),
            rx.el.dd(rx.el.span(P.row.status_text, class_name="status-" + P.row.status), id="preview-status"),
            rx.el.dt(t["staff.reference"]),
            rx.el.dd(rx.el.bdi(P.row.reference)),
            rx.el.dt(t["staff.deadline"]),
            rx.el.dd(rx.el.bdi(P.row.deadline), rx.cond(P.row.days_left != "", " — " + P.row.days_left, "")),
            rx.el.dt(t["staff.last_opened"]),
            rx.el.dd(rx.el.bdi(P.row.last_opened), id="last-opened"),
            class_name="facts",
        ),
        rx.cond(P.can_revoke, _revoke(t)),
        class_name="card",
    )


def _revoke(t: Texts) -> rx.Component:
    return rx.cond(
        P.revoke_open,
        rx.el.form(
            rx.el.h3(t["staff.revoke_confirm_title"]),
            rx.el.p(t["staff.revoke_confirm_body"], id="revoke-explain"),
            rx.cond(
                P.revoke_error != "",
                rx.el.p(t[P.revoke_error], role="alert", class_name="field-error", id="revoke-error"),
            ),
            rx.el.label(t["staff.revoke_reason"], html_for="revoke-reason"),
            rx.el.textarea(
                id="revoke-reason",
                name="reason",
                rows=3,
                max_length=MAX_REVOKE_REASON_CHARS,
                required=True,
                aria_describedby="revoke-explain",
            ),
            rx.el.div(
                rx.el.button(t["staff.revoke_now"], type="submit", class_name="button-danger", id="revoke-confirm"),
                rx.el.button(t["staff.cancel"], type="button", class_name="button-secondary", on_click=P.cancel_revoke),
                class_name="nav-buttons",
            ),
            on_submit=P.revoke,
            class_name="revoke-form",
        ),
        rx.el.button(
            t["staff.revoke"], type="button", class_name="button-danger", id="revoke-button", on_click=P.ask_revoke
        ),
    )


def _language_choice(t: Texts) -> rx.Component:
    return rx.el.div(
        rx.el.label(t["staff.preview_language"], html_for="preview-language"),
        rx.el.select(
            rx.foreach(P.languages, lambda o: rx.el.option(o["name"], value=o["code"], lang=o["code"])),
            id="preview-language",
            value=P.view_lang,
            on_change=P.show_language,
        ),
        class_name="field",
    )


def preview_page() -> rx.Component:
    t = P.t
    return _shell(
        P,
        rx.cond(
            P.signed_in,
            rx.el.div(
                staff_bar(t, P.staff_name, P.sign_out, P.check_session),
                rx.el.h1(t["staff.preview_title"], id="step-heading", tab_index=-1),
                live_region(P.announcement),
                rx.cond(
                    P.found,
                    rx.el.div(
                        preview_banner(t),
                        _status(t),
                        _language_choice(t),
                        rx.el.div(
                            applicant_column(
                                P.view_t, P.view_msg, P.view_items, P.view_lang, P.view_dir, t["staff.column_applicant"]
                            ),
                            rx.cond(
                                P.side_by_side,
                                applicant_column(P.de_t, P.de_msg, P.de_items, "de", "ltr", t["staff.column_german"]),
                            ),
                            class_name=rx.cond(P.side_by_side, "preview-grid two", "preview-grid"),
                            id="preview",
                        ),
                    ),
                    rx.cond(
                        P.preview_error != "",
                        rx.el.p(t[P.preview_error], role="alert", class_name="error-summary"),
                        _checking(P),
                    ),
                ),
            ),
            _checking(P),
        ),
    )
