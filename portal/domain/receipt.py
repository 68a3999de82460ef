"""What the receipt of a reply says: the facts of one submission, as sections of text per language.

The receipt is the applicant's proof of what they sent and when, and the caseworker's copy of the
same document (it travels with the reply, ``OutgoingReply.receipt``). This module decides its
content; ``portal.receipt_pdf`` only lays it out. Every label comes from ``locales/*.json``
(section ``receipt``, and the page's own words where the receipt repeats them: item titles,
the appointment answer, the declaration), dates, sizes and numbers from Babel.

The applicant's section comes first, in the language they used; a German section with the same
facts follows, so a German reader (the authority, a lawyer, a court) reads it too. A reply
written in German gets the German section only. What the applicant or the authority wrote
(free text, reasons, descriptions, subject, file names) is quoted as written, never translated.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from portal.domain.formatting import format_date_long, format_datetime, format_file_size, format_number
from portal.domain.i18n import REFERENCE_LANGUAGE, text_direction, translate, translate_count
from portal.domain.message import MessageView
from portal.domain.outgoing import ExtensionRequest, OutgoingFile, OutgoingReply

MEDIA_TYPE = "application/pdf"
# The case service's name for the file; ASCII, as the caseworkers' file systems want it.
FILE_STEM = "Eingangsbestaetigung"


@dataclass(frozen=True, slots=True)
class Field:
    """One fact: its label and its value. ``fixed`` marks values that are codes (hashes, file
    names, reference numbers), which the layout keeps left to right whatever the language."""

    label: str
    value: str
    fixed: bool = False


@dataclass(frozen=True, slots=True)
class Block:
    """A titled group of facts; ``subheading`` names a part inside it (an item, a file)."""

    heading: str
    fields: tuple[Field, ...] = ()
    level: int = 1  # 1: a part of the receipt, 2: an item or document inside it, 3: a file


@dataclass(frozen=True, slots=True)
class Section:
    lang: str
    direction: str  # ltr | rtl
    title: str
    intro: tuple[str, ...]
    blocks: tuple[Block, ...]
    footer: str  # "Eingangsnummer {reference} · Seite {page} von {pages}" with {page}/{pages} left open


@dataclass(frozen=True, slots=True)
class ReceiptDocument:
    reference: str
    file_name: str
    title: str  # the PDF's title (German)
    sections: tuple[Section, ...]


def document_to_json(document: ReceiptDocument) -> dict[str, Any]:
    """The document as JSON values: how it reaches the sandbox's child that lays it out."""
    return asdict(document)


def document_from_json(data: Mapping[str, Any]) -> ReceiptDocument:
    """The document again from :func:`document_to_json`. Raises KeyError or TypeError on
    anything else."""

    def block(b: Mapping[str, Any]) -> Block:
        return Block(b["heading"], tuple(Field(**f) for f in b["fields"]), int(b["level"]))

    def section(s: Mapping[str, Any]) -> Section:
        blocks = tuple(block(b) for b in s["blocks"])
        return Section(s["lang"], s["direction"], s["title"], tuple(s["intro"]), blocks, s["footer"])

    return ReceiptDocument(
        data["reference"], data["file_name"], data["title"], tuple(section(s) for s in data["sections"])
    )


def texts(document: ReceiptDocument) -> Iterator[str]:
    """Every text the document sets (the layout picks its fonts by the scripts in them)."""
    yield document.title
    for section in document.sections:
        yield from (section.title, section.footer, *section.intro)
        for b in section.blocks:
            yield b.heading
            for f in b.fields:
                yield from (f.label, f.value)


def receipt_languages(lang: str) -> tuple[str, ...]:
    """The applicant's language, then German; German alone for a reply in German."""
    return (lang,) if lang == REFERENCE_LANGUAGE else (lang, REFERENCE_LANGUAGE)


def file_name(reference: str) -> str:
    """``Eingangsbestaetigung_RK-XXXX-XXXX.pdf``: the outbox reference is safe in a file name."""
    return f"{FILE_STEM}_{reference}.pdf"


def build_receipt(message: MessageView, reply: OutgoingReply, reference: str, received_at: datetime) -> ReceiptDocument:
    """The receipt of ``reply`` to ``message``, received at ``received_at`` under ``reference``.

    ``reply.receipt`` is not read (the receipt cannot describe itself); every other part is.
    """
    sections = tuple(
        _section(lang, message, reply, reference, received_at) for lang in receipt_languages(reply.language)
    )
    return ReceiptDocument(
        reference=reference,
        file_name=file_name(reference),
        title=translate(REFERENCE_LANGUAGE, "receipt.title"),
        sections=sections,
    )


def _section(lang: str, message: MessageView, reply: OutgoingReply, reference: str, received: datetime) -> Section:
    def tr(key: str, **params: object) -> str:
        return translate(lang, f"receipt.{key}", **params)

    when = format_datetime(received, lang)
    intro = [tr("intro", received=when, reference=reference)]
    if lang != REFERENCE_LANGUAGE:
        intro.append(tr("german_follows"))
    elif reply.language != REFERENCE_LANGUAGE:
        intro.insert(0, tr("german_version"))
    intro.append(tr("same_document"))
    files = {f.key: f for f in reply.files}
    blocks = [
        Block(
            tr("about"),
            (
                Field(tr("authority"), "\n".join(filter(None, (message.authority.name, message.authority.address)))),
                Field(translate(lang, "request.reference"), message.case.reference, fixed=True),
                Field(tr("message"), message.subject),
                Field(tr("message_kind"), translate(lang, f"kind.{message.kind.value}")),
                Field(tr("message_sent"), format_date_long(message.sent_at.date(), lang)),
                Field(tr("receipt_number"), reference, fixed=True),
                Field(tr("received"), f"{when}\n{tr('time_zone')}"),
            ),
        )
    ]
    blocks += _items(lang, message, reply, files)
    blocks += _extras(lang, reply, files)
    blocks.append(Block(tr("text"), (Field("", reply.text or tr("text_none")),)))
    if reply.extension_request is not None:
        blocks.append(_extension(lang, message, reply.extension_request))
    if reply.appointment is not None:
        blocks.append(_appointment(lang, message, reply))
    blocks.append(
        Block(
            tr("declaration"),
            (
                Field(
                    tr("declaration_label"),
                    translate(lang, "review.declaration") if reply.declaration else tr("declaration_not_given"),
                ),
            ),
        )
    )
    blocks.append(Block(tr("checksum_heading"), (Field("", tr("checksum_note")),)))
    return Section(
        lang=lang,
        direction=text_direction(lang),
        title=tr("title"),
        intro=tuple(intro),
        blocks=tuple(blocks),
        footer=tr("footer", reference=reference),
    )


def _items(lang: str, message: MessageView, reply: OutgoingReply, files: dict[str, OutgoingFile]) -> list[Block]:
    if not message.requested_items:
        return []
    answers = {answer.item_id: answer for answer in reply.items}
    blocks = [Block(translate(lang, "receipt.items"))]
    for item in message.requested_items:
        heading = translate(lang, f"catalogue.{item.code}.title")
        needed = translate(lang, "item.required" if item.required else "item.optional")
        answer = answers.get(item.id)
        fields = []
        if lang != REFERENCE_LANGUAGE:
            # The authority's own word, on a line of its own (no brackets across scripts).
            fields.append(Field(translate(lang, "item.authority_title").rstrip(":：").strip(), item.title_de))
        fields.append(Field(translate(lang, "receipt.item_needed"), needed))
        sent: list[Block] = []
        if answer is None:
            fields.append(Field(translate(lang, "receipt.status"), translate(lang, "receipt.status_open")))
        elif answer.status == "not_available":
            fields.append(Field(translate(lang, "receipt.status"), translate(lang, "receipt.status_not_available")))
            fields.append(Field(translate(lang, "receipt.reason"), answer.reason))
            if answer.expected_date is not None:
                fields.append(
                    Field(translate(lang, "receipt.expected_date"), format_date_long(answer.expected_date, lang))
                )
        else:
            count = len(answer.files)
            fields.append(
                Field(
                    translate(lang, "receipt.status"),
                    translate_count(lang, "item.status.provided", count),
                )
            )
            sent = _files(lang, [files[key] for key in answer.files if key in files])
        blocks.append(Block(heading, tuple(fields), level=2))
        blocks += sent
    return blocks


def _extras(lang: str, reply: OutgoingReply, files: dict[str, OutgoingFile]) -> list[Block]:
    if not reply.extra_documents:
        return []
    blocks = [Block(translate(lang, "receipt.extras"))]
    for doc in reply.extra_documents:
        title = translate(lang, f"catalogue.{doc.code}.title")
        fields = [Field(translate(lang, "receipt.extra_type"), title)]
        if doc.description:
            fields.append(Field(translate(lang, "receipt.extra_description"), doc.description))
        blocks.append(Block(title, tuple(fields), level=2))
        blocks += _files(lang, [files[key] for key in doc.files if key in files])
    return blocks


def _files(lang: str, files: Sequence[OutgoingFile]) -> list[Block]:
    blocks = []
    for number, file in enumerate(files, start=1):
        fields = [
            Field(translate(lang, "receipt.file_name"), file.name, fixed=True),
            Field(translate(lang, "receipt.original_name"), file.original_name or "–", fixed=True),
        ]
        if file.pages is not None:
            fields.append(Field(translate(lang, "receipt.pages"), format_number(file.pages, lang)))
        fields.append(Field(translate(lang, "receipt.size"), format_file_size(file.size, lang)))
        fields.append(Field(translate(lang, "receipt.sha512"), file.sha512, fixed=True))
        heading = translate(lang, "receipt.file_heading", number=format_number(number, lang))
        blocks.append(Block(heading, tuple(fields), level=3))
    return blocks


def _extension(lang: str, message: MessageView, asked: ExtensionRequest) -> Block:
    # The request, and that the deadline stands until the authority answers: the receipt must not
    # read as if more time had been granted.
    until = format_date_long(asked.until, lang)
    fields = [
        Field(translate(lang, "extension.until"), until),
        Field(translate(lang, "receipt.reason"), asked.reason),
    ]
    if message.deadline is not None:
        deadline = format_date_long(message.deadline, lang)
        fields.append(Field("", translate(lang, "extension.summary", until=until, deadline=deadline)))
    return Block(translate(lang, "receipt.extension"), tuple(fields))


def _appointment(lang: str, message: MessageView, reply: OutgoingReply) -> Block:
    answer = reply.appointment
    assert answer is not None
    fields = []
    if message.appointment is not None:
        fields.append(
            Field(translate(lang, "appointment.when_label"), format_datetime(message.appointment.starts_at, lang))
        )
        fields.append(Field(translate(lang, "appointment.place"), message.appointment.place))
    fields.append(Field(translate(lang, "receipt.status"), translate(lang, f"appointment.{answer.answer}")))
    if answer.answer == "reschedule":
        fields.append(Field(translate(lang, "appointment.reason"), answer.reason))
        if answer.suitable_times:
            fields.append(Field(translate(lang, "appointment.times"), answer.suitable_times))
    return Block(translate(lang, "receipt.appointment"), tuple(fields))
