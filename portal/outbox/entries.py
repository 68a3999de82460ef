"""What the outbox holds, as its readers see it: an entry, the outbox's counts, and the reference
an applicant is given for a reply (drawn before the commit, so the receipt can name it)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from portal.domain.outgoing import OutboxState, OutgoingReply

# Crockford-like: no 0/O, 1/I, so a reference read out on the phone is unambiguous.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
REFERENCE_PREFIX = "RK"


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """The whole portal's outbox at one moment (every instance shares the database)."""

    pending: int  # waiting for their next try
    delivering: int  # leased by a worker right now
    delivered: int
    rejected: int
    resolved: int
    oldest_undelivered_at: datetime | None  # the oldest pending or delivering entry's creation


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    reference: str
    message_id: str
    idempotency_key: str
    # None once retention reduced a delivered entry to what an operator needs (``reduce_delivered``).
    reply: OutgoingReply | None
    state: OutboxState
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime | None
    last_error_code: str | None
    reply_id: str | None
    delivered_at: datetime | None
    created_at: datetime

    def held_reply(self) -> OutgoingReply:
        """The reply of an entry that still holds one: every pending or rejected entry does."""
        if self.reply is None:
            raise RuntimeError(f"outbox {self.reference}: the reply was reduced after its delivery")
        return self.reply


class ReferenceTaken(Exception):
    """The reference drawn for a reply is another entry's already (about once in 10^12 draws)."""


def new_reference() -> str:
    """``RK-XXXX-XXXX``: 40 random bits, plenty for uniqueness per portal (collisions retried)."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{REFERENCE_PREFIX}-{chars[:4]}-{chars[4:]}"
