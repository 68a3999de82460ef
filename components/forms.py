"""Form parts shared by every step: error summary, file list, upload zone, navigation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import reflex as rx
from reflex.event import EventHandler
from reflex.vars import ArrayVar, ObjectVar, StringVar, Var

from components.lazy_upload import LazyUpload, Suspense
from components.vars import Texts

if TYPE_CHECKING:
    from portal.presenter import FileDisplay, ProblemDisplay

UPLOAD_ID = "documents"
# A courtesy for the phone's picker only; the server decides by content.
ACCEPT = {
    "application/pdf": [".pdf"],
    "image/jpeg": [".jpg", ".jpeg"],
    "image/png": [".png"],
    "image/heic": [".heic"],
    "image/heif": [".heif"],
    "image/webp": [".webp"],
    "image/tiff": [".tif", ".tiff"],
}


def error_summary(t: Texts, problems: ArrayVar[list[ProblemDisplay]], on_fix: EventHandler) -> rx.Component:
    """GOV.UK-style summary at the top; each entry leads to its field (WCAG 3.3.1)."""
    return rx.cond(
        problems.length() > 0,
        rx.el.div(
            rx.el.h2(t["errors.summary_title"]),
            rx.el.ul(
                rx.foreach(
                    problems,
                    lambda p: rx.el.li(
                        rx.el.button(p.message, type="button", class_name="link-button", on_click=on_fix(p.field))
                    ),
                )
            ),
            id="error-summary",
            role="alert",
            tab_index=-1,
            class_name="error-summary",
        ),
    )


def field_errors(errors: Var[list[str]], field_id: str | Var[str]) -> rx.Component:
    return rx.foreach(
        errors,
        lambda e: rx.el.p(rx.el.span("! ", aria_hidden="true"), e, class_name="field-error", id=f"{field_id}-error"),
    )


def file_list(
    t: Texts, files: ArrayVar[list[FileDisplay]], on_remove: EventHandler, on_move: EventHandler | None = None
) -> rx.Component:
    """The files of one item: preview, name, type and size, hints, and order/remove buttons."""

    def row(f: ObjectVar[FileDisplay]) -> rx.Component:
        def move_button(move: EventHandler, arrow: str, label_key: str, delta: int) -> rx.Component:
            return rx.el.button(
                arrow,
                rx.el.span(" ", t[label_key], " ", rx.el.bdi(f.name), class_name="visually-hidden"),
                type="button",
                class_name="button-secondary small",
                on_click=move(f.id, delta),
            )

        move = (
            rx.fragment(
                rx.cond(~f.first, move_button(on_move, "↑", "upload.move_up", -1)),
                rx.cond(~f.last, move_button(on_move, "↓", "upload.move_down", 1)),
            )
            if on_move is not None
            else rx.fragment()
        )
        return rx.el.li(
            rx.cond(
                f.thumbnail != "",
                rx.el.img(src=f.thumbnail, alt="", class_name="thumb", width="64", height="64"),
                rx.el.span("PDF", class_name="thumb thumb-placeholder", aria_hidden="true"),
            ),
            rx.el.div(
                rx.el.span(rx.el.bdi(f.name), class_name="file-name"),
                rx.el.span(
                    f.kind,
                    " · ",
                    rx.el.bdi(f.size),
                    rx.cond(f.pages != "", rx.el.span(" · ", f.pages)),
                    class_name="file-meta",
                ),
                rx.foreach(f.notes, lambda n: rx.el.p(n, class_name="file-note")),
                rx.foreach(f.hints, lambda h: rx.el.p(rx.el.strong(t["hint.label"], " "), h, class_name="file-hint")),
                class_name="file-text",
            ),
            rx.el.div(
                move,
                rx.el.button(
                    t["upload.remove"],
                    rx.el.span(" ", rx.el.bdi(f.name), class_name="visually-hidden"),
                    type="button",
                    class_name="button-secondary small",
                    on_click=on_remove(f.id),
                ),
                class_name="file-actions",
            ),
            class_name="file-row",
        )

    return rx.cond(
        files.length() > 0,
        rx.el.ul(rx.foreach(files, row), class_name="file-list", aria_label=t["upload.list_label"]),
    )


def upload_errors(t: Texts, errors: ArrayVar[list[str]]) -> rx.Component:
    """Refused files, named with what to do; an alert so screen readers hear it at once."""
    return rx.cond(
        errors.length() > 0,
        rx.el.div(
            rx.el.h2(t["upload.refused_title"]),
            rx.el.ul(rx.foreach(errors, lambda e: rx.el.li(e))),
            id="upload-errors",
            role="alert",
            tab_index=-1,
            class_name="error-summary",
        ),
    )


def upload_zone(t: Texts, on_drop: EventHandler, on_rejected: EventHandler, label: StringVar) -> rx.Component:
    # Reflex's upload zone, its library fetched when the zone first shows (components/lazy_upload.py).
    zone = LazyUpload.create(
        rx.el.div(
            rx.el.button(label, type="button", class_name="button-primary upload-button", id="upload-button"),
            rx.el.p(t["upload.hint"], class_name="hint"),
            class_name="upload-inner",
        ),
        id=UPLOAD_ID,
        multiple=True,
        accept=ACCEPT,
        no_keyboard=True,
        on_drop=on_drop(rx.upload_files(upload_id=UPLOAD_ID)),
        on_drop_rejected=on_rejected,
        class_name="upload-zone",
    )
    # The dropzone's file input (react-dropzone, visually hidden but in the accessibility tree)
    # gets no props from Reflex; name it after the visible button that opens it (axe "label").
    file_input = zone.children[0].children[0]
    file_input.custom_attrs["aria-labelledby"] = "upload-button"
    return Suspense.create(zone)


def live_region(message: StringVar) -> rx.Component:
    return rx.el.div(message, aria_live="polite", role="status", class_name="live-region", id="announcement")


def draft_status(saved: StringVar, notice: StringVar) -> rx.Component:
    """When the draft was last saved (or that it could not be), and a change another browser made.

    The notice is a status message, focusable so a refused submission can move focus to it; the
    saved time is plain text: announcing it after every keystroke would drown the form.
    """
    return rx.fragment(
        rx.cond(
            notice != "",
            rx.el.p(notice, id="draft-notice", role="status", tab_index=-1, class_name="draft-notice"),
        ),
        rx.cond(saved != "", rx.el.p(saved, id="draft-saved", class_name="hint draft-saved")),
    )


def nav_buttons(
    t: Texts, on_back: EventHandler, on_next: EventHandler, next_label: StringVar | None = None
) -> rx.Component:
    return rx.el.div(
        rx.el.button(
            next_label if next_label is not None else t["nav.next"],
            type="button",
            class_name="button-primary",
            on_click=on_next,
            id="next-button",
        ),
        rx.el.button(t["nav.back"], type="button", class_name="button-secondary", on_click=on_back),
        class_name="nav-buttons",
    )


def text_area(
    label: Var[str], hint: Var[str], value: Var[str], on_change: EventHandler, field_id: str, max_chars: int | Var[int]
) -> rx.Component:
    return rx.el.div(
        rx.el.label(label, html_for=field_id, class_name="label"),
        rx.el.p(hint, class_name="hint", id=f"{field_id}-hint"),
        rx.el.textarea(
            # Uncontrolled with a debounced update: typing stays local and fast, the state still
            # holds the text for the language switch and the review.
            default_value=value,
            on_change=on_change.debounce(300),
            id=field_id,
            max_length=max_chars,
            rows=6,
            # The applicant may write in their own script; the field follows what is typed.
            dir="auto",
            aria_describedby=f"{field_id}-hint",
            class_name="input",
        ),
        class_name="field",
    )


def checkbox(
    label: Var[str], field_id: str, checked: Var[bool], on_change: EventHandler, extra_class: str = ""
) -> rx.Component:
    # Uncontrolled: the box flips at once under the finger, the state follows with the event.
    return rx.el.div(
        rx.el.input(type="checkbox", id=field_id, default_checked=checked, on_change=on_change, class_name="checkbox"),
        rx.el.label(label, html_for=field_id),
        class_name=f"check-row {extra_class}".strip(),
    )
