"""A draft's files on disk: attached, removed, replaced by their merged PDF, discarded."""

from __future__ import annotations

import hashlib
from pathlib import Path

from portal.domain import draft_files
from portal.domain.draft import Draft, ExtraDraft, ItemDraft
from portal.domain.uploads import StoredUpload
from portal.intake.files import temporary


def stored(folder: Path, upload_id: str, media_type: str = "application/pdf") -> StoredUpload:
    data = upload_id.encode()
    path = folder / upload_id
    path.write_bytes(data)
    return StoredUpload(
        id=upload_id,
        path=path,
        media_type=media_type,
        extension="pdf" if media_type == "application/pdf" else "jpg",
        size=len(data),
        sha512=hashlib.sha512(data).hexdigest(),
        pages=1,
        original_name=f"{upload_id}.pdf",
    )


def test_an_attached_file_is_the_last_of_its_list(tmp_path: Path) -> None:
    uploads: dict[str, StoredUpload] = {}
    files: list[str] = []
    for upload_id in ("a", "b"):
        draft_files.attach(uploads, files, stored(tmp_path, upload_id))
    assert files == ["a", "b"] and set(uploads) == {"a", "b"}


def test_a_removed_file_leaves_the_draft_and_the_disk(tmp_path: Path) -> None:
    a, b, c = (stored(tmp_path, i) for i in "abc")
    uploads = {u.id: u for u in (a, b, c)}
    draft = Draft(
        items=[ItemDraft("item-1", "passport", files=["a", "b"])],
        extras=[ExtraDraft("other", "Brief", files=["c"]), ExtraDraft("other", files=["b"])],
    )
    temporary(a.path).write_bytes(b"half written")
    assert draft_files.remove(draft, uploads, "a") == a
    assert draft.items[0].files == ["b"] and "a" not in uploads
    assert not a.path.exists() and not temporary(a.path).exists()
    # A further document left without files goes with its last one.
    assert draft_files.remove(draft, uploads, "c") == c
    assert [e.files for e in draft.extras] == [["b"]] and not c.path.exists()
    # A file listed twice leaves both lists.
    draft_files.remove(draft, uploads, "b")
    assert draft.items[0].files == [] and draft.extras == [] and uploads == {}


def test_removing_a_file_the_draft_does_not_hold_changes_nothing(tmp_path: Path) -> None:
    a = stored(tmp_path, "a")
    uploads = {"a": a}
    draft = Draft(items=[ItemDraft("item-1", "passport", files=["a"])])
    assert draft_files.remove(draft, uploads, "elsewhere") is None
    assert draft.items[0].files == ["a"] and a.path.exists()


def test_merged_photos_are_replaced_by_their_pdf_where_the_first_was(tmp_path: Path) -> None:
    pdf, one, two, merged = (stored(tmp_path, i) for i in ("pdf", "one", "two", "merged"))
    uploads = {u.id: u for u in (pdf, one, two)}
    files = ["one", "pdf", "two"]
    draft_files.replace_by_merge(uploads, files, ["one", "two"], merged)
    assert files == ["merged", "pdf"]
    assert set(uploads) == {"pdf", "merged"}
    assert not one.path.exists() and not two.path.exists() and merged.path.exists() and pdf.path.exists()


def test_a_file_refused_after_storing_is_deleted(tmp_path: Path) -> None:
    a = stored(tmp_path, "a")
    draft_files.discard(a)
    assert not a.path.exists()
    draft_files.discard(a)  # gone already: no error
