"""Messages and reply links: the service layer shared by the HTTP routes and the CLI."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from casesvc import audit
from casesvc.catalogue import title_de
from casesvc.db import Database, MessageRow, ReplyRow
from casesvc.errors import ServiceError, not_found, unprocessable
from casesvc.schemas import (
    ANSWERABLE_KINDS,
    HistoryEntry,
    LinkState,
    Message,
    MessageCreated,
    MessageIn,
    MessageKind,
    ReplySummary,
    RequestedItem,
    Resolved,
    Revoked,
)
from casesvc.settings import CaseServiceSettings
from casesvc.staff_schemas import AuditAction, AuditIn
from casesvc.tokens import deadline_expiry, hash_token, info_expiry, mint_token, reply_link, same_hash


@dataclass(frozen=True)
class Caller:
    """Who is calling: an authority (``authority_id`` set) or the portal (``authority_id`` None)."""

    authority_id: str | None

    @property
    def is_portal(self) -> bool:
        return self.authority_id is None


PORTAL = Caller(authority_id=None)
# The audit actor of revocations through the authority face: the case system, not a named person.
AUTHORITY_API_ACTOR = "authority-api"


def new_id() -> str:
    return uuid.uuid4().hex


def link_state(row: MessageRow, now: datetime) -> LinkState:
    # "answered" wins over "revoked": a reply submitted before the revocation may still be delivered
    # late, and then the applicant must see that it arrived rather than that the link was withdrawn.
    if row.answered_at is not None:
        return LinkState.answered
    if row.revoked_at is not None:
        return LinkState.revoked
    if now >= row.expires_at:
        return LinkState.expired
    return LinkState.open


def message_in(row: MessageRow) -> MessageIn:
    return MessageIn.model_validate(row.payload)


def requested_items(message: MessageIn) -> list[RequestedItem]:
    # Ids follow the order the authority gave; they are stable because the payload never changes.
    return [
        RequestedItem(id=f"item-{n}", title_de=title_de(item.code), **item.model_dump())
        for n, item in enumerate(message.requested_items, start=1)
    ]


def create_message(
    db: Database, settings: CaseServiceSettings, authority_id: str, message: MessageIn, now: datetime
) -> MessageCreated:
    sent_at = message.sent_at or now
    if message.deadline is not None:
        if message.deadline < sent_at.astimezone(settings.zone).date():
            raise unprocessable("deadline_in_past", "the deadline lies before the day the message is sent")
        expires_at = deadline_expiry(message.deadline, settings.grace_days, settings.zone)
    else:
        expires_at = info_expiry(sent_at, settings.info_link_days)
    if expires_at <= now:
        raise unprocessable("deadline_in_past", "the reply link would already be expired")
    token = mint_token()
    row = MessageRow(
        id=new_id(),
        authority_id=authority_id,
        kind=message.kind.value,
        case_reference=message.case.reference,
        payload=message.model_copy(update={"sent_at": sent_at}).model_dump(mode="json"),
        token_hash=hash_token(token),
        sent_at=sent_at,
        expires_at=expires_at,
        revoked_at=None,
        revoke_reason="",
        answered_at=None,
        last_opened_at=None,
        created_at=now,
    )
    with db.session() as session, session.begin():
        session.add(row)
    # The token leaves the service exactly once, inside the link; only its hash was stored.
    return MessageCreated(id=row.id, reply_link=reply_link(settings.portal_base_url, token), expires_at=expires_at)


def load_message(session: Session, message_id: str, caller: Caller) -> MessageRow:
    row = session.get(MessageRow, message_id) if len(message_id) <= 32 else None
    if row is None or (not caller.is_portal and row.authority_id != caller.authority_id):
        raise not_found("message_not_found", "no such message")
    return row


def _history(session: Session, row: MessageRow) -> list[HistoryEntry]:
    earlier = or_(
        MessageRow.sent_at < row.sent_at,
        and_(MessageRow.sent_at == row.sent_at, MessageRow.created_at < row.created_at),
    )
    query = (
        select(MessageRow, ReplyRow)
        .outerjoin(ReplyRow, ReplyRow.message_id == MessageRow.id)
        .where(
            MessageRow.authority_id == row.authority_id,
            MessageRow.case_reference == row.case_reference,
            MessageRow.id != row.id,
            earlier,
        )
        .order_by(MessageRow.sent_at, MessageRow.created_at)
    )
    entries = []
    for other, reply in session.execute(query):
        summary = ReplySummary(reply_id=reply.id, received_at=reply.received_at) if reply is not None else None
        payload = message_in(other)
        entries.append(
            HistoryEntry(id=other.id, kind=payload.kind, subject=payload.subject, sent_at=other.sent_at, reply=summary)
        )
    return entries


def message_view(session: Session, row: MessageRow, now: datetime, *, with_history: bool = True) -> Message:
    payload = message_in(row)
    return Message(
        id=row.id,
        kind=payload.kind,
        subject=payload.subject,
        body=payload.body,
        sent_at=row.sent_at,
        deadline=payload.deadline,
        expires_at=row.expires_at,
        link_state=link_state(row, now),
        answered_at=row.answered_at,
        last_opened_at=row.last_opened_at,
        authority=payload.authority,
        case=payload.case,
        requested_items=requested_items(payload),
        appointment=payload.appointment,
        responsible_authority=payload.responsible_authority,
        history=_history(session, row) if with_history else [],
    )


def get_message(db: Database, message_id: str, caller: Caller, now: datetime) -> Message:
    with db.session() as session:
        return message_view(session, load_message(session, message_id, caller), now)


def list_messages(
    db: Database, authority_id: str, case_reference: str | None, limit: int, now: datetime
) -> list[Message]:
    query = select(MessageRow).where(MessageRow.authority_id == authority_id)
    if case_reference is not None:
        query = query.where(MessageRow.case_reference == case_reference)
    query = query.order_by(MessageRow.sent_at, MessageRow.created_at).limit(limit)
    with db.session() as session:
        rows: Sequence[MessageRow] = session.scalars(query).all()
        # The list is for overviews: the history of every entry would cost one query each.
        return [message_view(session, row, now, with_history=False) for row in rows]


def resolve(db: Database, token: str, now: datetime) -> Resolved:
    computed = hash_token(token)
    with db.session() as session, session.begin():
        # One indexed lookup whatever the token; the digest comparison runs on a hit and on a miss,
        # so neither the database nor Python answers an unknown token measurably faster.
        row = session.scalars(select(MessageRow).where(MessageRow.token_hash == computed)).first()
        matches = same_hash(row.token_hash if row is not None else "0" * 64, computed)
        if row is None or not matches:
            raise not_found("link_unknown", "no message belongs to this link")
        state = link_state(row, now)
        if state is LinkState.open:
            row.last_opened_at = now
        return Resolved(message_id=row.id, state=state, answered_at=row.answered_at, expires_at=row.expires_at)


def revoke_in(session: Session, message_id: str, caller: Caller, reason: str, now: datetime) -> tuple[Revoked, bool]:
    """Revoke inside the caller's transaction; the flag says whether this call did it (not an earlier one)."""
    row = load_message(session, message_id, caller)
    if row.answered_at is not None:
        raise ServiceError(409, "already_answered", "the message has been answered; its link cannot be revoked")
    first = row.revoked_at is None
    if first:  # revoking twice keeps the first time and reason
        row.revoked_at = now
        row.revoke_reason = reason
    return Revoked(id=row.id, link_state=LinkState.revoked), first


def revoke(db: Database, message_id: str, caller: Caller, reason: str, now: datetime, retention_days: int) -> Revoked:
    """The authority face's revocation (by the case system, not a staff member); audited all the same."""
    assert caller.authority_id is not None
    with db.session() as session, session.begin():
        revoked, first = revoke_in(session, message_id, caller, reason, now)
        entry = AuditIn(
            actor=AUTHORITY_API_ACTOR,
            action=AuditAction.revoke,
            message_id=revoked.id,
            source="",
            detail="revoked" if first else "already_revoked",
        )
        audit.append(session, caller.authority_id, entry, now, retention_days)
        return revoked


def answerable(row: MessageRow) -> bool:
    return MessageKind(row.kind) in ANSWERABLE_KINDS
