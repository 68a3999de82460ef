"""What is checked on the portal's side before a reply is committed to the outbox.

Once the applicant sees "received", the reply must reach the case service, so everything the
case service would refuse later and the portal can know now is checked before the commit: the
files are on disk, whole and unchanged (the case service compares size and SHA-512 with the
declared values), and the files fit the reply's limits. The draft's own rules are
:func:`portal.domain.draft.validate_draft`; the link's state is asked of the case service by the
caller. Each check returns an error code (``error.<code>``) or None.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from portal.intake.limits import Limits
from portal.outbox.store import OutgoingFile

CHUNK = 1024 * 1024


def files_fit(meta: Sequence[Mapping[str, Any]], limits: Limits) -> str | None:
    """The declared files stay within the per-file, per-reply count and per-reply size limits."""
    if len(meta) > limits.max_files_per_reply:
        return "too_many_files_reply"
    sizes = [int(m["size"]) for m in meta]
    if any(size > limits.max_file_bytes for size in sizes) or sum(sizes) > limits.max_reply_bytes:
        return "reply_too_large"
    return None


def files_intact(meta: Sequence[Mapping[str, Any]], outgoing: Sequence[OutgoingFile]) -> str | None:
    """Every file to send is on disk with exactly the size and SHA-512 the reply declares."""
    declared = {str(m["key"]): (int(m["size"]), str(m["sha512"])) for m in meta}
    for file in outgoing:
        expected = declared.get(file.key)
        if expected is None or _measure(file) != expected:
            return "upload_missing"
    return None


def _measure(file: OutgoingFile) -> tuple[int, str] | None:
    digest = hashlib.sha512()
    size = 0
    try:
        with file.path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                size += len(chunk)
                digest.update(chunk)
    except OSError:
        return None
    return size, digest.hexdigest()
