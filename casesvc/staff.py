"""Staff preview (portal face) and the audit log (both faces).

The portal authenticates the caseworker and calls here with the portal key, naming the authority
the caseworker belongs to. The service scopes every query by that authority, so a message of another
authority answers exactly like a missing one. No answer here carries a reply token or link: only their
hash is stored, and the summaries and message views are built without it.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import select

from casesvc import audit, service
from casesvc.context import AppContext
from casesvc.db import Database, MessageRow, ReplyRow
from casesvc.errors import not_found
from casesvc.routes import API_PREFIX, after_cursor, make_guards, problems
from casesvc.schemas import Message, ReplyIn, Revoked
from casesvc.service import Caller
from casesvc.settings import CaseServiceSettings
from casesvc.staff_schemas import AuditAction, AuditEntry, AuditIn, AuditPage, MessageSummary, StaffRevokeIn

STAFF_LIMIT_DEFAULT = 50
STAFF_LIMIT_MAX = 200


def _extension_until(reply_payload: dict[str, Any] | None) -> date | None:
    if reply_payload is None:
        return None
    request = ReplyIn.model_validate(reply_payload).extension_request
    return request.until if request is not None else None


def summary(
    row: MessageRow, settings: CaseServiceSettings, now: datetime, reply_payload: dict[str, Any] | None = None
) -> MessageSummary:
    payload = service.message_in(row)
    # Days are counted in the authority's calendar, as the deadline itself is.
    days_left = (payload.deadline - now.astimezone(settings.zone).date()).days if payload.deadline else None
    return MessageSummary(
        id=row.id,
        kind=payload.kind,
        subject=payload.subject,
        case_reference=row.case_reference,
        applicant_name=payload.case.applicant_name,
        preferred_language=payload.case.preferred_language,
        sent_at=row.sent_at,
        deadline=payload.deadline,
        days_left=days_left,
        expires_at=row.expires_at,
        link_state=service.link_state(row, now),
        answered_at=row.answered_at,
        revoked_at=row.revoked_at,
        last_opened_at=row.last_opened_at,
        extension_requested_until=_extension_until(reply_payload),
    )


def list_summaries(
    db: Database,
    settings: CaseServiceSettings,
    authority_id: str,
    case_reference: str | None,
    message_id: str | None,
    limit: int,
    now: datetime,
) -> list[MessageSummary]:
    # The reply's body rides along for the one thing the list says of it: more time asked until when.
    query = (
        select(MessageRow, ReplyRow.payload)
        .outerjoin(ReplyRow, ReplyRow.message_id == MessageRow.id)
        .where(MessageRow.authority_id == authority_id)
    )
    if case_reference is not None:
        query = query.where(MessageRow.case_reference == case_reference)
    if message_id is not None:
        query = query.where(MessageRow.id == message_id)
    query = query.order_by(MessageRow.sent_at.desc(), MessageRow.created_at.desc()).limit(limit)
    with db.session() as session:
        return [summary(row, settings, now, payload) for row, payload in session.execute(query).all()]


def staff_revoke(
    db: Database, authority_id: str, message_id: str, body: StaffRevokeIn, now: datetime, retention_days: int
) -> Revoked:
    # One transaction: a revocation without its audit entry (or the reverse) cannot happen.
    with db.session() as session, session.begin():
        revoked, first = service.revoke_in(session, message_id, Caller(authority_id), body.reason, now)
        entry = AuditIn(
            actor=body.actor,
            action=AuditAction.revoke,
            message_id=revoked.id,
            source=body.source,
            detail="revoked" if first else "already_revoked",
        )
        audit.append(session, authority_id, entry, now, retention_days)
        return revoked


def build_staff_router(ctx: AppContext) -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    _any_caller, authority, portal = make_guards(ctx)
    known_authorities = frozenset(ctx.settings.authority_keys.values())
    message_id_path = Path(min_length=1, max_length=64)
    audit_limit = Query(default=100, ge=1, le=500)
    retention = ctx.settings.audit_retention_days

    def staff_authority(
        authority_id: str = Path(min_length=1, max_length=64, description="Authority the staff member belongs to"),
        _caller: Caller = Depends(portal),
    ) -> str:
        # Only configured authorities: a typo in the portal's staff directory must not open an empty
        # area, nor write audit entries nobody can read.
        if authority_id not in known_authorities:
            raise not_found("authority_unknown", "no such authority")
        return authority_id

    @router.get("/staff/{authority_id}/messages", tags=["staff"], responses=problems(404))
    def staff_messages(
        case_reference: str | None = Query(default=None, min_length=1, max_length=64, description="Vorgangsnummer"),
        message_id: str | None = Query(default=None, min_length=1, max_length=64),
        limit: int = Query(default=STAFF_LIMIT_DEFAULT, ge=1, le=STAFF_LIMIT_MAX),
        authority_id: str = Depends(staff_authority),
    ) -> list[MessageSummary]:
        """The authority's messages, newest first, optionally found by case reference or id. No links."""
        return list_summaries(ctx.db, ctx.settings, authority_id, case_reference, message_id, limit, ctx.now())

    @router.get("/staff/{authority_id}/messages/{message_id}", tags=["staff"], responses=problems(404))
    def staff_message(message_id: str = message_id_path, authority_id: str = Depends(staff_authority)) -> Message:
        """The full message, as the authority face shows it; 404 if it belongs to another authority."""
        return service.get_message(ctx.db, message_id, Caller(authority_id), ctx.now())

    @router.post(
        "/staff/{authority_id}/messages/{message_id}/revoke", tags=["staff"], responses=problems(400, 404, 409)
    )
    def staff_revoke_message(
        body: StaffRevokeIn, message_id: str = message_id_path, authority_id: str = Depends(staff_authority)
    ) -> Revoked:
        """Revoke the reply link on a staff member's behalf (reason required); writes an audit entry."""
        return staff_revoke(ctx.db, authority_id, message_id, body, ctx.now(), retention)

    @router.post("/staff/{authority_id}/audit", status_code=201, tags=["staff"], responses=problems(400, 404))
    def staff_audit_append(body: AuditIn, authority_id: str = Depends(staff_authority)) -> AuditEntry:
        """Record a sign-in, sign-out, list or preview by a staff member. Entries past retention are dropped."""
        return audit.record(ctx.db, authority_id, body, ctx.now(), retention)

    @router.get("/staff/{authority_id}/audit", tags=["staff"], responses=problems(404))
    def staff_audit_read(
        after: int = after_cursor, limit: int = audit_limit, authority_id: str = Depends(staff_authority)
    ) -> AuditPage:
        """The authority's audit log for the portal's staff admin page, in the order written."""
        return audit.list_entries(ctx.db, authority_id, after, limit)

    @router.get("/audit", tags=["authority"], responses=problems())
    def authority_audit(
        after: int = after_cursor, limit: int = audit_limit, authority_id: str = Depends(authority)
    ) -> AuditPage:
        """The authority's own audit log (staff sign-ins, previews, revocations), in the order written."""
        return audit.list_entries(ctx.db, authority_id, after, limit)

    return router
