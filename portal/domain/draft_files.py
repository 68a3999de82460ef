"""The files of a draft reply: attach, remove, replace photos by their merged PDF.

A draft lists upload ids (on an item, or on a further document); ``uploads`` maps each id to its
stored file. These operations keep the two in step. They never delete a stored file: another
browser on the same link may have sent a reply holding it a moment ago. A file no draft and no
outbox entry refers to any more is deleted by the retention purge (``portal.outbox.task``).

What a file counts against the message's allowance (portal.protection.quotas) is the caller's:
these functions know the draft, not the database.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence

from portal.domain.draft import Draft
from portal.domain.uploads import StoredUpload

Uploads = MutableMapping[str, StoredUpload]


def attach(uploads: Uploads, files: list[str], stored: StoredUpload) -> None:
    """``stored`` becomes the last file of ``files`` (an item's, or a further document's)."""
    uploads[stored.id] = stored
    files.append(stored.id)


def remove(draft: Draft, uploads: Uploads, file_id: str) -> StoredUpload | None:
    """Takes the file out of the draft; a further document left without files goes too. Returns
    the removed upload, or None for an id the draft does not hold."""
    stored = uploads.pop(file_id, None)
    if stored is None:
        return None
    for item in draft.items:
        if file_id in item.files:
            item.files.remove(file_id)
    for extra in list(draft.extras):
        if file_id in extra.files:
            extra.files.remove(file_id)
            if not extra.files:
                draft.extras.remove(extra)
    return stored


def replace_by_merge(uploads: Uploads, files: list[str], photos: Sequence[str], merged: StoredUpload) -> None:
    """The ``photos`` of ``files`` become the one PDF ``merged`` made of them, where the first of
    them was."""
    position = files.index(photos[0])
    for photo in photos:
        files.remove(photo)
    for photo in photos:
        uploads.pop(photo)
    files.insert(position, merged.id)
    uploads[merged.id] = merged
