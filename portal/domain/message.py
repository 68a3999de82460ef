"""The portal's own view of a message from the case service.

These models mirror the contract's ``Message`` but ignore unknown fields, so an additive change
on the case-service side (a new field) never breaks the portal. The portal does not import the
case service's schemas: the two deployables only share the HTTP contract, and
``tests/portal/test_contract_drift.py`` holds these copies to ``openapi/case-service.json``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class MessageKind(StrEnum):
    question = "question"
    appointment = "appointment"
    intent_to_refuse = "intent_to_refuse"
    status = "status"
    not_responsible = "not_responsible"


class LinkState(StrEnum):
    open = "open"
    answered = "answered"
    expired = "expired"
    revoked = "revoked"


ANSWERABLE_KINDS = frozenset({MessageKind.question, MessageKind.intent_to_refuse, MessageKind.appointment})


class AuthorityView(View):
    name: str
    address: str
    contact_person: str = ""
    phone: str = ""
    email: str = ""
    opening_hours: str = ""


class SubmittedDocumentView(View):
    title: str
    submitted_on: date | None = None


class CaseView(View):
    reference: str
    service_name: str
    service_id: str = ""
    submitted_on: date
    applicant_name: str
    # None: the authority did not record a language; the browser's then decides (i18n.pick_language).
    preferred_language: str | None = None
    submitted_documents: tuple[SubmittedDocumentView, ...] = ()


class RequestedItemView(View):
    id: str
    # A plain string, not an enum: a catalogue code the portal does not know yet still shows
    # (with the authority's German title) instead of making the whole message unreadable.
    code: str
    title_de: str
    required: bool = True
    note: str = ""


class AppointmentView(View):
    starts_at: datetime
    ends_at: datetime
    place: str
    bring: str = ""


class ResponsibleAuthorityView(View):
    name: str
    address: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""


class ReplySummaryView(View):
    reply_id: str
    received_at: datetime


class HistoryEntryView(View):
    id: str
    kind: str
    subject: str
    sent_at: datetime
    reply: ReplySummaryView | None = None


class MessageView(View):
    id: str
    kind: MessageKind
    subject: str
    body: str
    sent_at: datetime
    deadline: date | None = None
    expires_at: datetime
    link_state: LinkState
    answered_at: datetime | None = None
    authority: AuthorityView
    case: CaseView
    requested_items: tuple[RequestedItemView, ...] = ()
    appointment: AppointmentView | None = None
    responsible_authority: ResponsibleAuthorityView | None = None
    history: tuple[HistoryEntryView, ...] = Field(default=(), description="Earlier messages in the case, oldest first")

    @property
    def answerable(self) -> bool:
        """Whether this kind of message takes a reply at all (status notes do not)."""
        return self.kind in ANSWERABLE_KINDS

    @property
    def has_items(self) -> bool:
        return bool(self.requested_items)

    def item(self, item_id: str) -> RequestedItemView | None:
        return next((item for item in self.requested_items if item.id == item_id), None)


class ResolvedLink(View):
    """The case service's answer to a token; ``portal.links`` says what a closed link shows."""

    message_id: str
    state: LinkState
    answered_at: datetime | None = None
    expires_at: datetime


class MessageSummaryView(View):
    """One row of the staff list: what a message is and where its link stands."""

    id: str
    kind: MessageKind
    subject: str
    case_reference: str
    applicant_name: str
    preferred_language: str | None
    sent_at: datetime
    deadline: date | None = None
    days_left: int | None = None
    expires_at: datetime
    link_state: LinkState
    answered_at: datetime | None = None
    revoked_at: datetime | None = None
    last_opened_at: datetime | None = None
    extension_requested_until: date | None = None
