"""/reply shows the request behind a reply link and takes the reply (links arrive as portal.links says)."""

from __future__ import annotations

import reflex as rx

from components.forms import draft_status
from components.layout import notice, page_shell
from components.receipt import receipt_download
from components.request import request_overview
from portal.pages import steps
from portal.state.reply import ReplyState as S

t = S.t


def _shell(*children: rx.Component) -> rx.Component:
    return page_shell(
        t, S.languages, S.lang, S.switch_language, *children, direction=S.dir, on_extend=S.keep_alive, phase=S.phase
    )


def _error_view() -> rx.Component:
    code = S.error_code
    return rx.fragment(
        notice(
            t["link." + code + "_title"],
            t["link." + code + "_body"],
            rx.cond(S.error_when != "", rx.el.p(t["link.answered_when"], " ", rx.el.bdi(S.error_when))),
            rx.cond(S.error_wait != "", rx.el.p(S.error_wait, id="error-wait")),
            rx.cond(S.receipt_ready, receipt_download(t, S.receipt_gone, S.download_receipt)),
            rx.cond(
                (code == "case_service_unavailable") | (code == "too_many_attempts"),
                rx.el.button(t["link.retry"], type="button", class_name="button-primary", on_click=S.retry),
            ),
            tone="error",
        ),
    )


def _overview() -> rx.Component:
    return request_overview(
        t,
        S.msg,
        S.items,
        S.next_step,
        on_more_time=S.ask_for_more_time,
        more_time=S.extension,
        on_calendar=S.download_calendar,
    )


def _flow() -> rx.Component:
    return rx.fragment(
        rx.match(
            S.step,
            ("overview", rx.fragment()),
            ("done", rx.fragment()),
            draft_status(S.draft_saved, S.draft_notice),
        ),
        # Drawn anew when another browser's draft was loaded: the fields show its values.
        rx.fragment(_step(), key=S.draft_generation),
    )


def _step() -> rx.Component:
    return rx.match(
        S.step,
        ("overview", _overview()),
        ("extension", steps.extension_step()),
        ("item", steps.item_step()),
        ("text", steps.text_step()),
        ("extras", steps.extras_step()),
        ("appointment", steps.appointment_step()),
        ("review", steps.review_step()),
        ("done", steps.done_step()),
        _overview(),
    )


def reply_page() -> rx.Component:
    return _shell(
        rx.match(
            S.phase,
            ("ready", _flow()),
            ("error", _error_view()),
            ("checking", notice(t["link.checking_title"], t["link.checking_body"])),
            notice(t["link.none_title"], t["link.none_body"]),
        )
    )
