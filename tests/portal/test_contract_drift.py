"""The portal's copies of the case-service contract match ``openapi/case-service.json``.

The portal never imports the case service: it keeps its own copy of what it reads and sends
(``portal.domain.message``, ``catalogue``, ``outgoing``) and of the contract's bounds. These tests
hold every such copy to the committed OpenAPI document, which ``tests/casesvc/test_openapi.py``
holds to the case service: a change on either side that the other does not follow fails here.
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from casesvc import schemas
from portal.domain import draft, extension
from portal.domain.catalogue import ItemCode
from portal.domain.message import (
    ANSWERABLE_KINDS,
    LinkState,
    MessageKind,
    MessageSummaryView,
    MessageView,
    ResolvedLink,
)
from portal.domain.outgoing import OutgoingReply
from portal.domain.uploads import MAX_CASEWORKER_NAME, MAX_ORIGINAL_NAME
from portal.intake.limits import WIRE_MAX_FILES_PER_ITEM, WIRE_MAX_FILES_PER_REPLY
from portal.outbox.store import IDEMPOTENCY_KEY

DOCUMENT = json.loads(
    (Path(__file__).resolve().parents[2] / "openapi" / "case-service.json").read_text(encoding="utf-8")
)
CONTRACT: dict[str, Any] = DOCUMENT["components"]["schemas"]

# Where the portal sends a plain string for one of the contract's enums, and why that is safe.
LOOSE_CODES = {
    # Only codes of the portal's catalogue, whose ItemCode is checked against the contract's below.
    ("ExtraDocumentIn", "code"),
}


# ---------------------------------------------------------------- the enumerations


@pytest.mark.parametrize(
    ("ours", "theirs"), [(ItemCode, "ItemCode"), (MessageKind, "MessageKind"), (LinkState, "LinkState")]
)
def test_the_enumerations_are_the_contracts_in_its_order(ours: type[StrEnum], theirs: str) -> None:
    assert [member.value for member in ours] == CONTRACT[theirs]["enum"]


def test_the_rules_on_kinds_are_the_case_services() -> None:
    # Not in the OpenAPI document (they are rules of MessageIn's validator), so compared with the
    # reference service's schemas, from which the document is generated.
    assert {kind.value for kind in ANSWERABLE_KINDS} == {kind.value for kind in schemas.ANSWERABLE_KINDS}
    assert {kind.value for kind in draft.KINDS_WITH_ITEMS} == {kind.value for kind in schemas.KINDS_WITH_ITEMS}
    # How far past the deadline more time may be asked: a rule of the case service's reply check.
    assert extension.MAX_EXTENSION_DAYS == schemas.MAX_EXTENSION_DAYS


# ---------------------------------------------------------------- the models, field by field


@dataclass(frozen=True)
class Side:
    """One side's JSON schemas by name, and the fields it keeps to itself (never on the wire)."""

    definitions: dict[str, Any]
    kept: dict[str, set[str]]

    def resolve(self, schema: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if "$ref" not in schema:
            return "", schema
        name = schema["$ref"].rsplit("/", 1)[-1]
        return name, self.definitions[name]

    def fields(self, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in schema["properties"].items() if k not in self.kept.get(name, set())}


CONTRACT_SIDE = Side(CONTRACT, {})


def _portal_side(model: type[BaseModel]) -> Side:
    schema = model.model_json_schema(mode="validation")
    return Side({**schema.pop("$defs", {}), model.__name__: schema}, _kept(model))


def _kept(model: type[BaseModel]) -> dict[str, set[str]]:
    """The fields marked ``exclude`` of ``model`` and of the models in it, by model name."""
    found = {model.__name__: {name for name, field in model.model_fields.items() if field.exclude}}
    for field in model.model_fields.values():
        for part in _classes(field.annotation):
            if issubclass(part, BaseModel) and part.__name__ not in found:
                found |= _kept(part)
    return found


def _classes(annotation: Any) -> list[type]:
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return [annotation]
    return [c for arg in typing.get_args(annotation) for c in _classes(arg)]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/{name}"}


def _kind(schema: dict[str, Any]) -> str:
    if "properties" in schema:
        return "object"
    if "enum" in schema:
        return "enum"
    return "/".join(str(schema.get(key, "")) for key in ("type", "format")).rstrip("/")


def _without_null(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The schema of a value that may be null, without the null; and whether it may be null."""
    options = schema.get("anyOf")
    if options is None:
        return schema, False
    (value,) = [option for option in options if option != {"type": "null"}]
    return value, len(options) == 2


def problems(reader: Side, read: dict[str, Any], writer: Side, written: dict[str, Any], where: str) -> list[str]:
    """What the writer may send at ``where`` that the reader would not take."""
    read_name, read = reader.resolve(read)
    written_name, written = writer.resolve(written)
    kinds = _kind(read), _kind(written)
    if kinds == ("string", "enum"):
        return []  # a plain string takes any of the values (the portal reads codes it may not know yet)
    if kinds[0] != kinds[1]:
        return [f"{where}: {kinds[1]} sent, {kinds[0]} read"]
    if kinds[0] == "object":
        return _object_problems(reader, read_name, read, writer, written_name, written, where)
    if kinds[0] == "array":
        return problems(reader, read["items"], writer, written["items"], f"{where}[]")
    unknown = set(written.get("enum", ())) - set(read.get("enum", ()))
    return [f"{where}: {sorted(unknown)} sent, not taken"] if unknown else []


def _object_problems(
    reader: Side,
    read_name: str,
    read: dict[str, Any],
    writer: Side,
    written_name: str,
    written: dict[str, Any],
    where: str,
) -> list[str]:
    read_fields, written_fields = reader.fields(read_name, read), writer.fields(written_name, written)
    found = [f"{where}.{name}: read, never sent" for name in sorted(set(read_fields) - set(written_fields))]
    if writer is not CONTRACT_SIDE:  # the portal's reply, field for field: nothing the contract refuses
        found += [f"{where}.{name}: sent, not taken" for name in sorted(set(written_fields) - set(read_fields))]
    for name in sorted(set(read_fields) & set(written_fields)):
        here, theirs, ours = f"{where}.{name}", read_fields[name], written_fields[name]
        (read_value, read_null), (written_value, written_null) = _without_null(theirs), _without_null(ours)
        if name in read.get("required", ()) and name not in written.get("required", ()):
            found.append(f"{here}: required by the reader, optional for the writer")
        if written_null and not read_null:
            found.append(f"{here}: may be null, the reader takes no null")
        if "default" in theirs and "default" in ours and theirs["default"] != ours["default"]:
            found.append(f"{here}: defaults differ")
        if (read_name, name) not in LOOSE_CODES:
            found += problems(reader, read_value, writer, written_value, here)
    return found


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(MessageView, "Message"), (ResolvedLink, "Resolved"), (MessageSummaryView, "MessageSummary")],
)
def test_the_portal_reads_what_the_case_service_sends(ours: type[BaseModel], theirs: str) -> None:
    # Every field the portal reads is one the contract has, as often and of the same type; the
    # portal may leave the contract's other fields unread (it ignores unknown fields).
    assert problems(_portal_side(ours), _ref(ours.__name__), CONTRACT_SIDE, _ref(theirs), theirs) == []


def test_the_case_service_takes_the_reply_the_portal_sends() -> None:
    # Field for field, each required where the contract requires it, with the contract's defaults.
    assert problems(CONTRACT_SIDE, _ref("ReplyIn"), _portal_side(OutgoingReply), _ref("OutgoingReply"), "ReplyIn") == []


# ---------------------------------------------------------------- the bounds


def _bound(schema: str, field: str, key: str) -> int:
    value: int = CONTRACT[schema]["properties"][field][key]
    return value


def test_the_portals_bounds_are_the_contracts() -> None:
    assert WIRE_MAX_FILES_PER_ITEM == _bound("ItemAnswerIn", "files", "maxItems")
    assert WIRE_MAX_FILES_PER_ITEM == _bound("ExtraDocumentIn", "files", "maxItems")
    assert WIRE_MAX_FILES_PER_REPLY == _bound("ReplyIn", "files", "maxItems")
    assert draft.MAX_REASON_CHARS == _bound("ItemAnswerIn", "reason", "maxLength")
    assert draft.MAX_REASON_CHARS == _bound("AppointmentReply", "reason", "maxLength")
    assert draft.MAX_SUITABLE_TIMES_CHARS == _bound("AppointmentReply", "suitable_times", "maxLength")
    assert draft.MAX_DESCRIPTION_CHARS == _bound("ExtraDocumentIn", "description", "maxLength")
    assert extension.MAX_EXTENSION_REASON_CHARS == _bound("ExtensionRequest", "reason", "maxLength")
    assert MAX_CASEWORKER_NAME <= _bound("FileMeta", "name", "maxLength")
    assert MAX_ORIGINAL_NAME <= _bound("FileMeta", "original_name", "maxLength")


def test_the_idempotency_key_is_the_contracts() -> None:
    reply = DOCUMENT["paths"]["/api/v1/messages/{message_id}/reply"]["post"]
    (header,) = [p for p in reply["parameters"] if p["in"] == "header" and p["name"] == "Idempotency-Key"]
    assert f"^{IDEMPOTENCY_KEY.pattern}$" == header["schema"]["pattern"]
