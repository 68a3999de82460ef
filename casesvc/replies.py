"""Taking a reply (checks, file storage, one transaction) and handing replies to authorities."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import CursorResult, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casesvc.catalogue import title_de
from casesvc.db import Database, MessageRow, ReplyFileRow, ReplyRow
from casesvc.errors import ServiceError, not_found, unprocessable
from casesvc.schemas import (
    KINDS_WITH_ITEMS,
    MAX_EXTENSION_DAYS,
    ExtraDocumentOut,
    FileMeta,
    FileOut,
    ItemAnswerOut,
    ItemStatus,
    MessageIn,
    MessageKind,
    ReplyCreated,
    ReplyIn,
    ReplyOut,
    ReplyPage,
)
from casesvc.service import PORTAL, answerable, load_message, message_in, new_id, requested_items
from casesvc.settings import CaseServiceSettings

# A clock a few minutes ahead on the portal's machine is no reason to reject a reply.
CLOCK_SKEW = timedelta(minutes=5)
CHUNK = 1024 * 1024
# Any constant works; it only has to be the same for every writer of the replies table.
REPLY_CURSOR_LOCK = 0x52_4B_43_55


def already_answered() -> ServiceError:
    return ServiceError(409, "already_answered", "this message has been answered already")


def _created(reply: ReplyRow) -> ReplyCreated:
    return ReplyCreated(reply_id=reply.id, received_at=reply.received_at)


def find_replay(session: Session, message_id: str, idempotency_key: str) -> ReplyCreated | None:
    reply = session.scalars(select(ReplyRow).where(ReplyRow.idempotency_key == idempotency_key)).first()
    if reply is None:
        return None
    if reply.message_id != message_id:
        raise ServiceError(409, "idempotency_key_reused", "this Idempotency-Key belongs to another message's reply")
    return _created(reply)


def _gate(session: Session, message_id: str, idempotency_key: str) -> tuple[MessageRow, ReplyCreated | None]:
    row = load_message(session, message_id, PORTAL)
    replay = find_replay(session, message_id, idempotency_key)
    if replay is None:
        if not answerable(row):
            raise unprocessable("not_answerable", f"a {row.kind} message takes no reply")
        if row.answered_at is not None:
            raise already_answered()
    return row, replay


def precheck(db: Database, message_id: str, idempotency_key: str) -> ReplyCreated | None:
    """The checks that need no body, run before reading up to 150 MiB of upload.

    Returns the first result when this Idempotency-Key was stored already (a retried delivery).
    """
    with db.session() as session:
        return _gate(session, message_id, idempotency_key)[1]


def _check_window(row: MessageRow, submitted_at: datetime, now: datetime) -> None:
    # A revocation after the applicant pressed submit does not void the reply: the portal may have
    # queued it while the case service was down.
    if row.revoked_at is not None and row.revoked_at <= submitted_at:
        raise ServiceError(410, "link_revoked", "the link was revoked before the reply was submitted")
    if submitted_at >= row.expires_at or submitted_at > now + CLOCK_SKEW:
        raise ServiceError(410, "link_expired", "the reply was not submitted while the link was open")


@dataclass(frozen=True)
class PlannedFile:
    meta: FileMeta
    source: BinaryIO


def _check_files(reply: ReplyIn, parts: Mapping[str, BinaryIO], max_file_bytes: int) -> list[PlannedFile]:
    referenced = [key for item in reply.items for key in item.files]
    referenced += [key for doc in reply.extra_documents for key in doc.files]
    attached = [*reply.files, *([reply.receipt] if reply.receipt is not None else [])]
    declared = [meta.key for meta in attached]
    problems = []
    if len(set(declared)) != len(declared):
        problems.append("a file key is declared twice")
    if len(set(referenced)) != len(referenced):
        problems.append("a file is referenced twice")
    if set(referenced) != {meta.key for meta in reply.files}:
        problems.append("every declared file must be referenced by an item or extra document, and vice versa")
    if reply.receipt is not None and reply.receipt.media_type != "application/pdf":
        problems.append("the receipt is a PDF")
    if set(parts) != set(declared):
        problems.append("the multipart file parts do not match the declared files")
    if problems:
        raise unprocessable("file_mismatch", "; ".join(problems))
    for meta in attached:
        if meta.size > max_file_bytes:
            raise ServiceError(413, "too_large", f"file {meta.key} is larger than {max_file_bytes} bytes")
    return [PlannedFile(meta=meta, source=parts[meta.key]) for meta in attached]


def _check_extension(message: MessageIn, reply: ReplyIn) -> None:
    # Only against the message's own deadline, never against today: a reply delivered days late
    # (the case service was down) must be taken as it was when the applicant sent it.
    request = reply.extension_request
    if request is None:
        return
    if message.kind not in KINDS_WITH_ITEMS or message.deadline is None:
        raise unprocessable("extension_invalid", f"a {message.kind} message takes no request for more time")
    if request.until <= message.deadline:
        raise unprocessable("extension_invalid", "more time must be asked until a date after the deadline")
    if request.until > message.deadline + timedelta(days=MAX_EXTENSION_DAYS):
        raise unprocessable(
            "extension_invalid", f"more time can be asked for at most {MAX_EXTENSION_DAYS} days after the deadline"
        )


def _check_items(message: MessageIn, reply: ReplyIn) -> None:
    _check_extension(message, reply)
    items = {item.id: item for item in requested_items(message)}
    answered: set[str] = set()
    for answer in reply.items:
        if answer.item_id not in items or answer.item_id in answered:
            raise unprocessable("items_incomplete", f"unknown or repeated item {answer.item_id!r}")
        answered.add(answer.item_id)
        if answer.status is ItemStatus.provided and not answer.files:
            raise unprocessable("items_incomplete", f"item {answer.item_id} is marked provided but has no file")
        if answer.status is ItemStatus.not_available and (answer.files or not answer.reason.strip()):
            raise unprocessable("items_incomplete", f"item {answer.item_id} not available needs a reason, no files")
    missing = [item_id for item_id, item in items.items() if item.required and item_id not in answered]
    # Asking for more time is an answer of its own: what is not ready yet stays open.
    if missing and reply.extension_request is None:
        raise unprocessable("items_incomplete", f"required items not answered: {', '.join(missing)}")
    if message.kind is MessageKind.appointment:
        if reply.appointment is None:
            raise unprocessable("appointment_invalid", "an appointment needs a confirmation or a reschedule request")
        if reply.appointment.answer == "reschedule" and not reply.appointment.reason.strip():
            raise unprocessable("appointment_invalid", "a reschedule request needs a reason")
    elif reply.appointment is not None:
        raise unprocessable("appointment_invalid", "only an appointment message takes an appointment answer")
    if not reply.declaration:
        raise unprocessable("declaration_missing", "the applicant has not confirmed the declaration")


def _write_file(directory: Path, files_dir: Path, reply_id: str, planned: PlannedFile) -> ReplyFileRow:
    meta = planned.meta
    # A random name, never the client's: no path tricks, no personal data in the file system.
    path = directory / secrets.token_hex(16)
    digest = hashlib.sha512()
    size = 0
    planned.source.seek(0)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := planned.source.read(CHUNK):
            size += len(chunk)
            if size > meta.size:
                break
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        # The portal deletes its copy once we confirm: the bytes must be on disk before the commit.
        os.fsync(out.fileno())
    if size != meta.size or not hmac.compare_digest(digest.hexdigest(), meta.sha512):
        raise unprocessable("file_mismatch", f"file {meta.key}: size or SHA-512 differ from the declared values")
    return ReplyFileRow(
        id=new_id(),
        reply_id=reply_id,
        key=meta.key,
        name=meta.name,
        original_name=meta.original_name,
        media_type=meta.media_type,
        size=meta.size,
        pages=meta.pages,
        sha512=meta.sha512,
        storage_path=str(path.relative_to(files_dir)),
    )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock_cursor(session: Session) -> None:
    # PostgreSQL hands out sequence values before commit, so cursor 8 could become visible before 7
    # and a poller at after=8 would never see 7. Serialising reply inserts keeps commit order equal to
    # cursor order. SQLite serialises writers anyway.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REPLY_CURSOR_LOCK})


def store_reply(
    db: Database,
    settings: CaseServiceSettings,
    message_id: str,
    idempotency_key: str,
    reply: ReplyIn,
    parts: Mapping[str, BinaryIO],
    now: datetime,
) -> ReplyCreated:
    with db.session() as session:
        row, replay = _gate(session, message_id, idempotency_key)
        if replay is not None:
            return replay
        _check_window(row, reply.submitted_at, now)
        message = message_in(row)
        authority_id = row.authority_id
    # Cheap structural checks before any byte is written; the hashes are checked while writing.
    planned = _check_files(reply, parts, settings.max_file_bytes)
    _check_items(message, reply)

    reply_id = new_id()
    directory = settings.files_dir / reply_id
    try:
        directory.mkdir(parents=True, exist_ok=False)
        file_rows = [_write_file(directory, settings.files_dir, reply_id, item) for item in planned]
        _fsync_dir(directory)
        with db.session() as session, session.begin():
            _lock_cursor(session)
            reply_row = ReplyRow(
                id=reply_id,
                message_id=message_id,
                authority_id=authority_id,
                received_at=now,
                submitted_at=reply.submitted_at,
                payload=reply.model_dump(mode="json"),
                idempotency_key=idempotency_key,
            )
            session.add(reply_row)
            # Insert the reply first: its unique message_id is what decides a race between two replies.
            session.flush()
            session.add_all(file_rows)
            marked = cast(
                CursorResult[Any],
                session.execute(
                    update(MessageRow)
                    .where(MessageRow.id == message_id, MessageRow.answered_at.is_(None))
                    .values(answered_at=now)
                ),
            )
            if marked.rowcount != 1:
                raise already_answered()
    except IntegrityError:
        shutil.rmtree(directory, ignore_errors=True)
        # Lost the race. If the winner was this very reply (a retry that overtook itself), answer
        # with its result; otherwise somebody else's reply is already stored.
        with db.session() as session:
            replay = find_replay(session, message_id, idempotency_key)
        if replay is not None:
            return replay
        raise already_answered() from None
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return ReplyCreated(reply_id=reply_id, received_at=now)


def _file_out(row: ReplyFileRow) -> FileOut:
    return FileOut.model_validate(row, from_attributes=True)  # the columns carry the wire fields' names


def reply_out(reply: ReplyRow, message: MessageRow, files: Sequence[ReplyFileRow]) -> ReplyOut:
    payload = ReplyIn.model_validate(reply.payload)
    by_key = {row.key: _file_out(row) for row in files}
    items = {item.id: item for item in requested_items(message_in(message))}
    return ReplyOut(
        id=reply.id,
        cursor=reply.cursor,
        message_id=reply.message_id,
        case_reference=message.case_reference,
        received_at=reply.received_at,
        language=payload.language,
        text=payload.text,
        items=[
            ItemAnswerOut(
                item_id=answer.item_id,
                code=items[answer.item_id].code,
                title_de=items[answer.item_id].title_de,
                status=answer.status,
                reason=answer.reason,
                expected_date=answer.expected_date,
                files=[by_key[key] for key in answer.files],
            )
            for answer in payload.items
        ],
        extra_documents=[
            ExtraDocumentOut(
                code=doc.code,
                title_de=title_de(doc.code),
                description=doc.description,
                files=[by_key[key] for key in doc.files],
            )
            for doc in payload.extra_documents
        ],
        appointment=payload.appointment,
        extension_request=payload.extension_request,
        declaration=payload.declaration,
        receipt=by_key[payload.receipt.key] if payload.receipt is not None else None,
    )


def list_replies(db: Database, authority_id: str, after: int, limit: int) -> ReplyPage:
    with db.session() as session:
        query = (
            select(ReplyRow, MessageRow)
            .join(MessageRow, MessageRow.id == ReplyRow.message_id)
            .where(ReplyRow.authority_id == authority_id, ReplyRow.cursor > after)
            .order_by(ReplyRow.cursor)
            .limit(limit)
        )
        rows = session.execute(query).all()
        reply_ids = [reply.id for reply, _ in rows]
        files: dict[str, list[ReplyFileRow]] = {reply_id: [] for reply_id in reply_ids}
        if reply_ids:
            for file_row in session.scalars(select(ReplyFileRow).where(ReplyFileRow.reply_id.in_(reply_ids))):
                files[file_row.reply_id].append(file_row)
        replies = [reply_out(reply, message, files[reply.id]) for reply, message in rows]
    return ReplyPage(replies=replies, next_cursor=replies[-1].cursor if replies else after)


def open_file(
    db: Database, settings: CaseServiceSettings, authority_id: str, reply_id: str, file_id: str
) -> tuple[ReplyFileRow, Path]:
    with db.session() as session:
        query = (
            select(ReplyFileRow)
            .join(ReplyRow, ReplyRow.id == ReplyFileRow.reply_id)
            .where(ReplyRow.id == reply_id, ReplyFileRow.id == file_id, ReplyRow.authority_id == authority_id)
        )
        row = session.scalars(query).first()
    if row is None:
        raise not_found("file_not_found", "no such file")
    root = settings.files_dir.resolve()
    path = (root / row.storage_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise not_found("file_not_found", "the file is missing from storage")
    return row, path
