"""The receipt as a file of the reply: rendered before the commit, stored beside the applicant's files.

Called by the submission before the outbox commit (the receipt names the reference and the time
received, both known then): a receipt that cannot be made refuses the submission while the page
can still say so, never after "received". The stored file travels and is deleted like the
applicant's files (delivery, retention, the operator's commands use ``OutgoingReply.attached``);
the applicant's copy is kept apart, until the link expires (``portal.outbox.receipts``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from portal.domain.message import MessageView
from portal.domain.outgoing import OutgoingFile, OutgoingReply
from portal.domain.receipt import MEDIA_TYPE, build_receipt, document_to_json
from portal.intake import sandbox
from portal.intake.confined import page_count
from portal.intake.files import delete_stored
from portal.intake.limits import Limits
from portal.outbox.receipts import KeptReceipt
from portal.storage import FileStorage

# The multipart part's name; the applicant's files are f1, f2, ...
RECEIPT_KEY = "receipt"


@dataclass(frozen=True, slots=True)
class PreparedReceipt:
    reply: OutgoingReply  # the reply with its receipt attached
    kept: KeptReceipt  # the applicant's copy


def prepare(
    message: MessageView,
    reply: OutgoingReply,
    reference: str,
    received_at: datetime,
    files: FileStorage,
    fonts_dir: Path,
    limits: Limits,
) -> PreparedReceipt:
    """Renders the receipt of ``reply`` under ``reference`` and stores it in ``files``.

    The layout runs as a sandbox job (``portal.intake.jobs``): its few hundred milliseconds of
    CPU would otherwise hold every other applicant's events on this process. Raises whatever
    stops it (a font missing, the job refused, the storage failing): the caller refuses the
    submission then. A receipt stored for a submission that is not committed after all is
    nobody's file, and retention deletes it with the other orphans.
    """
    document = build_receipt(message, reply, reference, received_at)
    key = secrets.token_hex(16)
    path = files.work_dir / key
    args = {
        "document": document_to_json(document),
        "fonts_dir": str(fonts_dir),
        "created": received_at.isoformat(),
        "out": str(path),
    }
    try:
        pages = page_count(sandbox.run("receipt", args, limits))
        pdf = path.read_bytes()
        files.keep(key)
    except BaseException:
        delete_stored([path])
        raise
    meta = OutgoingFile(
        key=RECEIPT_KEY,
        name=document.file_name,
        media_type=MEDIA_TYPE,
        size=len(pdf),
        pages=pages,
        sha512=hashlib.sha512(pdf).hexdigest(),
        stored_as=key,
    )
    return PreparedReceipt(
        reply=reply.model_copy(update={"receipt": meta}),
        kept=KeptReceipt(file_name=document.file_name, pdf=pdf, expires_at=message.expires_at),
    )
