from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from casesvc.schemas import ReplyIn
from portal.domain import draft as r
from portal.domain.draft import AppointmentDraft, Draft, ExtraDraft, ItemDraft, Problem
from portal.domain.errors import DraftError
from portal.domain.uploads import StoredUpload

TODAY = date(2026, 3, 12)
NOW = datetime(2026, 3, 12, 13, 30, tzinfo=UTC)
REF = "ABH-P-2026-004217"


# ---------------------------------------------------------------- one rule each: broken, then kept


def test_item_missing() -> None:
    item = ItemDraft("item-1", "passport", required=True)
    assert r.item_missing(item, TODAY) == "item_missing"
    assert r.item_missing(ItemDraft("item-1", "passport", required=False), TODAY) is None
    assert r.item_missing(ItemDraft("item-1", "passport", files=["a"]), TODAY) is None
    assert r.item_missing(ItemDraft("item-1", "passport", not_available=True), TODAY) is None


def test_reason_missing() -> None:
    assert r.reason_missing(ItemDraft("item-1", "cv", not_available=True, reason="  \n"), TODAY) == "reason_missing"
    assert r.reason_missing(ItemDraft("item-1", "cv", not_available=True, reason="Beim Amt"), TODAY) is None
    assert r.reason_missing(ItemDraft("item-1", "cv", files=["a"]), TODAY) is None


def test_reason_too_long() -> None:
    long = ItemDraft("item-1", "cv", not_available=True, reason="x" * 2_001)
    assert r.reason_too_long(long, TODAY) == "reason_too_long"
    assert r.reason_too_long(ItemDraft("item-1", "cv", not_available=True, reason="x" * 2_000), TODAY) is None


def test_expected_date_past() -> None:
    past = ItemDraft("item-1", "cv", not_available=True, reason="r", expected_date=date(2026, 3, 11))
    assert r.expected_date_past(past, TODAY) == "expected_date_past"
    today = ItemDraft("item-1", "cv", not_available=True, reason="r", expected_date=TODAY)
    assert r.expected_date_past(today, TODAY) is None
    assert r.expected_date_past(ItemDraft("item-1", "cv", not_available=True, reason="r"), TODAY) is None


def test_extra_files_missing() -> None:
    assert r.extra_files_missing(ExtraDraft("cv", "Lebenslauf")) == "extra_files_missing"
    assert r.extra_files_missing(ExtraDraft("cv", "", ["a"])) is None


def test_extra_code_invalid() -> None:
    assert r.extra_code_invalid(ExtraDraft("biometric_photo", "", ["a"])) == "extra_code_invalid"
    assert r.extra_code_invalid(ExtraDraft("spaceship_licence", "", ["a"])) == "extra_code_invalid"
    assert r.extra_code_invalid(ExtraDraft("other", "", ["a"])) is None


def test_description_too_long() -> None:
    assert r.description_too_long(ExtraDraft("other", "x" * 201, ["a"])) == "description_too_long"
    assert r.description_too_long(ExtraDraft("other", "x" * 200, ["a"])) is None


def test_appointment_answer_missing() -> None:
    assert r.appointment_answer_missing(AppointmentDraft()) == "appointment_answer_missing"
    assert r.appointment_answer_missing(AppointmentDraft(answer="maybe")) == "appointment_answer_missing"
    assert r.appointment_answer_missing(AppointmentDraft(answer="confirm")) is None


def test_reschedule_reason_missing() -> None:
    assert r.reschedule_reason_missing(AppointmentDraft(answer="reschedule")) == "reschedule_reason_missing"
    assert r.reschedule_reason_missing(AppointmentDraft(answer="reschedule", reason="Prüfung")) is None
    assert r.reschedule_reason_missing(AppointmentDraft(answer="confirm")) is None


def test_appointment_reason_too_long() -> None:
    assert r.appointment_reason_too_long(AppointmentDraft("reschedule", "x" * 2_001)) == "reason_too_long"
    assert r.appointment_reason_too_long(AppointmentDraft("reschedule", "x" * 2_000)) is None


def test_suitable_times_too_long() -> None:
    too_long = AppointmentDraft("reschedule", "r", "x" * 2_001)
    assert r.suitable_times_too_long(too_long) == "suitable_times_too_long"
    assert r.suitable_times_too_long(AppointmentDraft("reschedule", "r", "vormittags")) is None


def test_text_too_long() -> None:
    assert r.text_too_long(Draft(text="x" * 11), 10) == "text_too_long"
    assert r.text_too_long(Draft(text="x" * 10), 10) is None


def test_reply_empty() -> None:
    assert r.reply_empty(Draft(), "question") == "reply_empty"
    assert r.reply_empty(Draft(), "intent_to_refuse") == "reply_empty"
    assert r.reply_empty(Draft(), "appointment") is None  # the appointment answer is the reply
    assert r.reply_empty(Draft(text="Anbei"), "question") is None
    assert r.reply_empty(Draft(extras=[ExtraDraft("cv", "", ["a"])]), "question") is None
    optional = ItemDraft("item-1", "cv", required=False)
    assert r.reply_empty(Draft(items=[optional]), "question") == "reply_empty"
    optional.files.append("a")
    assert r.reply_empty(Draft(items=[optional]), "question") is None


def test_declaration_missing() -> None:
    assert r.declaration_missing(Draft()) == "declaration_missing"
    assert r.declaration_missing(Draft(declaration=True)) is None


# ---------------------------------------------------------------- validate_draft


def test_validate_draft_lists_problems_in_page_order_with_anchors() -> None:
    draft = Draft(
        items=[
            ItemDraft("item-1", "passport"),
            ItemDraft("item-2", "payslips", not_available=True, expected_date=date(2026, 1, 1)),
        ],
        extras=[ExtraDraft("cv", "Lebenslauf"), ExtraDraft("other")],  # the second row is blank: ignored
        text="x" * 30,
    )
    assert r.validate_draft(draft, "question", TODAY, 20) == [
        Problem("item-1", "item_missing"),
        Problem("item-2", "reason_missing"),
        Problem("item-2", "expected_date_past"),
        Problem("extras", "extra_files_missing"),
        Problem("text", "text_too_long"),
        Problem("declaration", "declaration_missing"),
    ]


def test_validate_draft_for_an_appointment() -> None:
    draft = Draft(appointment=AppointmentDraft(answer="reschedule"), declaration=True)
    assert r.validate_draft(draft, "appointment", TODAY, 100) == [Problem("appointment", "reschedule_reason_missing")]
    draft.appointment = AppointmentDraft(answer="confirm")
    assert r.validate_draft(draft, "appointment", TODAY, 100) == []


def test_validate_draft_for_a_question_without_items() -> None:
    assert r.validate_draft(Draft(declaration=True), "question", TODAY, 100) == [Problem("text", "reply_empty")]
    assert r.validate_draft(Draft(text="Hallo", declaration=True), "question", TODAY, 100) == []


@pytest.mark.parametrize("kind", ["status", "not_responsible", "nonsense"])
def test_kinds_without_reply_are_refused(kind: str) -> None:
    with pytest.raises(ValueError):
        r.validate_draft(Draft(), kind, TODAY, 100)
    with pytest.raises(ValueError):
        r.build_reply(Draft(), kind, REF, "de", {}, NOW)


# ---------------------------------------------------------------- build_reply


@pytest.fixture
def make_upload(tmp_path: Path) -> Callable[..., StoredUpload]:
    def make(upload_id: str, extension: str = "pdf", original_name: str = "scan.pdf") -> StoredUpload:
        data = f"%PDF-1.7 {upload_id}\n%%EOF\n".encode()
        media = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}[extension]
        return StoredUpload(
            id=upload_id,
            media_type=media,
            extension=extension,
            size=len(data),
            sha512=hashlib.sha512(data).hexdigest(),
            pages=1,
            original_name=original_name,
        )

    return make


def test_build_reply_for_a_question(make_upload: Callable[..., StoredUpload]) -> None:
    uploads = {
        "u1": make_upload("u1", "pdf", "Arbeitsvertrag unterschrieben.pdf"),
        "u2": make_upload("u2", "jpg", "IMG_0789.jpg"),
        "u3": make_upload("u3", "png", "IMG_0790.png"),
        "u4": make_upload("u4", "pdf", "../\u202eevil.pdf"),
        "u5": make_upload("u5", "pdf"),
    }
    draft = Draft(
        items=[
            ItemDraft("item-1", "employment_contract", files=["u1"]),
            ItemDraft("item-2", "payslips", files=["u2", "u3"]),
            ItemDraft(
                "item-3", "health_insurance", files=["u5"], not_available=True, reason=" Kommt ", expected_date=TODAY
            ),
            ItemDraft("item-4", "cv", required=False),
        ],
        extras=[ExtraDraft("payslips", "Dezember", ["u4"]), ExtraDraft("other")],
        text="  Anbei die Unterlagen.  ",
        appointment=AppointmentDraft(answer="confirm"),  # not an appointment message: left out
        declaration=True,
    )
    assert r.validate_draft(draft, "question", TODAY, 20_000) == []
    built = r.build_reply(draft, "question", REF, "ar", uploads, NOW)
    payload, outgoing = built.wire(), built.files
    ReplyIn.model_validate(payload)

    assert payload["submitted_at"] == "2026-03-12T13:30:00+00:00"
    assert payload["language"] == "ar" and payload["text"] == "Anbei die Unterlagen."
    assert payload["appointment"] is None and payload["declaration"] is True
    assert payload["items"] == [
        {"item_id": "item-1", "status": "provided", "files": ["f1"], "reason": "", "expected_date": None},
        {"item_id": "item-2", "status": "provided", "files": ["f2", "f3"], "reason": "", "expected_date": None},
        # Marked not available: its file stays in the draft but is not sent.
        {"item_id": "item-3", "status": "not_available", "files": [], "reason": "Kommt", "expected_date": "2026-03-12"},
    ]
    assert payload["extra_documents"] == [{"code": "payslips", "description": "Dezember", "files": ["f4"]}]
    names = [f["name"] for f in payload["files"]]
    # Numbered per stem across the reply, so the extra payslip does not clash with the item's.
    assert names == [
        f"Arbeitsvertrag_{REF}_1.pdf",
        f"Gehaltsabrechnungen_{REF}_1.jpg",
        f"Gehaltsabrechnungen_{REF}_2.png",
        f"Gehaltsabrechnungen_{REF}_3.pdf",
    ]
    assert [f["original_name"] for f in payload["files"]] == [
        "Arbeitsvertrag unterschrieben.pdf",
        "IMG_0789.jpg",
        "IMG_0790.png",
        "evil.pdf",
    ]
    first = payload["files"][0]
    assert first["sha512"] == uploads["u1"].sha512 and first["size"] == uploads["u1"].size
    assert first["media_type"] == "application/pdf" and first["pages"] == 1
    assert [(o.key, o.stored_as, o.media_type, o.name) for o in outgoing] == [
        (f["key"], uploads[u].id, f["media_type"], f["name"])
        for f, u in zip(payload["files"], ["u1", "u2", "u3", "u4"], strict=True)
    ]


def test_build_reply_for_an_appointment() -> None:
    draft = Draft(
        appointment=AppointmentDraft("reschedule", " Prüfung an dem Tag ", " vormittags "),
        declaration=True,
    )
    built = r.build_reply(draft, "appointment", REF, "de", {}, NOW)
    payload, outgoing = built.wire(), built.files
    parsed = ReplyIn.model_validate(payload)
    assert parsed.appointment is not None and parsed.appointment.reason == "Prüfung an dem Tag"
    assert payload["appointment"] == {
        "answer": "reschedule",
        "reason": "Prüfung an dem Tag",
        "suitable_times": "vormittags",
    }
    assert outgoing == () and payload["files"] == [] and payload["items"] == []

    draft.appointment = AppointmentDraft("confirm", "leftover from rescheduling", "leftover")
    payload = r.build_reply(draft, "appointment", REF, "de", {}, NOW).wire()
    assert payload["appointment"] == {"answer": "confirm", "reason": "", "suitable_times": ""}


def test_build_reply_sends_a_file_listed_twice_once(make_upload: Callable[..., StoredUpload]) -> None:
    uploads: dict[str, Any] = {"u1": make_upload("u1")}
    draft = Draft(
        items=[ItemDraft("item-1", "passport", files=["u1"])],
        extras=[ExtraDraft("other", "", ["u1"])],
        declaration=True,
    )
    built = r.build_reply(draft, "intent_to_refuse", REF, "de", uploads, NOW)
    payload, outgoing = built.wire(), built.files
    ReplyIn.model_validate(payload)
    assert len(outgoing) == 1 and payload["extra_documents"][0]["files"] == ["f1"]


def test_build_reply_refuses_a_vanished_upload(make_upload: Callable[..., StoredUpload]) -> None:
    draft = Draft(items=[ItemDraft("item-1", "passport", files=["gone"])], declaration=True)
    with pytest.raises(DraftError) as err:
        r.build_reply(draft, "question", REF, "de", {}, NOW)
    assert err.value.code == "upload_missing"


def test_build_reply_needs_an_aware_time() -> None:
    with pytest.raises(ValueError):
        r.build_reply(Draft(text="x", declaration=True), "question", REF, "de", {}, datetime(2026, 3, 12, 13, 30))


# ---------------------------------------------------------------- more time asked


def _asking(until: date | None = date(2026, 4, 30), reason: str = " Vertrag folgt ") -> Draft:
    from portal.domain.extension import ExtensionDraft

    return Draft(
        items=[ItemDraft("item-1", "employment_contract"), ItemDraft("item-2", "payslips")],
        extension=ExtensionDraft(until=until, reason=reason),
        declaration=True,
    )


def test_more_time_alone_leaves_the_items_open_and_is_no_empty_reply() -> None:
    draft = _asking()
    assert r.validate_draft(draft, "intent_to_refuse", TODAY, 20_000, date(2026, 3, 20)) == []
    assert r.reply_empty(draft, "question") is None
    # Withdrawn, the usual rules stand again.
    draft.extension = None
    codes = [p.code for p in r.validate_draft(draft, "question", TODAY, 20_000, date(2026, 3, 20))]
    assert codes == ["item_missing", "item_missing", "reply_empty"]


def test_more_time_keeps_the_rules_of_what_is_answered() -> None:
    draft = _asking(until=date(2026, 3, 20), reason="")
    draft.items[1].not_available = True
    problems = r.validate_draft(draft, "question", TODAY, 20_000, date(2026, 3, 20))
    assert problems == [
        Problem("extension", "extension_date_not_after_deadline"),
        Problem("extension", "extension_reason_missing"),
        Problem("item-2", "reason_missing"),
    ]
    assert r.validate_item(draft.items[0], TODAY, more_time=True) == []
    assert r.validate_item(draft.items[0], TODAY) == [Problem("item-1", "item_missing")]


def test_build_reply_sends_the_request_as_its_own_field(make_upload: Callable[..., StoredUpload]) -> None:
    draft = _asking()
    draft.items[0].files = ["u1"]
    built = r.build_reply(draft, "question", REF, "de", {"u1": make_upload("u1", "pdf")}, NOW)
    payload = built.wire()
    ReplyIn.model_validate(payload)
    assert payload["extension_request"] == {"until": "2026-04-30", "reason": "Vertrag folgt"}
    assert [i["item_id"] for i in payload["items"]] == ["item-1"]  # item-2 stays open
    assert payload["text"] == ""


def test_build_reply_without_a_request_leaves_the_field_out() -> None:
    draft = _asking()
    draft.extension = None
    draft.text = "Anbei"
    assert "extension_request" not in r.build_reply(draft, "question", REF, "de", {}, NOW).wire()
    # An appointment never carries one, whatever the draft holds.
    appointment = _asking()
    appointment.appointment = AppointmentDraft("confirm")
    assert "extension_request" not in r.build_reply(appointment, "appointment", REF, "de", {}, NOW).wire()
