"""The authority's request in the context of the application: who asks, about what, by when."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import reflex as rx
from reflex.event import EventHandler
from reflex.vars import ArrayVar, ObjectVar, Var

from components.vars import Texts

if TYPE_CHECKING:
    from portal.presenter import ExtensionDisplay, GlossaryDisplay, ItemDisplay, MessageDisplay, SubmittedDisplay


def fact(label: Var[str], value: Var[Any]) -> rx.Component:
    """A term and its value in a <dl>, left out while the value is empty."""
    return rx.cond(
        value != "",
        rx.fragment(rx.el.dt(label), rx.el.dd(rx.el.bdi(value))),
    )


def calendar_offer(t: Texts, on_download: EventHandler, label: Var[str] | None = None) -> rx.Component:
    """The "Add to calendar" offer: the appointment as a file for the applicant's calendar app."""
    return rx.el.div(
        rx.el.button(
            label if label is not None else t["calendar.add"],
            type="button",
            class_name="button-secondary",
            aria_describedby="calendar-hint",
            on_click=on_download,
            id="calendar-button",
        ),
        rx.el.p(t["calendar.add_hint"], class_name="hint", id="calendar-hint"),
        class_name="calendar-offer",
    )


def request_summary(
    t: Texts,
    msg: ObjectVar[MessageDisplay],
    heading_id: str | None = "step-heading",
    on_calendar: EventHandler | None = None,
) -> rx.Component:
    """`heading_id` is None where the page shows more than one request (the staff preview), and
    `on_calendar` None where nobody may download the appointment (the staff preview)."""
    heading = (
        rx.el.h1(msg.subject, id=heading_id, tab_index=-1, lang="de", dir="auto")
        if heading_id
        else rx.el.h1(msg.subject, lang="de", dir="auto")
    )
    return rx.el.div(
        rx.el.p(msg.kind_label, class_name="kind-label"),
        heading,
        rx.el.p(
            t["request.from"],
            " ",
            rx.el.strong(rx.el.bdi(msg.authority_name)),
            class_name="lead",
        ),
        rx.cond(
            msg.deadline != "",
            rx.el.p(
                rx.el.strong(t["request.deadline"]),
                " ",
                rx.el.bdi(msg.deadline),
                " — ",
                msg.days_left,
                class_name="deadline",
            ),
        ),
        rx.el.section(
            rx.el.h2(t["request.application"]),
            rx.el.dl(
                fact(t["request.service"], msg.service_name),
                fact(t["request.reference"], msg.reference),
                fact(t["request.submitted_on"], msg.submitted_on),
                fact(t["request.applicant"], msg.applicant_name),
                class_name="facts",
            ),
            class_name="card",
            aria_labelledby="",
        ),
        rx.el.section(
            rx.el.h2(t["request.message"]),
            rx.el.p(t["request.original_words"], class_name="hint"),
            rx.el.blockquote(msg.body, lang="de", dir="auto", class_name="prewrap original"),
            rx.el.p(t["request.sent"], " ", rx.el.bdi(msg.sent), class_name="hint"),
            # Reflex types a dataclass var's field as a plain item; it is the field's ArrayVar.
            glossary(t, cast("ArrayVar[list[GlossaryDisplay]]", msg.glossary)),
            class_name="card",
        ),
        rx.cond(
            msg.appointment_when != "",
            rx.el.section(
                rx.el.h2(t["appointment.heading"]),
                rx.el.dl(
                    fact(t["appointment.when_label"], msg.appointment_when),
                    fact(t["appointment.place"], msg.appointment_place),
                    fact(t["appointment.bring"], msg.appointment_bring),
                    class_name="facts",
                ),
                calendar_offer(t, on_calendar) if on_calendar is not None else rx.fragment(),
                class_name="card",
            ),
        ),
        rx.cond(
            msg.responsible_name != "",
            rx.el.section(
                rx.el.h2(t["not_responsible.heading"]),
                rx.el.p(t["not_responsible.explain"]),
                rx.el.p(rx.el.strong(rx.el.bdi(msg.responsible_name))),
                rx.el.p(msg.responsible_contact, class_name="prewrap"),
                rx.cond(
                    msg.responsible_website != "",
                    rx.el.p(rx.el.a(t["links.responsible_website"], href=msg.responsible_website)),
                ),
                class_name="card",
            ),
        ),
    )


def request_overview(
    t: Texts,
    msg: ObjectVar[MessageDisplay],
    items: ArrayVar[list[ItemDisplay]],
    on_start: EventHandler | None,
    heading_id: str | None = "step-heading",
    on_more_time: EventHandler | None = None,
    more_time: ObjectVar[ExtensionDisplay] | None = None,
    on_calendar: EventHandler | None = None,
) -> rx.Component:
    """The first screen behind a link; the staff preview shows the same with `on_start` None (disabled).

    A question or a hearing also says what happens when the deadline passes and offers to ask for
    more time (`on_more_time`; `more_time` tells whether a request is already in the draft)."""
    return rx.el.div(
        request_summary(t, msg, heading_id, on_calendar),
        rx.cond(
            msg.answerable,
            rx.el.div(
                rx.cond(
                    items.length() > 0,
                    rx.el.section(
                        rx.el.h2(t["overview.items_heading"]),
                        rx.el.ul(
                            rx.foreach(
                                items,
                                lambda i: rx.el.li(rx.el.strong(i.title), " (", i.badge, ") — ", i.status),
                            ),
                            class_name="checklist",
                        ),
                        class_name="card",
                    ),
                ),
                rx.el.button(
                    t["overview.start"],
                    type="button",
                    class_name="button-primary",
                    id="start-button" if on_start is not None else None,
                    on_click=on_start,
                    disabled=on_start is None,
                ),
                rx.cond(msg.can_ask_more_time, _more_time(t, msg, on_more_time, more_time)),
                class_name="start",
            ),
            rx.el.p(t["overview.nothing_to_answer"], class_name="card"),
        ),
        request_background(t, msg),
    )


def _more_time(
    t: Texts,
    msg: ObjectVar[MessageDisplay],
    on_more_time: EventHandler | None,
    more_time: ObjectVar[ExtensionDisplay] | None,
) -> rx.Component:
    # The staff preview has no draft: it shows the offer as an applicant first sees it.
    label: Var[str] = t["extension.ask"]
    summary: rx.Component = rx.fragment()
    if more_time is not None:
        label = rx.cond(more_time.asked, t["extension.change"], t["extension.ask"])
        summary = rx.cond(more_time.asked, rx.el.p(more_time.summary, id="more-time-summary"))
    return rx.el.section(
        rx.el.h2(t["extension.overview_heading"]),
        rx.el.p(t["extension.overview_hint"]),
        summary,
        rx.el.button(
            label,
            type="button",
            class_name="button-secondary",
            id="more-time-button" if on_more_time is not None else None,
            on_click=on_more_time,
            disabled=on_more_time is None,
        ),
        rx.el.h3(t["extension.consequence_heading"]),
        rx.el.p(msg.deadline_consequence, id="deadline-consequence"),
        class_name="card more-time",
    )


def _submitted_document(d: ObjectVar[SubmittedDisplay]) -> rx.Component:
    # The German title and the date in the page's language each in their own isolate.
    return rx.el.li(
        rx.el.bdi(d.title, lang="de"),
        rx.cond(d.submitted_on != "", rx.fragment(" (", rx.el.bdi(d.submitted_on), ")")),
    )


def request_background(t: Texts, msg: ObjectVar[MessageDisplay]) -> rx.Component:
    """Below the action: whom to contact, what the authority already has, earlier messages."""
    return rx.fragment(
        contact_card(t, msg),
        rx.cond(
            msg.submitted_documents.length() > 0,
            rx.el.section(
                rx.el.h2(t["request.submitted_documents"]),
                rx.el.ul(rx.foreach(msg.submitted_documents, _submitted_document)),
                class_name="card",
            ),
        ),
        rx.cond(
            msg.history.length() > 0,
            rx.el.section(
                rx.el.h2(t["request.history"]),
                rx.el.ul(
                    rx.foreach(
                        msg.history,
                        lambda h: rx.el.li(
                            rx.el.bdi(h.sent),
                            ": ",
                            rx.el.bdi(h.subject, lang="de"),
                            rx.cond(
                                h.answered != "",
                                rx.el.span(" — ", t["request.history_answered"], " ", rx.el.bdi(h.answered)),
                            ),
                        ),
                    )
                ),
                class_name="card",
            ),
        ),
    )


def contact_card(t: Texts, msg: ObjectVar[MessageDisplay]) -> rx.Component:
    return rx.el.section(
        rx.el.h2(t["request.contact"]),
        rx.el.dl(
            fact(t["request.authority"], msg.authority_name),
            fact(t["request.contact_person"], msg.contact_person),
            fact(t["request.phone"], msg.phone),
            fact(t["request.email"], msg.email),
            fact(t["request.opening_hours"], msg.opening_hours),
            fact(t["request.address"], msg.authority_address),
            class_name="facts prewrap",
        ),
        class_name="card",
    )


def glossary(t: Texts, terms: ArrayVar[list[GlossaryDisplay]]) -> rx.Component:
    """The official words of the German original, explained in the reader's language."""
    return rx.cond(
        terms.length() > 0,
        rx.el.details(
            rx.el.summary(t["glossary_ui.heading"]),
            rx.el.p(t["glossary_ui.intro"], class_name="hint"),
            rx.el.dl(
                rx.foreach(
                    terms,
                    lambda g: rx.fragment(
                        rx.el.dt(
                            rx.el.span(g.german, lang="de"),
                            rx.cond(g.term != "", rx.el.span(" — ", rx.el.bdi(g.term))),
                        ),
                        rx.el.dd(g.explanation),
                    ),
                ),
                class_name="glossary",
            ),
            class_name="guidance",
            id="glossary",
        ),
    )


def item_facts(t: Texts, item: ObjectVar[ItemDisplay]) -> rx.Component:
    """Under a requested item's title: how important it is, the authority's words and note."""
    return rx.fragment(
        rx.el.p(
            rx.el.span(item.badge, class_name="badge"),
            " ",
            t["item.authority_title"],
            " ",
            rx.el.q(rx.el.bdi(item.title_de), lang="de"),
        ),
        rx.cond(
            item.note != "",
            rx.el.div(
                rx.el.p(t["item.note_label"], class_name="hint"),
                rx.el.blockquote(item.note, lang="de", dir="auto", class_name="original prewrap"),
            ),
        ),
    )
