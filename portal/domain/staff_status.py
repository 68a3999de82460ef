"""Where a message stands, as the staff list says it.

The case service knows the link (open, answered, expired, revoked); the portal knows what has
not reached the case service yet: a draft started, a reply received and still in the outbox, or a
reply the case service refused for good (kept for an operator). The codes map to
``staff.state.<code>`` in the locale files. Beside the state, the list says whether the reply
asked for more time (:func:`more_time_until`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from portal.domain.message import MessageSummaryView
from portal.domain.outgoing import OutboxState, OutgoingReply


class StaffStatus(StrEnum):
    OPEN = "open"
    DRAFT_STARTED = "draft_started"
    ANSWERED = "answered"  # received by the portal, not yet in the case system
    DELIVERED = "delivered"  # in the case system
    EXPIRED = "expired"
    REVOKED = "revoked"
    # The applicant was told "received" but the case system refused the reply for good; the
    # portal keeps it with its files and the operator was alerted.
    REFUSED = "refused"


class SubmittedReply(Protocol):
    """What the staff list needs of a reply in the portal's outbox (an outbox entry)."""

    @property
    def state(self) -> OutboxState: ...

    @property
    def created_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class StatusLine:
    status: StaffStatus
    # When it got there, if known (answered, delivered, revoked, draft started).
    since: datetime | None


def more_time_until(summary: MessageSummaryView, outbox_reply: OutgoingReply | None) -> date | None:
    """Until when the applicant asked for more time, if they did: the case service's word once it
    has the reply, the outbox's while the reply is on its way (a request, never a new deadline)."""
    if summary.extension_requested_until is not None:
        return summary.extension_requested_until
    request = outbox_reply.extension_request if outbox_reply is not None else None
    return request.until if request is not None else None


def status_of(
    summary: MessageSummaryView, outbox_entry: SubmittedReply | None, draft_started: datetime | None
) -> StatusLine:
    """A refused reply comes first: the applicant believes they have answered, whatever the link
    says (e.g. it was answered from elsewhere, or revoked before delivery). Otherwise the case
    service's word wins for a settled link; the portal's only adds what is in between."""
    state = summary.link_state.value
    if outbox_entry is not None and outbox_entry.state is OutboxState.rejected:
        return StatusLine(StaffStatus.REFUSED, outbox_entry.created_at)
    if state == "answered":
        return StatusLine(StaffStatus.DELIVERED, summary.answered_at)
    # A resolved entry was handed over by an operator: the case service's state tells the rest.
    if outbox_entry is not None and outbox_entry.state in (OutboxState.pending, OutboxState.delivered):
        # Submitted before the link expired or was revoked: the reply still arrives.
        return StatusLine(StaffStatus.ANSWERED, outbox_entry.created_at)
    if state == "revoked":
        return StatusLine(StaffStatus.REVOKED, summary.revoked_at)
    if state == "expired":
        return StatusLine(StaffStatus.EXPIRED, summary.expires_at)
    if draft_started is not None:
        return StatusLine(StaffStatus.DRAFT_STARTED, draft_started)
    return StatusLine(StaffStatus.OPEN, None)
