"""A draft survives its saved form: answers, files' metadata and step, fitted to the message."""

from __future__ import annotations

import json
from datetime import date

import pytest

from portal.domain import draft_codec
from portal.domain.draft import AppointmentDraft, Draft, ExtraDraft, ItemDraft
from portal.domain.uploads import StoredUpload

UPLOAD = StoredUpload(
    id="a" * 32,
    media_type="image/jpeg",
    extension="jpg",
    size=1234,
    sha512="f" * 128,
    pages=1,
    original_name="Lohnzettel März.jpg",
    quality=("photo_small",),
    notes=("image_rotated",),
    thumbnail=b"\xff\xd8\xff thumbnail",
)


def _fresh() -> Draft:
    return Draft(items=[ItemDraft("item-1", "employment_contract"), ItemDraft("item-2", "payslips", required=False)])


def test_a_draft_comes_back_as_it_was_saved() -> None:
    draft = _fresh()
    draft.items[0].files = [UPLOAD.id]
    draft.items[1].not_available = True
    draft.items[1].reason = "Kommt im Mai"
    draft.items[1].expected_date = date(2027, 5, 1)
    draft.text = "Mit freundlichen Grüßen"
    draft.extras = [ExtraDraft("other", "Brief", files=[UPLOAD.id])]
    draft.appointment = AppointmentDraft("reschedule", "verreist", "vormittags")
    draft.declaration = True
    # Through JSON, as the database keeps it.
    saved = json.loads(json.dumps(draft_codec.dump(draft, {UPLOAD.id: UPLOAD}, "item", 1)))
    restored = draft_codec.load(saved, _fresh())
    assert restored.draft == draft
    assert restored.uploads == {UPLOAD.id: UPLOAD}
    assert (restored.step, restored.index) == ("item", 1)
    assert draft_codec.file_keys(saved) == [UPLOAD.id]


def test_what_the_message_does_not_ask_is_dropped_and_what_it_asks_starts_empty() -> None:
    other = Draft(items=[ItemDraft("item-9", "passport", files=[UPLOAD.id]), ItemDraft("item-1", "x", reason="r")])
    saved = draft_codec.dump(other, {UPLOAD.id: UPLOAD}, "review", 0)
    restored = draft_codec.load(saved, _fresh())
    assert [i.item_id for i in restored.draft.items] == ["item-1", "item-2"]
    # The message's own code and requirement stay; the saved answers of item-1 come back.
    assert (restored.draft.items[0].code, restored.draft.items[0].reason) == ("employment_contract", "r")
    assert restored.draft.items[1] == ItemDraft("item-2", "payslips", required=False)


def test_a_file_not_in_the_saved_uploads_is_not_restored() -> None:
    draft = _fresh()
    draft.items[0].files = ["b" * 32]
    restored = draft_codec.load(draft_codec.dump(draft, {}, "item", 0), _fresh())
    assert restored.draft.items[0].files == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(format=99),
        lambda d: d.pop("items"),
        lambda d: d["uploads"][0].update(size="many"),
        lambda d: d["uploads"][0].update(thumbnail="%%%"),
        lambda d: d["items"][0].update(expected_date="gestern"),
    ],
)
def test_a_damaged_saved_form_is_refused_whole(damage) -> None:
    draft = _fresh()
    draft.items[0].files = [UPLOAD.id]
    saved = draft_codec.dump(draft, {UPLOAD.id: UPLOAD}, "item", 0)
    damage(saved)
    with pytest.raises(draft_codec.DraftFormatError):
        draft_codec.load(saved, _fresh())


def test_a_request_for_more_time_is_kept_and_an_older_form_has_none() -> None:
    from portal.domain.extension import ExtensionDraft

    draft = _fresh()
    draft.extension = ExtensionDraft(until=date(2027, 1, 15), reason="Arbeitgeber")
    saved = json.loads(json.dumps(draft_codec.dump(draft, {}, "extension", 0)))
    restored = draft_codec.load(saved, _fresh())
    assert restored.draft.extension == draft.extension and restored.step == "extension"
    draft.extension = ExtensionDraft()  # asked, nothing filled in yet
    assert draft_codec.load(draft_codec.dump(draft, {}, "extension", 0), _fresh()).draft.extension == ExtensionDraft()
    older = draft_codec.dump(_fresh(), {}, "overview", 0)
    del older["extension"]
    assert draft_codec.load(older, _fresh()).draft.extension is None
