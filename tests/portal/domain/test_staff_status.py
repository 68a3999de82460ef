"""Where a message stands for staff: the case service's state plus what only the portal knows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from portal.domain.outgoing import OutboxState
from portal.domain.staff_status import StaffStatus, status_of
from tests.support.messages import T0, summary


@dataclass(frozen=True)
class Submitted:
    """What the staff list reads of an outbox entry (test_delivery checks a real one end to end)."""

    state: OutboxState
    created_at: datetime


def entry(state: OutboxState) -> Submitted:
    return Submitted(state, T0 + timedelta(hours=1))


def test_open_and_draft_started() -> None:
    assert status_of(summary(), None, None).status is StaffStatus.OPEN
    line = status_of(summary(), None, T0)
    assert (line.status, line.since) == (StaffStatus.DRAFT_STARTED, T0)


def test_received_by_the_portal_but_not_yet_delivered() -> None:
    line = status_of(summary(), entry(OutboxState.pending), T0)
    assert (line.status, line.since) == (StaffStatus.ANSWERED, T0 + timedelta(hours=1))


def test_delivered_is_the_case_services_answered() -> None:
    line = status_of(summary(link_state="answered", answered_at=T0), entry(OutboxState.delivered), T0)
    assert (line.status, line.since) == (StaffStatus.DELIVERED, T0)


@pytest.mark.parametrize(("state", "expected"), [("expired", StaffStatus.EXPIRED), ("revoked", StaffStatus.REVOKED)])
def test_settled_links(state: str, expected: StaffStatus) -> None:
    line = status_of(summary(link_state=state, revoked_at=T0), None, T0)
    assert line.status is expected
    # Revoked: when it was revoked; expired: when the link ran out.
    assert line.since == (T0 if state == "revoked" else T0 + timedelta(days=30))


def test_a_reply_submitted_before_revocation_still_counts_as_answered() -> None:
    assert status_of(summary(link_state="revoked"), entry(OutboxState.pending), None).status is StaffStatus.ANSWERED


@pytest.mark.parametrize("link_state", ["open", "answered", "revoked", "expired"])
def test_a_refused_reply_is_shown_whatever_the_link_says(link_state: str) -> None:
    # The applicant was told "received": staff must see that the reply did not arrive, even when
    # the link was answered from elsewhere or revoked meanwhile.
    line = status_of(summary(link_state=link_state, answered_at=T0, revoked_at=T0), entry(OutboxState.rejected), T0)
    assert (line.status, line.since) == (StaffStatus.REFUSED, T0 + timedelta(hours=1))


def test_a_resolved_reply_leaves_the_word_to_the_case_service() -> None:
    assert status_of(summary(), entry(OutboxState.resolved), None).status is StaffStatus.OPEN
    assert status_of(summary(link_state="revoked"), entry(OutboxState.resolved), None).status is StaffStatus.REVOKED


def test_more_time_asked_comes_from_the_case_service_or_the_outbox() -> None:
    from datetime import date

    from portal.domain.outgoing import ExtensionRequest, OutgoingReply
    from portal.domain.staff_status import more_time_until

    waiting = OutgoingReply(
        submitted_at=T0,
        language="de",
        extension_request=ExtensionRequest(until=date(2027, 1, 31), reason="r"),
        declaration=True,
    )
    assert more_time_until(summary(), None) is None
    assert more_time_until(summary(), waiting) == date(2027, 1, 31)
    delivered = summary(link_state="answered", answered_at=T0, extension_requested_until=date(2027, 1, 30))
    assert more_time_until(delivered, None) == date(2027, 1, 30)
    assert more_time_until(summary(), waiting.model_copy(update={"extension_request": None})) is None
