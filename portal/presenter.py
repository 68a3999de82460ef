"""Turns domain objects into what a page shows, in one language. Plain Python, no Reflex.

The states assign these display objects to their vars; all wording comes from ``locales/``
through :func:`portal.domain.i18n.translate`, dates and sizes through Babel.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from portal.domain import catalogue, formatting, i18n, ics
from portal.domain.draft import KINDS_WITH_ITEMS, Draft, Problem
from portal.domain.extension import window
from portal.domain.glossary import terms_in
from portal.domain.i18n import translate, translate_count
from portal.domain.message import MessageView
from portal.domain.uploads import StoredUpload


@dataclasses.dataclass
class FileDisplay:
    id: str = ""
    name: str = ""
    kind: str = ""
    size: str = ""
    pages: str = ""
    thumbnail: str = ""
    hints: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    is_image: bool = False
    first: bool = False
    last: bool = False


@dataclasses.dataclass
class ItemDisplay:
    id: str = ""
    index: int = 0
    # "Nachweis 2 / 3": where this item's step stands among all of them.
    counter: str = ""
    code: str = ""
    title: str = ""
    title_de: str = ""
    badge: str = ""
    required: bool = True
    note: str = ""
    guidance: str = ""
    uploadable: bool = True
    files: list[FileDisplay] = dataclasses.field(default_factory=list)
    can_merge: bool = False
    not_available: bool = False
    reason: str = ""
    expected_date: str = ""
    status: str = ""
    errors: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class SubmittedDisplay:
    """A document the authority already has: its German title and the date in the page's
    language, kept apart so each is isolated in its own direction (an Arabic date inside a German
    title scrambles otherwise)."""

    title: str = ""
    submitted_on: str = ""


@dataclasses.dataclass
class HistoryDisplay:
    subject: str = ""
    sent: str = ""
    answered: str = ""


@dataclasses.dataclass
class GlossaryDisplay:
    german: str = ""
    term: str = ""
    explanation: str = ""


@dataclasses.dataclass
class MessageDisplay:
    kind: str = ""
    kind_label: str = ""
    subject: str = ""
    body: str = ""
    sent: str = ""
    deadline: str = ""
    days_left: str = ""
    authority_name: str = ""
    authority_address: str = ""
    contact_person: str = ""
    phone: str = ""
    email: str = ""
    opening_hours: str = ""
    reference: str = ""
    service_name: str = ""
    submitted_on: str = ""
    applicant_name: str = ""
    submitted_documents: list[SubmittedDisplay] = dataclasses.field(default_factory=list)
    history: list[HistoryDisplay] = dataclasses.field(default_factory=list)
    appointment_when: str = ""
    appointment_place: str = ""
    appointment_bring: str = ""
    responsible_name: str = ""
    responsible_contact: str = ""
    # Only an http(s) address becomes a link; anything else stays a line of the contact.
    responsible_website: str = ""
    answerable: bool = False
    # A question or a hearing: the applicant may ask for more time, and is told what happens
    # when the deadline passes.
    can_ask_more_time: bool = False
    deadline_consequence: str = ""
    glossary: list[GlossaryDisplay] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ExtraDisplay:
    index: int = 0
    title: str = ""
    description: str = ""
    files: list[FileDisplay] = dataclasses.field(default_factory=list)
    # The review's line for it: its type and how many files, counted in the language's plural forms.
    summary: str = ""


@dataclasses.dataclass
class ProblemDisplay:
    field: str = ""
    message: str = ""


def _date(d: date | None, lang: str) -> str:
    return formatting.format_date_long(d, lang) if d else ""


def format_when(dt: datetime | None, lang: str) -> str:
    return formatting.format_datetime(dt, lang) if dt else ""


def days_left_text(deadline: date | None, today: date, lang: str) -> str:
    if deadline is None:
        return ""
    days = formatting.days_left(deadline, today)
    if days < 0:
        return translate(lang, "deadline.passed")
    if days == 0:
        return translate(lang, "deadline.today")
    return translate(lang, "deadline.left", left=formatting.format_days_left(deadline, today, lang))


def message_display(msg: MessageView, lang: str, today: date) -> MessageDisplay:
    a = msg.authority
    c = msg.case
    asks = msg.kind in KINDS_WITH_ITEMS
    view = MessageDisplay(
        kind=msg.kind,
        kind_label=translate(lang, f"kind.{msg.kind}"),
        subject=msg.subject,
        body=msg.body,
        sent=format_when(msg.sent_at, lang),
        deadline=_date(msg.deadline, lang),
        days_left=days_left_text(msg.deadline, today, lang),
        authority_name=a.name,
        authority_address=a.address,
        contact_person=a.contact_person,
        phone=a.phone,
        email=a.email,
        opening_hours=a.opening_hours,
        reference=c.reference,
        service_name=c.service_name,
        submitted_on=_date(c.submitted_on, lang),
        applicant_name=c.applicant_name,
        submitted_documents=[
            SubmittedDisplay(d.title, _date(d.submitted_on, lang) if d.submitted_on else "")
            for d in c.submitted_documents
        ],
        history=[
            HistoryDisplay(
                subject=h.subject,
                sent=format_when(h.sent_at, lang),
                answered=format_when(h.reply.received_at, lang) if h.reply else "",
            )
            for h in msg.history
        ],
        answerable=msg.answerable,
        can_ask_more_time=asks,
        deadline_consequence=translate(lang, f"extension.consequence_{msg.kind}") if asks else "",
        glossary=glossary_display(msg, lang),
    )
    if msg.appointment is not None:
        ap = msg.appointment
        # The day at the authority (a 00:30 appointment in Berlin is the day before in UTC), as
        # the calendar file has it.
        view.appointment_when = ics.appointment_when(msg, lang)
        view.appointment_place = ap.place
        view.appointment_bring = ap.bring
    if msg.responsible_authority is not None:
        ra = msg.responsible_authority
        view.responsible_name = ra.name
        linked = ra.website if ra.website.lower().startswith(("https://", "http://")) else ""
        view.responsible_website = linked
        lines = (ra.address, ra.phone, ra.email, "" if linked else ra.website)
        view.responsible_contact = "\n".join(x for x in lines if x)
    return view


def file_display(upload: StoredUpload, lang: str, position: int = 0, count: int = 1) -> FileDisplay:
    thumb = upload.thumbnail
    return FileDisplay(
        id=upload.id,
        name=upload.original_name,
        kind=translate(lang, f"filetype.{upload.extension}"),
        size=formatting.format_file_size(upload.size, lang),
        pages=translate_count(lang, "upload.pages", upload.pages) if upload.pages and upload.pages > 1 else "",
        # A data URI: previews never travel through a served path (files stay outside them).
        thumbnail=f"data:image/jpeg;base64,{base64.b64encode(thumb).decode()}" if thumb else "",
        hints=[translate(lang, f"hint.{code}") for code in upload.quality],
        notes=[translate(lang, f"notice.{code}") for code in upload.notes],
        is_image=upload.media_type.startswith("image/"),
        first=position == 0,
        last=position == count - 1,
    )


def files_display(ids: Sequence[str], uploads: Mapping[str, StoredUpload], lang: str) -> list[FileDisplay]:
    present = [uploads[i] for i in ids if i in uploads]
    return [file_display(u, lang, n, len(present)) for n, u in enumerate(present)]


def items_display(
    msg: MessageView,
    draft: Draft,
    uploads: Mapping[str, StoredUpload],
    problems: Sequence[Problem],
    lang: str,
) -> list[ItemDisplay]:
    drafts = {d.item_id: d for d in draft.items}
    count = len(msg.requested_items)
    views = []
    for index, item in enumerate(msg.requested_items):
        d = drafts[item.id]
        files = files_display(d.files, uploads, lang)
        if files:
            status = translate_count(lang, "item.status.provided", len(files))
        elif d.not_available:
            status = translate(lang, "item.status.not_available")
        else:
            status = translate(lang, "item.status.open")
        views.append(
            ItemDisplay(
                id=item.id,
                index=index,
                counter=translate(lang, "steps.item_counter", position=index + 1, count=count),
                code=item.code,
                title=translate(lang, f"catalogue.{item.code}.title"),
                title_de=item.title_de,
                badge=translate(lang, "item.required" if item.required else "item.optional"),
                required=item.required,
                note=item.note,
                guidance=translate(lang, f"catalogue.{item.code}.guidance"),
                uploadable=catalogue.is_uploadable(item.code),
                files=files,
                can_merge=sum(1 for f in files if f.is_image) >= 2,
                not_available=d.not_available,
                reason=d.reason,
                expected_date=d.expected_date.isoformat() if d.expected_date else "",
                status=status,
                errors=[translate(lang, f"error.{p.code}") for p in problems if p.field == item.id],
            )
        )
    return views


def extras_display(draft: Draft, uploads: Mapping[str, StoredUpload], lang: str) -> list[ExtraDisplay]:
    views = []
    for i, e in enumerate(draft.extras):
        title = translate(lang, f"catalogue.{e.code}.title")
        files = files_display(e.files, uploads, lang)
        summary = translate_count(lang, "review.extra_files", len(files), title=title)
        views.append(ExtraDisplay(index=i, title=title, description=e.description, files=files, summary=summary))
    return views


@dataclasses.dataclass
class ExtensionDisplay:
    """The request for more time on its step and on the review."""

    asked: bool = False
    until: str = ""  # ISO, the date field's value
    reason: str = ""
    earliest: str = ""  # ISO, the date field's min and max
    latest: str = ""
    window: str = ""  # the dates allowed, as a sentence
    summary: str = ""  # "more time asked until ...", as a sentence
    errors: list[str] = dataclasses.field(default_factory=list)


def extension_display(
    msg: MessageView, draft: Draft, problems: Sequence[Problem], lang: str, today: date
) -> ExtensionDisplay:
    allowed = window(today, msg.deadline)
    view = ExtensionDisplay(
        earliest=allowed.earliest.isoformat(),
        latest=allowed.latest.isoformat(),
        window=translate(
            lang, "extension.window", earliest=_date(allowed.earliest, lang), latest=_date(allowed.latest, lang)
        ),
    )
    request = draft.extension
    if request is None:
        return view
    view.asked = True
    view.until = request.until.isoformat() if request.until else ""
    view.reason = request.reason
    view.summary = extension_summary(request.until, msg.deadline, lang)
    view.errors = [translate(lang, f"error.{p.code}") for p in problems if p.field == "extension"]
    return view


def extension_summary(until: date | None, deadline: date | None, lang: str) -> str:
    """What the applicant asked, and that the deadline stands until the authority answers."""
    if until is None:
        return translate(lang, "extension.summary_no_date")
    return translate(lang, "extension.summary", until=_date(until, lang), deadline=_date(deadline, lang))


def problems_display(problems: Sequence[Problem], lang: str) -> list[ProblemDisplay]:
    return [ProblemDisplay(field=p.field, message=translate(lang, f"error.{p.code}")) for p in problems]


def extra_code_options(lang: str) -> list[dict[str, str]]:
    return [{"code": code, "name": translate(lang, f"catalogue.{code}.title")} for code in catalogue.EXTRA_CODES]


def glossary_display(msg: MessageView, lang: str) -> list[GlossaryDisplay]:
    """The administrative terms in the authority's German words, explained in ``lang``."""
    words = [msg.subject, msg.body, *(i.note for i in msg.requested_items)]
    german, local = i18n.glossary(i18n.REFERENCE_LANGUAGE), i18n.glossary(lang)
    return [
        GlossaryDisplay(
            german=german[term]["term"],
            # In German the term is its own translation: show it once.
            term="" if local[term]["term"] == german[term]["term"] else local[term]["term"],
            explanation=local[term]["explanation"],
        )
        for term in terms_in(words)
        if term in local
    ]
