"""The reply as it leaves the portal: the contract's shape, one JSON for the outbox and the wire."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from casesvc import schemas
from portal.domain.outgoing import (
    AppointmentAnswer,
    ExtensionRequest,
    ExtraDocument,
    ItemAnswer,
    OutgoingFile,
    OutgoingReply,
)

NOW = datetime(2026, 3, 12, 13, 30, tzinfo=UTC)


def _file(key: str, stored_as: str) -> OutgoingFile:
    return OutgoingFile(
        key=key,
        name=f"Reisepass_ABH-1_{key[1:]}.pdf",
        original_name="Pass.pdf",
        media_type="application/pdf",
        size=10,
        pages=2,
        sha512="a" * 128,
        stored_as=stored_as,
    )


def _default(field: FieldInfo) -> object:
    value = field.get_default(call_default_factory=True)
    return tuple(value) if isinstance(value, list) else value  # ours are tuples: frozen models


def _reply(tmp_path: Path) -> OutgoingReply:
    return OutgoingReply(
        submitted_at=NOW,
        language="de",
        text="Anbei",
        items=(
            ItemAnswer(item_id="item-1", status="provided", files=("f1",)),
            ItemAnswer(item_id="item-2", status="not_available", reason="Kommt", expected_date=date(2026, 4, 1)),
        ),
        extra_documents=(ExtraDocument(code="other", description="Brief", files=("f2",)),),
        appointment=None,
        declaration=True,
        files=(_file("f1", "1" * 32), _file("f2", "2" * 32)),
    )


@pytest.mark.parametrize(
    ("ours", "contract"),
    [
        (OutgoingReply, schemas.ReplyIn),
        (ItemAnswer, schemas.ItemAnswerIn),
        (ExtraDocument, schemas.ExtraDocumentIn),
        (AppointmentAnswer, schemas.AppointmentReply),
        (ExtensionRequest, schemas.ExtensionRequest),
        (OutgoingFile, schemas.FileMeta),
    ],
)
def test_the_models_have_the_contracts_fields_in_its_order(ours: type[BaseModel], contract: type[BaseModel]) -> None:
    sent = {name: field for name, field in ours.model_fields.items() if not field.exclude}
    assert list(sent) == list(contract.model_fields)
    # What the contract requires we always send; what it defaults, we default the same way.
    for name, field in sent.items():
        theirs = contract.model_fields[name]
        assert field.is_required() == theirs.is_required(), name
        if not field.is_required():
            assert _default(field) == _default(theirs), name


def test_the_wire_json_is_the_contracts_reply_without_storage_keys(tmp_path: Path) -> None:
    wire = _reply(tmp_path).wire()
    assert schemas.ReplyIn.model_validate(wire).files[1].key == "f2"
    assert "stored_as" not in wire["files"][0] and "1" * 32 not in repr(wire)
    assert wire["submitted_at"] == "2026-03-12T13:30:00+00:00"  # the offset, as the portal always sent
    assert wire["items"][1] == {
        "item_id": "item-2",
        "status": "not_available",
        "files": [],
        "reason": "Kommt",
        "expected_date": "2026-04-01",
    }


def test_a_reply_comes_back_whole_from_its_json_and_storage_keys(tmp_path: Path) -> None:
    reply = _reply(tmp_path)
    again = OutgoingReply.from_wire(reply.wire(), {"f1": "1" * 32, "f2": "2" * 32})
    assert again == reply and again.wire() == reply.wire()
    with pytest.raises(ValueError, match="no storage key"):
        OutgoingReply.from_wire(reply.wire(), {"f1": "1" * 32})


def test_other_offsets_are_kept_and_a_naive_time_is_refused() -> None:
    berlin_winter = datetime(2026, 3, 12, 14, 30, tzinfo=timezone(timedelta(hours=1)))
    wire = OutgoingReply(submitted_at=berlin_winter, language="de", declaration=True).wire()
    assert wire["submitted_at"] == "2026-03-12T14:30:00+01:00"
    with pytest.raises(ValidationError):
        OutgoingReply(submitted_at=datetime(2026, 3, 12, 13, 30), language="de", declaration=True)


def test_a_misspelt_or_unknown_field_is_refused_before_the_case_service_sees_it() -> None:
    with pytest.raises(ValidationError):
        OutgoingReply.model_validate({"submitted_at": NOW, "language": "de", "declaration": True, "txt": "x"})
    with pytest.raises(ValidationError):
        ItemAnswer.model_validate({"item_id": "item-1", "status": "maybe"})


def test_a_request_for_more_time_is_sent_and_kept_and_none_is_left_out(tmp_path: Path) -> None:
    plain = _reply(tmp_path)
    # Without a request the body is what it was before the field existed.
    assert "extension_request" not in plain.wire()
    asked = plain.model_copy(update={"extension_request": ExtensionRequest(until=date(2026, 5, 4), reason="Vertrag")})
    wire = asked.wire()
    assert wire["extension_request"] == {"until": "2026-05-04", "reason": "Vertrag"}
    assert schemas.ReplyIn.model_validate(wire).extension_request is not None
    assert OutgoingReply.from_wire(wire, {"f1": "1" * 32, "f2": "2" * 32}) == asked
