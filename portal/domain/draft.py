"""The applicant's draft reply: its validation, and its assembly into the reply to hand over.

Validators are small functions, one rule each, returning an error code (locale key
``error.<code>``) or None. The ``validate_*`` functions run them in page order and return
:class:`Problem` s whose ``field`` is a stable anchor: the item's id (``item-2``) for every
problem of that item, ``extras``, ``appointment``, ``text``, ``declaration``.

Codes: item_missing, reason_missing, reason_too_long, expected_date_past, extra_files_missing,
extra_code_invalid, description_too_long, appointment_answer_missing, reschedule_reason_missing,
suitable_times_too_long, text_too_long, reply_empty, declaration_missing, and those of a request for
more time (:mod:`portal.domain.extension`, anchored at ``extension``); build_reply raises
DraftError upload_missing. The assembled reply is a :class:`portal.domain.outgoing.OutgoingReply`.

Semantics the UI relies on: an item marked "not available" sends no files (the files stay in the
draft so unticking restores them); an optional item with neither is left out; an extra row with
no files and no description is ignored. While more time is asked (``Draft.extension``), the
requested items may stay open; withdrawn (None again), the usual rules stand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from portal.domain.catalogue import file_stem, is_known, is_uploadable
from portal.domain.errors import DraftError
from portal.domain.extension import ExtensionDraft, extension_problems
from portal.domain.message import ANSWERABLE_KINDS, MessageKind, MessageView
from portal.domain.outgoing import (
    AppointmentAnswer,
    ExtensionRequest,
    ExtraDocument,
    ItemAnswer,
    OutgoingFile,
    OutgoingReply,
)
from portal.domain.uploads import StoredUpload, caseworker_name, clean_original_name

# Bounds of the wire contract (casesvc.schemas MEDIUM and SHORT): a longer text would be refused
# by the case service after the applicant pressed submit, so it is caught in the form instead.
MAX_REASON_CHARS = 2_000
MAX_SUITABLE_TIMES_CHARS = 2_000
MAX_DESCRIPTION_CHARS = 200

KINDS_WITH_ITEMS = frozenset({MessageKind.question, MessageKind.intent_to_refuse})


# ---------------------------------------------------------------- the draft (mutable: the UI edits it)


@dataclass
class ItemDraft:
    item_id: str
    code: str
    required: bool = True
    files: list[str] = field(default_factory=list)  # StoredUpload ids
    not_available: bool = False
    reason: str = ""
    expected_date: date | None = None

    @property
    def provided(self) -> bool:
        return bool(self.files) and not self.not_available


@dataclass
class ExtraDraft:
    code: str
    description: str = ""
    files: list[str] = field(default_factory=list)

    @property
    def blank(self) -> bool:
        return not self.files and not self.description.strip()


@dataclass
class AppointmentDraft:
    answer: str = ""  # "confirm", "reschedule", or "" while the applicant has not chosen
    reason: str = ""
    suitable_times: str = ""


@dataclass
class Draft:
    items: list[ItemDraft] = field(default_factory=list)
    text: str = ""
    extras: list[ExtraDraft] = field(default_factory=list)
    appointment: AppointmentDraft = field(default_factory=AppointmentDraft)
    declaration: bool = False
    # More time asked (a question or a hearing only); None while not asked, or once withdrawn.
    extension: ExtensionDraft | None = None


def empty_draft(message: MessageView) -> Draft:
    """The draft of a message nobody has answered yet: one open item per requested item."""
    return Draft(items=[ItemDraft(item_id=i.id, code=i.code, required=i.required) for i in message.requested_items])


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    code: str


# ---------------------------------------------------------------- rules, one each


def item_missing(item: ItemDraft, today: date) -> str | None:
    return "item_missing" if item.required and not item.files and not item.not_available else None


def reason_missing(item: ItemDraft, today: date) -> str | None:
    return "reason_missing" if item.not_available and not item.reason.strip() else None


def reason_too_long(item: ItemDraft, today: date) -> str | None:
    return "reason_too_long" if item.not_available and len(item.reason.strip()) > MAX_REASON_CHARS else None


def expected_date_past(item: ItemDraft, today: date) -> str | None:
    late = item.not_available and item.expected_date is not None and item.expected_date < today
    return "expected_date_past" if late else None


ITEM_RULES: tuple[Callable[[ItemDraft, date], str | None], ...] = (
    item_missing,
    reason_missing,
    reason_too_long,
    expected_date_past,
)


def extra_files_missing(extra: ExtraDraft) -> str | None:
    return "extra_files_missing" if not extra.files else None


def extra_code_invalid(extra: ExtraDraft) -> str | None:
    # The biometric photo is never an upload, and an unknown code would be refused on the wire.
    return "extra_code_invalid" if not (is_known(extra.code) and is_uploadable(extra.code)) else None


def description_too_long(extra: ExtraDraft) -> str | None:
    return "description_too_long" if len(extra.description.strip()) > MAX_DESCRIPTION_CHARS else None


EXTRA_RULES: tuple[Callable[[ExtraDraft], str | None], ...] = (
    extra_files_missing,
    extra_code_invalid,
    description_too_long,
)


def appointment_answer_missing(appointment: AppointmentDraft) -> str | None:
    return "appointment_answer_missing" if appointment.answer not in ("confirm", "reschedule") else None


def reschedule_reason_missing(appointment: AppointmentDraft) -> str | None:
    missing = appointment.answer == "reschedule" and not appointment.reason.strip()
    return "reschedule_reason_missing" if missing else None


def appointment_reason_too_long(appointment: AppointmentDraft) -> str | None:
    too_long = appointment.answer == "reschedule" and len(appointment.reason.strip()) > MAX_REASON_CHARS
    return "reason_too_long" if too_long else None


def suitable_times_too_long(appointment: AppointmentDraft) -> str | None:
    too_long = appointment.answer == "reschedule" and len(appointment.suitable_times.strip()) > MAX_SUITABLE_TIMES_CHARS
    return "suitable_times_too_long" if too_long else None


APPOINTMENT_RULES: tuple[Callable[[AppointmentDraft], str | None], ...] = (
    appointment_answer_missing,
    reschedule_reason_missing,
    appointment_reason_too_long,
    suitable_times_too_long,
)


def text_too_long(draft: Draft, max_text_chars: int) -> str | None:
    return "text_too_long" if len(draft.text.strip()) > max_text_chars else None


def reply_empty(draft: Draft, kind: str) -> str | None:
    # A question or hearing answered with nothing at all (no item, no text, no further document)
    # tells the caseworker nothing; required items are caught item by item first.
    if kind not in KINDS_WITH_ITEMS:
        return None
    answered = draft.extension is not None or any(i.provided or i.not_available for i in draft.items)
    has_extra = any(e.files for e in draft.extras)
    return "reply_empty" if not (answered or has_extra or draft.text.strip()) else None


def declaration_missing(draft: Draft) -> str | None:
    return "declaration_missing" if not draft.declaration else None


# ---------------------------------------------------------------- validation


def validate_item(item: ItemDraft, today: date, more_time: bool = False) -> list[Problem]:
    """An item's problems; while more time is asked (``more_time``) it may stay open."""
    rules = tuple(r for r in ITEM_RULES if r is not item_missing) if more_time else ITEM_RULES
    return [Problem(item.item_id, code) for rule in rules if (code := rule(item, today))]


def validate_extension(extension: ExtensionDraft | None, today: date, deadline: date | None) -> list[Problem]:
    if extension is None:
        return []
    return [Problem("extension", code) for code in extension_problems(extension, today, deadline)]


def validate_extra(extra: ExtraDraft) -> list[Problem]:
    if extra.blank:
        return []
    return [Problem("extras", code) for rule in EXTRA_RULES if (code := rule(extra))]


def validate_appointment(appointment: AppointmentDraft | None) -> list[Problem]:
    appointment = appointment or AppointmentDraft()
    return [Problem("appointment", code) for rule in APPOINTMENT_RULES if (code := rule(appointment))]


def validate_draft(
    draft: Draft, kind: str, today: date, max_text_chars: int, deadline: date | None = None
) -> list[Problem]:
    """Every problem that stops submission, in page order. Raises ValueError for a kind without reply."""
    _require_answerable(kind)
    problems: list[Problem] = []
    if kind in KINDS_WITH_ITEMS:
        problems += validate_extension(draft.extension, today, deadline)
        for item in draft.items:
            problems += validate_item(item, today, more_time=draft.extension is not None)
    for extra in draft.extras:
        problems += validate_extra(extra)
    if kind == MessageKind.appointment:
        problems += validate_appointment(draft.appointment)
    if code := text_too_long(draft, max_text_chars):
        problems.append(Problem("text", code))
    if code := reply_empty(draft, kind):
        problems.append(Problem("text", code))
    if code := declaration_missing(draft):
        problems.append(Problem("declaration", code))
    return problems


def _require_answerable(kind: str) -> None:
    if kind not in ANSWERABLE_KINDS:
        raise ValueError(f"a {kind} message takes no reply")


# ---------------------------------------------------------------- assembly


class _Files:
    """Gives each upload one multipart key (f1, f2, ...) and a caseworker name numbered per stem."""

    def __init__(self, uploads: Mapping[str, StoredUpload], case_reference: str) -> None:
        self._uploads = uploads
        self._reference = case_reference
        self._keys: dict[str, str] = {}
        self._per_stem: dict[str, int] = {}
        self.outgoing: list[OutgoingFile] = []

    def keys(self, upload_ids: list[str], code: str) -> tuple[str, ...]:
        return tuple(self._key(upload_id, code) for upload_id in upload_ids)

    def _key(self, upload_id: str, code: str) -> str:
        if upload_id in self._keys:  # listed twice: send the bytes once
            return self._keys[upload_id]
        upload = self._uploads.get(upload_id)
        if upload is None:
            # The temporary file is gone (cleaned up after its time limit): the applicant must
            # upload it again, rather than the caseworker getting a reply without it.
            raise DraftError("upload_missing", upload_id=upload_id)
        # Numbered per stem across the whole reply, so two items of one code never share a name.
        stem = file_stem(code)
        index = self._per_stem[stem] = self._per_stem.get(stem, 0) + 1
        key = f"f{len(self._keys) + 1}"
        self._keys[upload_id] = key
        self.outgoing.append(
            OutgoingFile(
                key=key,
                name=caseworker_name(code, self._reference, index, upload.extension),
                original_name=clean_original_name(upload.original_name),
                media_type=upload.media_type,
                size=upload.size,
                pages=upload.pages,
                sha512=upload.sha512,
                stored_as=upload.id,
            )
        )
        return key


def build_reply(
    draft: Draft,
    kind: str,
    case_reference: str,
    language: str,
    uploads: Mapping[str, StoredUpload],
    submitted_at: datetime,
) -> OutgoingReply:
    """The reply to hand over: the ``ReplyIn`` body and the files to send with it.

    Call after :func:`validate_draft` returned no problem. Raises DraftError ``upload_missing``
    if a referenced upload is no longer in ``uploads``, ValueError for a naive ``submitted_at``.
    """
    _require_answerable(kind)
    if submitted_at.tzinfo is None:
        raise ValueError("submitted_at needs a time zone: the contract sends offsets")
    files = _Files(uploads, case_reference)
    items: list[ItemAnswer] = []
    if kind in KINDS_WITH_ITEMS:
        for item in draft.items:
            if item.not_available:
                items.append(
                    ItemAnswer(
                        item_id=item.item_id,
                        status="not_available",
                        reason=item.reason.strip(),
                        expected_date=item.expected_date,
                    )
                )
            elif item.files:
                items.append(
                    ItemAnswer(item_id=item.item_id, status="provided", files=files.keys(item.files, item.code))
                )
    extras = [
        ExtraDocument(code=e.code, description=e.description.strip(), files=files.keys(e.files, e.code))
        for e in draft.extras
        if e.files
    ]
    appointment = None
    if kind == MessageKind.appointment and draft.appointment.answer in ("confirm", "reschedule"):
        reschedule = draft.appointment.answer == "reschedule"
        appointment = AppointmentAnswer(
            answer="reschedule" if reschedule else "confirm",
            reason=draft.appointment.reason.strip() if reschedule else "",
            suitable_times=draft.appointment.suitable_times.strip() if reschedule else "",
        )
    extension = None
    if kind in KINDS_WITH_ITEMS and draft.extension is not None and draft.extension.until is not None:
        extension = ExtensionRequest(until=draft.extension.until, reason=draft.extension.reason.strip())
    return OutgoingReply(
        submitted_at=submitted_at,
        language=language,
        text=draft.text.strip(),
        items=tuple(items),
        extra_documents=tuple(extras),
        appointment=appointment,
        extension_request=extension,
        declaration=draft.declaration,
        files=tuple(files.outgoing),
    )
