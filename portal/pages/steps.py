"""The steps of a reply: one requested item per screen (phones first), then text, further
documents, the appointment answer, the review and the confirmation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import reflex as rx
from reflex.vars import ObjectVar, Var

from components.forms import (
    checkbox,
    error_summary,
    field_errors,
    file_list,
    live_region,
    nav_buttons,
    text_area,
    upload_errors,
    upload_zone,
)
from components.receipt import receipt_download
from components.request import calendar_offer, contact_card, item_facts
from portal.state.reply import ReplyState as S

if TYPE_CHECKING:
    from portal.presenter import ItemDisplay

t = S.t


def _item_view(item: ObjectVar[ItemDisplay]) -> rx.Component:
    return rx.el.section(
        rx.el.p(item.counter, class_name="progress"),
        rx.el.h1(item.title, id="step-heading", tab_index=-1),
        item_facts(t, item),
        rx.el.details(
            rx.el.summary(t["item.guidance_label"]),
            rx.el.p(item.guidance, class_name="prewrap"),
            open=~item.uploadable,
            class_name="guidance",
        ),
        error_summary(t, S.problems, S.fix_problem),
        rx.el.div(
            field_errors(item.errors, item.id),
            rx.cond(
                item.uploadable,
                rx.el.div(
                    upload_errors(t, S.upload_errors),
                    upload_zone(t, S.upload, S.upload_refused_by_browser, t["upload.add"]),
                    file_list(t, item.files, S.remove_file, S.move_file),
                    rx.cond(
                        item.can_merge,
                        rx.el.div(
                            rx.el.p(t["upload.merge_hint"], class_name="hint", id="merge-hint"),
                            rx.el.button(
                                t["upload.merge"],
                                type="button",
                                class_name="button-secondary",
                                id="merge-button",
                                aria_describedby="merge-hint",
                                on_click=S.merge_photos,
                            ),
                            class_name="merge",
                        ),
                    ),
                ),
            ),
            checkbox(t["item.not_available"], "not-available", item.not_available, S.set_not_available),
            rx.cond(
                item.not_available,
                rx.el.div(
                    text_area(
                        t["item.reason"], t["item.reason_hint"], item.reason, S.set_reason, "reason", S.max_reason_chars
                    ),
                    rx.el.div(
                        rx.el.label(t["item.expected_date"], html_for="expected-date", class_name="label"),
                        rx.el.input(
                            type="date",
                            id="expected-date",
                            default_value=item.expected_date,
                            on_change=S.set_expected_date,
                            class_name="input",
                        ),
                        class_name="field",
                    ),
                ),
            ),
            id=item.id,
            tab_index=-1,
        ),
        live_region(S.announcement),
        nav_buttons(t, S.previous_step, S.next_step),
    )


def extension_step() -> rx.Component:
    """More time: the date asked for and why; the deadline stands until the authority answers."""
    ext = S.extension
    return rx.el.section(
        rx.el.h1(t["extension.heading"], id="step-heading", tab_index=-1),
        error_summary(t, S.problems, S.fix_problem),
        rx.el.p(t["extension.intro"]),
        rx.el.div(
            rx.el.h2(t["extension.consequence_heading"]),
            rx.el.p(S.msg.deadline_consequence),
            class_name="card extension-consequence",
            id="extension-consequence",
        ),
        rx.el.div(
            field_errors(ext.errors, "extension"),
            rx.el.div(
                rx.el.label(t["extension.until"], html_for="extension-until", class_name="label"),
                rx.el.p(ext.window, class_name="hint", id="extension-until-hint"),
                rx.el.input(
                    type="date",
                    id="extension-until",
                    default_value=ext.until,
                    min=ext.earliest,
                    max=ext.latest,
                    on_change=S.set_extension_until,
                    aria_describedby="extension-until-hint",
                    required=True,
                    class_name="input",
                ),
                class_name="field",
            ),
            text_area(
                t["extension.reason"],
                t["extension.reason_hint"],
                ext.reason,
                S.set_extension_reason,
                "extension-reason",
                S.max_extension_reason_chars,
            ),
            id="extension",
            tab_index=-1,
        ),
        rx.el.p(t["extension.items_may_stay_open"], class_name="hint"),
        nav_buttons(t, S.previous_step, S.next_step),
        _withdraw_extension(),
    )


def _withdraw_extension() -> rx.Component:
    return rx.el.button(
        t["extension.withdraw"],
        type="button",
        class_name="link-button",
        id="withdraw-extension",
        on_click=S.withdraw_more_time,
    )


def _extension_review() -> rx.Component:
    return rx.cond(
        S.extension.asked,
        rx.el.div(
            rx.el.h2(t["extension.heading"]),
            rx.el.p(S.extension.summary, id="review-extension"),
            rx.el.p(S.extension.reason, dir="auto", class_name="prewrap"),
            field_errors(S.extension.errors, "extension-review"),
            rx.el.div(
                _change(t["extension.heading"], "extension"),
                _withdraw_extension(),
                class_name="card-actions",
            ),
            class_name="card",
        ),
    )


def item_step() -> rx.Component:
    return rx.foreach(S.items, lambda item: rx.cond(item.index == S.item_index, _item_view(item)))


def text_step() -> rx.Component:
    # In a hearing (Anhörung) the free text is the applicant's statement, and is called so.
    statement = S.msg.kind == "intent_to_refuse"
    return rx.el.section(
        rx.el.h1(rx.cond(statement, t["text.statement_heading"], t["text.heading"]), id="step-heading", tab_index=-1),
        error_summary(t, S.problems, S.fix_problem),
        text_area(
            rx.cond(statement, t["text.statement_label"], t["text.label"]),
            rx.cond(statement, t["text.statement_hint"], t["text.hint"]),
            S.text,
            S.set_text,
            "text",
            S.max_text_chars,
        ),
        nav_buttons(t, S.previous_step, S.next_step),
    )


def extras_step() -> rx.Component:
    return rx.el.section(
        rx.el.h1(t["extras.heading"], id="step-heading", tab_index=-1),
        rx.el.p(t["extras.intro"]),
        rx.el.div(
            rx.el.label(t["extras.type"], html_for="extra-code", class_name="label"),
            rx.el.select(
                rx.foreach(S.extra_codes, lambda o: rx.el.option(o["name"], value=o["code"])),
                id="extra-code",
                value=S.extra_code,
                on_change=S.set_extra_code,
                class_name="input",
            ),
            class_name="field",
        ),
        rx.el.div(
            rx.el.label(t["extras.description"], html_for="extra-description", class_name="label"),
            rx.el.input(
                id="extra-description",
                default_value=S.extra_description,
                on_change=S.set_extra_description.debounce(300),
                max_length=S.max_description_chars,
                class_name="input",
            ),
            class_name="field",
        ),
        upload_errors(t, S.upload_errors),
        upload_zone(t, S.upload, S.upload_refused_by_browser, t["extras.add"]),
        rx.foreach(
            S.extras,
            lambda e: rx.el.div(
                rx.el.h2(e.title), rx.el.p(e.description), file_list(t, e.files, S.remove_file), class_name="card"
            ),
        ),
        live_region(S.announcement),
        nav_buttons(t, S.previous_step, S.next_step),
    )


def appointment_step() -> rx.Component:
    def radio(value: str, label_key: str) -> rx.Component:
        return rx.el.div(
            rx.el.input(
                type="radio",
                name="appointment",
                id=f"answer-{value}",
                value=value,
                default_checked=S.appointment_answer == value,
                on_change=S.set_appointment_answer,
                class_name="radio",
            ),
            rx.el.label(t[label_key], html_for=f"answer-{value}"),
            class_name="check-row",
        )

    return rx.el.section(
        rx.el.h1(t["appointment.answer_heading"], id="step-heading", tab_index=-1),
        error_summary(t, S.problems, S.fix_problem),
        rx.el.p(rx.el.bdi(S.msg.appointment_when)),
        calendar_offer(t, S.download_calendar),
        rx.el.fieldset(
            rx.el.legend(t["appointment.question"]),
            radio("confirm", "appointment.confirm"),
            radio("reschedule", "appointment.reschedule"),
            id="appointment",
            tab_index=-1,
        ),
        rx.cond(
            S.appointment_answer == "reschedule",
            rx.el.div(
                text_area(
                    t["appointment.reason"],
                    t["appointment.reason_hint"],
                    S.appointment_reason,
                    S.set_appointment_reason,
                    "appointment-reason",
                    S.max_reason_chars,
                ),
                text_area(
                    t["appointment.times"],
                    t["appointment.times_hint"],
                    S.appointment_times,
                    S.set_appointment_times,
                    "appointment-times",
                    S.max_suitable_times_chars,
                ),
            ),
        ),
        nav_buttons(t, S.previous_step, S.next_step),
    )


def _change(what: Var[str], step: str, index: int | Var[int] = 0) -> rx.Component:
    # "Change" alone is ambiguous for a screen reader listing buttons: say what changes.
    return rx.el.button(
        t["review.change"],
        rx.el.span(" ", what, class_name="visually-hidden"),
        type="button",
        class_name="link-button",
        on_click=S.go_to(step, index),
    )


def review_step() -> rx.Component:
    return rx.el.section(
        rx.el.h1(t["review.heading"], id="step-heading", tab_index=-1),
        error_summary(t, S.problems, S.fix_problem),
        rx.cond(
            S.msg.kind == "appointment",
            rx.el.div(
                rx.el.h2(t["appointment.answer_heading"]),
                rx.el.p(
                    rx.cond(
                        S.appointment_answer == "confirm",
                        t["appointment.confirm"],
                        rx.cond(S.appointment_answer == "reschedule", t["appointment.reschedule"], t["review.nothing"]),
                    )
                ),
                rx.cond(
                    S.appointment_answer == "reschedule",
                    rx.el.p(
                        rx.el.bdi(S.appointment_reason), " — ", rx.el.bdi(S.appointment_times), class_name="prewrap"
                    ),
                ),
                _change(t["appointment.answer_heading"], "appointment"),
                class_name="card",
            ),
            rx.fragment(
                _extension_review(),
                rx.foreach(
                    S.items,
                    lambda item: rx.el.div(
                        rx.el.h2(item.title),
                        rx.el.p(item.status),
                        rx.el.ul(rx.foreach(item.files, lambda f: rx.el.li(rx.el.bdi(f.name), " · ", f.size))),
                        rx.cond(
                            item.not_available,
                            rx.el.p(rx.el.bdi(item.reason), " ", rx.el.bdi(item.expected_date), class_name="prewrap"),
                        ),
                        field_errors(item.errors, item.id + "-review"),
                        _change(item.title, "item", item.index),
                        class_name="card",
                    ),
                ),
                rx.el.div(
                    rx.el.h2(t["text.heading"]),
                    # What the applicant typed takes its own direction (Latin text on an Arabic page keeps
                    # its full stop at the end).
                    rx.el.p(rx.cond(S.text != "", S.text, t["review.nothing"]), dir="auto", class_name="prewrap"),
                    _change(t["text.heading"], "text"),
                    class_name="card",
                ),
                rx.el.div(
                    rx.el.h2(t["extras.heading"]),
                    rx.cond(S.extras.length() == 0, rx.el.p(t["review.nothing"])),
                    rx.foreach(S.extras, lambda e: rx.el.p(e.summary)),
                    _change(t["extras.heading"], "extras"),
                    class_name="card",
                ),
            ),
        ),
        checkbox(t["review.declaration"], "declaration", S.declaration, S.set_declaration, "declaration"),
        rx.el.div(
            rx.el.button(
                t["review.submit"], type="button", class_name="button-primary", id="submit-button", on_click=S.submit
            ),
            rx.el.button(t["nav.back"], type="button", class_name="button-secondary", on_click=S.previous_step),
            class_name="nav-buttons",
        ),
    )


def done_step() -> rx.Component:
    return rx.el.section(
        rx.el.h1(t["done.heading"], id="step-heading", tab_index=-1),
        rx.el.div(
            rx.el.p(t["done.reference"], " ", rx.el.strong(rx.el.bdi(S.done_reference), id="done-reference")),
            rx.el.p(t["done.received"], " ", rx.el.bdi(S.done_received)),
            rx.cond(S.done_extension != "", rx.el.p(S.done_extension, id="done-extension")),
            class_name="card success",
            role="status",
        ),
        rx.cond(S.receipt_ready, receipt_download(t, S.receipt_gone, S.download_receipt)),
        rx.el.h2(t["done.next_heading"]),
        rx.el.p(t["done.next"]),
        rx.el.p(t["done.keep_reference"]),
        rx.cond(S.msg.kind == "appointment", _done_appointment()),
        contact_card(t, S.msg),
    )


def _done_appointment() -> rx.Component:
    """The appointment after the answer: a request for another date changes nothing yet."""
    rescheduling = S.appointment_answer == "reschedule"
    return rx.el.section(
        rx.el.h2(t["appointment.heading"]),
        rx.el.p(rx.el.bdi(S.msg.appointment_when)),
        rx.cond(
            rescheduling,
            rx.el.p(
                t["calendar.reschedule_pending"].replace("{when}", S.msg.appointment_when),
                class_name="pending",
                id="reschedule-pending",
            ),
        ),
        calendar_offer(t, S.download_calendar, rx.cond(rescheduling, t["calendar.add_current"], t["calendar.add"])),
        class_name="card",
    )
