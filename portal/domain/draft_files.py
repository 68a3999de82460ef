"""The files of a draft reply: attach, remove, replace photos by their merged PDF.

A draft lists upload ids (on an item, or on a further document); ``uploads`` maps each id to its
stored file. These operations keep the two in step and are the only place a draft's file is
deleted (through the file storage's ``delete``, ``portal.storage``): event handlers never delete
files themselves. Deleting touches the storage, so callers in an event loop run them in a thread.

What a file counts against the message's allowance (portal.protection.quotas) is the caller's:
these functions know the draft, not the database.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping, Sequence
from typing import Protocol

from portal.domain.draft import Draft
from portal.domain.uploads import StoredUpload

Uploads = MutableMapping[str, StoredUpload]


class Deleting(Protocol):
    """What these operations need of the file storage."""

    def delete(self, keys: Iterable[str]) -> None: ...


def attach(uploads: Uploads, files: list[str], stored: StoredUpload) -> None:
    """``stored`` becomes the last file of ``files`` (an item's, or a further document's)."""
    uploads[stored.id] = stored
    files.append(stored.id)


def remove(storage: Deleting, draft: Draft, uploads: Uploads, file_id: str) -> StoredUpload | None:
    """Takes the file out of the draft and deletes it; a further document left without files goes
    too. Returns the removed upload, or None for an id the draft does not hold."""
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
    storage.delete([stored.id])
    return stored


def replace_by_merge(
    storage: Deleting, uploads: Uploads, files: list[str], photos: Sequence[str], merged: StoredUpload
) -> None:
    """The ``photos`` of ``files`` become the one PDF ``merged`` made of them, where the first of
    them was; the photos' files are deleted."""
    position = files.index(photos[0])
    for photo in photos:
        files.remove(photo)
    gone = [uploads.pop(photo) for photo in photos]
    files.insert(position, merged.id)
    uploads[merged.id] = merged
    storage.delete(upload.id for upload in gone)


def held_keys(uploads: Iterable[StoredUpload]) -> list[str]:
    """The storage keys a draft's uploads hold (retention keeps them while the draft is saved)."""
    return [upload.id for upload in uploads]
