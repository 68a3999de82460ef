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

from portal import receipt_pdf
from portal.domain.message import MessageView
from portal.domain.outgoing import OutgoingFile, OutgoingReply
from portal.domain.receipt import MEDIA_TYPE, build_receipt
from portal.intake.files import delete_stored, open_private
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
) -> PreparedReceipt:
    """Renders the receipt of ``reply`` under ``reference`` and stores it in ``files``.

    Raises whatever stops it (a font missing, the storage failing): the caller refuses the
    submission then. A receipt stored for a submission that is not committed after all is
    nobody's file, and retention deletes it with the other orphans.
    """
    document = build_receipt(message, reply, reference, received_at)
    rendered = receipt_pdf.render(document, fonts_dir, received_at)
    key = secrets.token_hex(16)
    path = files.work_dir / key
    try:
        with open_private(path) as out:
            out.write(rendered.pdf)
        files.keep(key)
    except BaseException:
        delete_stored([path])
        raise
    meta = OutgoingFile(
        key=RECEIPT_KEY,
        name=document.file_name,
        media_type=MEDIA_TYPE,
        size=len(rendered.pdf),
        pages=rendered.pages,
        sha512=hashlib.sha512(rendered.pdf).hexdigest(),
        stored_as=key,
    )
    return PreparedReceipt(
        reply=reply.model_copy(update={"receipt": meta}),
        kept=KeptReceipt(file_name=document.file_name, pdf=rendered.pdf, expires_at=message.expires_at),
    )
