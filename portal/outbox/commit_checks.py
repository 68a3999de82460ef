"""What is checked on the portal's side before a reply is committed to the outbox.

Once the applicant sees "received", the reply must reach the case service, so everything the
case service would refuse later and the portal can know now is checked before the commit: the
files are in the file storage, whole and unchanged (the case service compares size and SHA-512 with the
declared values), and the files fit the reply's limits. The draft's own rules are
:func:`portal.domain.draft.validate_draft`; the link's state is asked of the case service by the
caller. Each check returns an error code (``error.<code>``) or None.
"""

from __future__ import annotations

import hashlib

from portal.domain.outgoing import OutgoingReply
from portal.intake.limits import Limits
from portal.storage import FileStorage

CHUNK = 1024 * 1024


def files_fit(reply: OutgoingReply, limits: Limits) -> str | None:
    """The reply's files stay within the per-file, per-reply count and per-reply size limits."""
    if len(reply.files) > limits.max_files_per_reply:
        return "too_many_files_reply"
    sizes = [f.size for f in reply.files]
    if any(size > limits.max_file_bytes for size in sizes) or sum(sizes) > limits.max_reply_bytes:
        return "reply_too_large"
    return None


def files_intact(reply: OutgoingReply, files: FileStorage) -> str | None:
    """Every file to send (the receipt too) is in ``files`` with exactly the size and SHA-512 the
    reply declares."""
    for file in reply.attached:
        if _measure(files, file.stored_as) != (file.size, file.sha512):
            return "upload_missing"
    return None


def _measure(files: FileStorage, key: str) -> tuple[int, str] | None:
    digest = hashlib.sha512()
    size = 0
    try:
        with files.open(key) as handle:
            while chunk := handle.read(CHUNK):
                size += len(chunk)
                digest.update(chunk)
    except OSError:
        return None
    return size, digest.hexdigest()
