"""A draft's files: attached, removed, replaced by their merged PDF; the stored files are left to
the retention purge (another browser may have sent them)."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import pytest

from portal.domain import draft_files
from portal.domain.draft import Draft, ExtraDraft, ItemDraft
from portal.domain.uploads import StoredUpload
from portal.storage import LocalStorage


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path)


def stored(storage: LocalStorage, media_type: str = "application/pdf") -> StoredUpload:
    upload_id = secrets.token_hex(16)
    data = upload_id.encode()
    (storage.work_dir / upload_id).write_bytes(data)
    storage.keep(upload_id)
    return StoredUpload(
        id=upload_id,
        media_type=media_type,
        extension="pdf" if media_type == "application/pdf" else "jpg",
        size=len(data),
        sha512=hashlib.sha512(data).hexdigest(),
        pages=1,
        original_name=f"{upload_id}.pdf",
    )


def test_an_attached_file_is_the_last_of_its_list(storage: LocalStorage) -> None:
    uploads: dict[str, StoredUpload] = {}
    files: list[str] = []
    a, b = stored(storage), stored(storage)
    for upload in (a, b):
        draft_files.attach(uploads, files, upload)
    assert files == [a.id, b.id] and set(uploads) == {a.id, b.id}


def test_a_removed_file_leaves_the_draft_not_the_storage(storage: LocalStorage) -> None:
    a, b, c = (stored(storage) for _ in range(3))
    uploads = {u.id: u for u in (a, b, c)}
    draft = Draft(
        items=[ItemDraft("item-1", "passport", files=[a.id, b.id])],
        extras=[ExtraDraft("other", "Brief", files=[c.id]), ExtraDraft("other", files=[b.id])],
    )
    assert draft_files.remove(draft, uploads, a.id) == a
    assert draft.items[0].files == [b.id] and a.id not in uploads
    # A further document left without files goes with its last one.
    assert draft_files.remove(draft, uploads, c.id) == c
    assert [e.files for e in draft.extras] == [[b.id]]
    # A file listed twice leaves both lists.
    draft_files.remove(draft, uploads, b.id)
    assert draft.items[0].files == [] and draft.extras == [] and uploads == {}
    assert all(storage.exists(u.id) for u in (a, b, c))


def test_removing_a_file_the_draft_does_not_hold_changes_nothing(storage: LocalStorage) -> None:
    a = stored(storage)
    uploads = {a.id: a}
    draft = Draft(items=[ItemDraft("item-1", "passport", files=[a.id])])
    assert draft_files.remove(draft, uploads, "f" * 32) is None
    assert draft.items[0].files == [a.id] and storage.exists(a.id)


def test_merged_photos_are_replaced_by_their_pdf_where_the_first_was(storage: LocalStorage) -> None:
    pdf, one, two, merged = (stored(storage) for _ in range(4))
    uploads = {u.id: u for u in (pdf, one, two)}
    files = [one.id, pdf.id, two.id]
    draft_files.replace_by_merge(uploads, files, [one.id, two.id], merged)
    assert files == [merged.id, pdf.id]
    assert set(uploads) == {pdf.id, merged.id}
