"""Wire shapes of the staff preview and the audit log, on the portal face.

Split from :mod:`casesvc.schemas` to keep modules small; the OpenAPI document holds both.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from casesvc.schemas import MEDIUM, SHORT, LinkState, MessageKind, Strict

# ---------------------------------------------------------------- staff preview and audit (portal face)


class MessageSummary(Strict):
    """One line of the staff list. Deliberately without body, token or link."""

    id: str
    kind: MessageKind
    subject: str
    case_reference: str
    applicant_name: str
    preferred_language: str | None
    sent_at: datetime
    deadline: date | None
    days_left: int | None = Field(description="Days from today (authority's zone) to the deadline; negative if past")
    expires_at: datetime
    link_state: LinkState
    answered_at: datetime | None = None
    revoked_at: datetime | None = None
    last_opened_at: datetime | None = None
    extension_requested_until: date | None = Field(
        default=None, description="The reply asked for more time until this date (a request, not granted)"
    )


def _printable(value: str) -> str:
    # Audit fields end up in log views and exports: no control characters (line injection).
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("control characters are not allowed")
    return value


PlainText = Annotated[str, AfterValidator(_printable)]


class StaffRevokeIn(Strict):
    reason: str = Field(min_length=1, max_length=MEDIUM, description="Kept on the message, not in the audit log")
    actor: PlainText = Field(min_length=1, max_length=SHORT, description="Staff user, as the portal knows them")
    source: PlainText = Field(default="", max_length=100, description="Client address as seen by the portal")

    @field_validator("reason")
    @classmethod
    def _reason_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a reason is required")
        return value


class AuditAction(StrEnum):
    sign_in = "sign_in"
    sign_in_failed = "sign_in_failed"
    sign_out = "sign_out"
    preview = "preview"
    revoke = "revoke"
    list = "list"


class AuditIn(Strict):
    actor: PlainText = Field(min_length=1, max_length=SHORT)
    action: AuditAction
    message_id: str | None = Field(default=None, min_length=1, max_length=64)
    source: PlainText = Field(max_length=100, description="Client address as seen by the portal")
    detail: str = Field(
        default="",
        max_length=SHORT,
        pattern=r"^[ -~]*$",
        description="Short machine text (printable ASCII); never reply content, tokens or links",
    )

    @field_validator("detail")
    @classmethod
    def _no_secrets(cls, value: str) -> str:
        # A reply token is 43 URL-safe characters; refuse anything that could be one, or a link.
        if "/r/" in value or re.search(r"[A-Za-z0-9_-]{40,}", value):
            raise ValueError("detail must not carry links or tokens")
        return value


class AuditEntry(Strict):
    id: int
    at: datetime
    authority_id: str
    actor: str
    action: AuditAction
    message_id: str | None
    source: str
    detail: str


class AuditPage(Strict):
    entries: list[AuditEntry]
    next_cursor: int = Field(description="Pass as ?after= to get the entries after these")
