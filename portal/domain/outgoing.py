"""The reply as it leaves the portal: the contract's ``ReplyIn`` body and where its files wait.

:func:`portal.domain.draft.build_reply` builds it, ``portal.outbox.commit_checks`` checks its
files before the commit, the outbox stores it and the client sends it. Each of them turns it into
JSON through :meth:`OutgoingReply.wire`, so what is stored is exactly what is sent.

The models mirror the contract (``casesvc.schemas.ReplyIn`` and its parts, field for field and in
the same order) without importing it: the portal and the case service only share the HTTP
contract (``tests/portal/test_contract_drift.py`` holds them to ``openapi/case-service.json``).
They forbid unknown fields, so a misspelt field fails here and not at the case service.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer


class OutboxState(StrEnum):
    """Where a reply the portal accepted stands on its way to the case service."""

    pending = "pending"  # waiting for (or in) delivery; a worker's lease marks "delivering"
    delivered = "delivered"
    # Refused for good: kept with its files until an operator retries or resolves it.
    rejected = "rejected"
    # An operator handed a rejected reply over another way; its files are deleted.
    resolved = "resolved"


# The states whose files are still needed: retention keeps them, delivery or an operator ends them.
HOLDS_FILES = (OutboxState.pending, OutboxState.rejected)


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OutgoingFile(_Wire):
    """One file of the reply: what the contract's ``FileMeta`` declares, and where the bytes are.

    ``key`` names the multipart part that carries the bytes; ``stored_as`` (the file's key in the
    portal's file storage) never leaves the portal.
    """

    key: str
    name: str
    original_name: str = ""
    media_type: str
    size: int
    pages: int | None = None
    sha512: str
    stored_as: str = Field(exclude=True)


class ItemAnswer(_Wire):
    item_id: str
    status: Literal["provided", "not_available"]
    files: tuple[str, ...] = ()  # OutgoingFile keys
    reason: str = ""
    expected_date: date | None = None


class ExtraDocument(_Wire):
    code: str
    description: str = ""
    files: tuple[str, ...]


class AppointmentAnswer(_Wire):
    answer: Literal["confirm", "reschedule"]
    reason: str = ""
    suitable_times: str = ""


class ExtensionRequest(_Wire):
    """More time asked: a request, the deadline stands until the authority answers it."""

    until: date
    reason: str


class OutgoingReply(_Wire):
    submitted_at: AwareDatetime
    language: str
    text: str = ""
    items: tuple[ItemAnswer, ...] = ()
    extra_documents: tuple[ExtraDocument, ...] = ()
    appointment: AppointmentAnswer | None = None
    extension_request: ExtensionRequest | None = None
    declaration: bool
    files: tuple[OutgoingFile, ...] = ()
    # The receipt the applicant keeps (portal.domain.receipt), sent as a file of its own.
    receipt: OutgoingFile | None = None

    @property
    def attached(self) -> tuple[OutgoingFile, ...]:
        """Every file that travels with the reply: the applicant's, then the receipt."""
        return (*self.files, *((self.receipt,) if self.receipt is not None else ()))

    @field_serializer("submitted_at")
    def _offset(self, value: datetime) -> str:
        # "+00:00" as ever, not pydantic's "Z": the stored and the sent JSON stay what they were.
        return value.isoformat()

    def wire(self) -> dict[str, Any]:
        """The ``ReplyIn`` body as JSON values (no file paths): what is stored and what is sent.

        Fields a reply may lack (a request for more time, a receipt) are left out rather than sent
        as null: such a body, stored before the field existed, is sent exactly as it was stored, and
        a case service not yet updated takes it."""
        body = self.model_dump(mode="json")
        for optional in ("extension_request", "receipt"):
            if body.get(optional) is None:
                body.pop(optional, None)
        return body

    @classmethod
    def from_wire(cls, body: Mapping[str, Any], stored_as: Mapping[str, str]) -> OutgoingReply:
        """The reply again from :meth:`wire` and each file's storage key by multipart key. Raises
        ValueError (pydantic's ValidationError) when the two do not fit together."""
        files = body.get("files", [])
        receipt = body.get("receipt")
        unplaced = {f.get("key") for f in [*files, *([receipt] if receipt else [])]} - set(stored_as)
        if unplaced:
            raise ValueError("a declared file has no storage key")
        placed = {**body, "files": [{**f, "stored_as": stored_as[f["key"]]} for f in files]}
        if receipt:
            placed["receipt"] = {**receipt, "stored_as": stored_as[receipt["key"]]}
        return cls.model_validate(placed)
