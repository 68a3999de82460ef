"""Wire shapes of the case-service contract (the OpenAPI document is generated from these).

Versioned under ``/api/v1``. JSON, UTF-8, timestamps ISO 8601 with offset, dates ``YYYY-MM-DD``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

# Every free-text field has a server-side bound; the numbers are generous for a caseworker's
# message and for an applicant's answer, and small enough that nobody can fill the database.
SHORT = 200
MEDIUM = 2_000
LONG = 20_000
# How far past its deadline an applicant may ask to have it moved. A reply deadline is weeks; a
# request for more than three months is no longer "more time" but a case to discuss with the
# caseworker, and it would keep a case open beyond any planning. The portal holds the same number.
MAX_EXTENSION_DAYS = 90


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageKind(StrEnum):
    question = "question"
    appointment = "appointment"
    intent_to_refuse = "intent_to_refuse"
    status = "status"
    not_responsible = "not_responsible"


ANSWERABLE_KINDS = frozenset({MessageKind.question, MessageKind.intent_to_refuse, MessageKind.appointment})
KINDS_WITH_ITEMS = frozenset({MessageKind.question, MessageKind.intent_to_refuse})
KINDS_WITHOUT_DEADLINE = frozenset({MessageKind.status, MessageKind.not_responsible})


class ItemCode(StrEnum):
    passport = "passport"
    biometric_photo = "biometric_photo"
    health_insurance = "health_insurance"
    registration_certificate = "registration_certificate"
    rental_contract = "rental_contract"
    employment_contract = "employment_contract"
    employment_declaration = "employment_declaration"
    payslips = "payslips"
    degree_certificate = "degree_certificate"
    degree_recognition = "degree_recognition"
    language_certificate = "language_certificate"
    cv = "cv"
    enrolment_certificate = "enrolment_certificate"
    proof_of_funds = "proof_of_funds"
    declaration_of_commitment = "declaration_of_commitment"
    marriage_certificate = "marriage_certificate"
    birth_certificate = "birth_certificate"
    benefit_notice = "benefit_notice"
    integration_course = "integration_course"
    business_registration = "business_registration"
    business_plan = "business_plan"
    translation = "translation"
    other = "other"


class LinkState(StrEnum):
    open = "open"
    answered = "answered"
    expired = "expired"
    revoked = "revoked"


# ---------------------------------------------------------------- message (authority → applicant)


class Authority(Strict):
    name: str = Field(max_length=SHORT)
    address: str = Field(max_length=MEDIUM)
    contact_person: str = Field(default="", max_length=SHORT)
    phone: str = Field(default="", max_length=SHORT)
    email: str = Field(default="", max_length=SHORT)
    opening_hours: str = Field(default="", max_length=MEDIUM)


class SubmittedDocument(Strict):
    title: str = Field(max_length=SHORT)
    submitted_on: date | None = None


class CaseContext(Strict):
    reference: str = Field(min_length=1, max_length=64, description="Vorgangsnummer")
    service_name: str = Field(max_length=SHORT)
    service_id: str = Field(default="", max_length=SHORT)
    submitted_on: date
    applicant_name: str = Field(max_length=SHORT)
    preferred_language: str | None = Field(
        default=None,
        max_length=16,
        description="The applicant's language as the authority recorded it (BCP 47, e.g. ar); null when not known, "
        "and the portal then follows the browser's language",
    )
    submitted_documents: list[SubmittedDocument] = Field(default_factory=list, max_length=100)


class RequestedItemIn(Strict):
    code: ItemCode
    required: bool = True
    note: str = Field(default="", max_length=MEDIUM)


class RequestedItem(RequestedItemIn):
    id: str = Field(description="Stable within the message: item-1, item-2, ...")
    title_de: str


class Appointment(Strict):
    # Aware datetimes only: a naive "09:30" is ambiguous between the caseworker's and the server's zone.
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: str = Field(max_length=MEDIUM)
    bring: str = Field(default="", max_length=MEDIUM)

    @model_validator(mode="after")
    def _ends_after_start(self) -> Appointment:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class ResponsibleAuthority(Strict):
    name: str = Field(max_length=SHORT)
    address: str = Field(default="", max_length=MEDIUM)
    phone: str = Field(default="", max_length=SHORT)
    email: str = Field(default="", max_length=SHORT)
    website: str = Field(default="", max_length=SHORT)


class MessageIn(Strict):
    kind: MessageKind
    subject: str = Field(min_length=1, max_length=SHORT)
    body: str = Field(min_length=1, max_length=LONG)
    sent_at: AwareDatetime | None = Field(default=None, description="Defaults to the time the case service receives it")
    deadline: date | None = None
    authority: Authority
    case: CaseContext
    requested_items: list[RequestedItemIn] = Field(default_factory=list, max_length=30)
    appointment: Appointment | None = None
    responsible_authority: ResponsibleAuthority | None = None

    @model_validator(mode="after")
    def _kind_fits(self) -> MessageIn:
        if self.kind in KINDS_WITHOUT_DEADLINE and self.deadline is not None:
            raise ValueError(f"a {self.kind} message has no deadline")
        if self.kind not in KINDS_WITHOUT_DEADLINE and self.deadline is None:
            raise ValueError(f"a {self.kind} message needs a deadline")
        if self.kind not in KINDS_WITH_ITEMS and self.requested_items:
            raise ValueError(f"a {self.kind} message has no requested items")
        if (self.kind == MessageKind.appointment) != (self.appointment is not None):
            raise ValueError("appointment is required for, and only for, kind appointment")
        if (self.kind == MessageKind.not_responsible) != (self.responsible_authority is not None):
            raise ValueError("responsible_authority is required for, and only for, kind not_responsible")
        return self


class MessageCreated(Strict):
    id: str
    reply_link: str = Field(max_length=255)
    expires_at: datetime


class ReplySummary(Strict):
    reply_id: str
    received_at: datetime


class HistoryEntry(Strict):
    id: str
    kind: MessageKind
    subject: str
    sent_at: datetime
    reply: ReplySummary | None = None


class Message(Strict):
    id: str
    kind: MessageKind
    subject: str
    body: str
    sent_at: datetime
    deadline: date | None
    expires_at: datetime
    link_state: LinkState
    answered_at: datetime | None = None
    last_opened_at: datetime | None = None
    authority: Authority
    case: CaseContext
    requested_items: list[RequestedItem]
    appointment: Appointment | None = None
    responsible_authority: ResponsibleAuthority | None = None
    history: list[HistoryEntry] = Field(
        default_factory=list, description="Earlier messages in the same case, oldest first"
    )


class RevokeIn(Strict):
    reason: str = Field(default="", max_length=MEDIUM)


class Revoked(Strict):
    id: str
    link_state: LinkState


# ---------------------------------------------------------------- link (portal face)


class ResolveIn(Strict):
    token: str = Field(min_length=1, max_length=255)


class Resolved(Strict):
    message_id: str
    state: LinkState
    answered_at: datetime | None = None
    expires_at: datetime


# ---------------------------------------------------------------- reply (applicant → authority)


class ItemStatus(StrEnum):
    provided = "provided"
    not_available = "not_available"


class AppointmentAnswer(StrEnum):
    confirm = "confirm"
    reschedule = "reschedule"


class FileMeta(Strict):
    """One file of a reply. ``key`` names the multipart part that carries the bytes."""

    key: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    name: str = Field(
        min_length=1, max_length=SHORT, description="Built from item and case, e.g. Arbeitsvertrag_ABH-2026-0042_1.pdf"
    )
    original_name: str = Field(
        default="", max_length=SHORT, description="Cleaned name on the applicant's device; metadata only"
    )
    media_type: str = Field(pattern=r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$", max_length=100)
    size: int = Field(ge=1)
    pages: int | None = Field(default=None, ge=1)
    sha512: str = Field(pattern=r"^[0-9a-f]{128}$")

    @field_validator("name", "original_name")
    @classmethod
    def _plain_file_name(cls, value: str) -> str:
        # The name travels into a Content-Disposition header and into the authority's file system:
        # no path separators, no control characters (header injection), no "." or "..".
        if any(ch in value for ch in "/\\") or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError("file names must not contain path separators or control characters")
        if value.strip(".") == "" and value != "":
            raise ValueError("file name must not consist of dots only")
        return value


class ItemAnswerIn(Strict):
    item_id: str = Field(max_length=32)
    status: ItemStatus
    files: list[str] = Field(default_factory=list, max_length=20, description="FileMeta keys")
    reason: str = Field(default="", max_length=MEDIUM)
    expected_date: date | None = None


class ExtraDocumentIn(Strict):
    code: ItemCode
    description: str = Field(default="", max_length=SHORT)
    files: list[str] = Field(min_length=1, max_length=20)


class AppointmentReply(Strict):
    answer: AppointmentAnswer
    reason: str = Field(default="", max_length=MEDIUM)
    suitable_times: str = Field(default="", max_length=MEDIUM)


class ExtensionRequest(Strict):
    """The applicant asks for the deadline to be moved. A request: the deadline stands until the
    authority answers it."""

    until: date = Field(description="The date the applicant asks to have until")
    reason: str = Field(min_length=1, max_length=MEDIUM)

    @field_validator("reason")
    @classmethod
    def _reason_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a reason is required")
        return value


class ReplyIn(Strict):
    submitted_at: AwareDatetime = Field(
        description="When the applicant pressed submit in the portal. A reply delivered late (the case "
        "service was down) is accepted if it was submitted while the link was open."
    )
    language: str = Field(max_length=16, description="Language the applicant used the portal in")
    text: str = Field(default="", max_length=LONG)
    items: list[ItemAnswerIn] = Field(default_factory=list, max_length=30)
    extra_documents: list[ExtraDocumentIn] = Field(default_factory=list, max_length=20)
    appointment: AppointmentReply | None = None
    extension_request: ExtensionRequest | None = Field(
        default=None,
        description="More time asked (question and intent_to_refuse only); required items may then stay "
        f"unanswered. until after the deadline, at most {MAX_EXTENSION_DAYS} days after it",
    )
    declaration: bool
    files: list[FileMeta] = Field(default_factory=list, max_length=60)
    receipt: FileMeta | None = Field(
        default=None,
        description="The portal's receipt of this reply (a PDF, a file of its own, sent as a multipart part "
        "under its key like the other files): the document the applicant keeps, with the whole text in German "
        "and, for an applicant who used another language, in that language too. No item refers to it.",
    )


class ReplyCreated(Strict):
    reply_id: str
    received_at: datetime


class FileOut(Strict):
    id: str
    name: str
    original_name: str
    media_type: str
    size: int
    pages: int | None
    sha512: str


class ItemAnswerOut(Strict):
    item_id: str
    code: ItemCode
    title_de: str
    status: ItemStatus
    reason: str = ""
    expected_date: date | None = None
    files: list[FileOut] = Field(default_factory=list)


class ExtraDocumentOut(Strict):
    code: ItemCode
    title_de: str
    description: str
    files: list[FileOut]


class ReplyOut(Strict):
    id: str
    cursor: int
    message_id: str
    case_reference: str
    received_at: datetime
    language: str
    text: str
    items: list[ItemAnswerOut]
    extra_documents: list[ExtraDocumentOut]
    appointment: AppointmentReply | None
    extension_request: ExtensionRequest | None = None
    declaration: bool
    receipt: FileOut | None = Field(
        default=None, description="The receipt the applicant was given (fetch it like the other files)"
    )


class ReplyPage(Strict):
    replies: list[ReplyOut]
    next_cursor: int = Field(description="Pass as ?after= to get the replies after these")


class Problem(Strict):
    """Every error body: a stable machine code and a human detail (English, for integrators)."""

    code: str
    detail: str = ""
