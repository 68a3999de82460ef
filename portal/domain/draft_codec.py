"""A draft reply as plain JSON and back: what the portal's store keeps between sessions.

The saved form holds the draft's answers, its uploads' metadata (each upload's bytes rest in the
file storage under its id) and the step the applicant was on. :func:`load` takes only what fits
the message being answered: an item the message does not ask for is dropped, one it asks for that
the saved form lacks starts empty, so a saved draft never changes what the page asks.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from portal.domain.draft import AppointmentDraft, Draft, ExtraDraft, ItemDraft
from portal.domain.extension import ExtensionDraft
from portal.domain.uploads import StoredUpload

FORMAT = 1


class DraftFormatError(ValueError):
    """A saved form this code cannot read (another format, damaged)."""


@dataclass(frozen=True, slots=True)
class Restored:
    draft: Draft
    uploads: dict[str, StoredUpload]
    step: str
    index: int


def dump(draft: Draft, uploads: Mapping[str, StoredUpload], step: str, index: int) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "step": {"name": step, "index": index},
        "items": [
            {
                "item_id": i.item_id,
                "files": list(i.files),
                "not_available": i.not_available,
                "reason": i.reason,
                "expected_date": i.expected_date.isoformat() if i.expected_date else None,
            }
            for i in draft.items
        ],
        "text": draft.text,
        "extras": [{"code": e.code, "description": e.description, "files": list(e.files)} for e in draft.extras],
        "appointment": {
            "answer": draft.appointment.answer,
            "reason": draft.appointment.reason,
            "suitable_times": draft.appointment.suitable_times,
        },
        "declaration": draft.declaration,
        "extension": _dump_extension(draft.extension),
        "uploads": [_dump_upload(u) for u in uploads.values()],
    }


def file_keys(saved: Mapping[str, Any]) -> list[str]:
    """The storage keys of the uploads a saved form holds."""
    return [str(u["id"]) for u in saved.get("uploads", []) if isinstance(u, Mapping) and "id" in u]


def load(saved: Mapping[str, Any], fresh: Draft) -> Restored:
    """The saved form on top of ``fresh`` (the message's empty draft). Raises DraftFormatError."""
    if saved.get("format") != FORMAT:
        raise DraftFormatError("unknown format")
    try:
        uploads = {u.id: u for u in (_load_upload(raw) for raw in saved["uploads"])}
        by_id = {str(raw["item_id"]): raw for raw in saved["items"]}
        items = [_load_item(item, by_id.get(item.item_id), uploads) for item in fresh.items]
        extras = [
            ExtraDraft(code=str(raw["code"]), description=str(raw["description"]), files=_known(raw["files"], uploads))
            for raw in saved["extras"]
        ]
        appointment = saved["appointment"]
        draft = Draft(
            items=items,
            text=str(saved["text"]),
            extras=[e for e in extras if e.files],
            appointment=AppointmentDraft(
                answer=str(appointment["answer"]),
                reason=str(appointment["reason"]),
                suitable_times=str(appointment["suitable_times"]),
            ),
            declaration=bool(saved["declaration"]),
            # Absent from a form saved before the request existed: nothing was asked then.
            extension=_load_extension(saved.get("extension")),
        )
        step = saved["step"]
        return Restored(draft, uploads, str(step["name"]), int(step["index"]))
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise DraftFormatError("damaged saved draft") from exc


def _dump_extension(extension: ExtensionDraft | None) -> dict[str, Any] | None:
    if extension is None:
        return None
    return {"until": extension.until.isoformat() if extension.until else None, "reason": extension.reason}


def _load_extension(raw: Mapping[str, Any] | None) -> ExtensionDraft | None:
    if raw is None:
        return None
    until = raw["until"]
    return ExtensionDraft(until=date.fromisoformat(until) if until else None, reason=str(raw["reason"]))


def _load_item(item: ItemDraft, raw: Mapping[str, Any] | None, uploads: Mapping[str, StoredUpload]) -> ItemDraft:
    if raw is None:
        return item
    expected = raw.get("expected_date")
    return ItemDraft(
        item_id=item.item_id,
        code=item.code,
        required=item.required,
        files=_known(raw["files"], uploads),
        not_available=bool(raw["not_available"]),
        reason=str(raw["reason"]),
        expected_date=date.fromisoformat(expected) if expected else None,
    )


def _known(files: Sequence[Any], uploads: Mapping[str, StoredUpload]) -> list[str]:
    return [str(f) for f in files if str(f) in uploads]


def _dump_upload(upload: StoredUpload) -> dict[str, Any]:
    return {
        "id": upload.id,
        "media_type": upload.media_type,
        "extension": upload.extension,
        "size": upload.size,
        "sha512": upload.sha512,
        "pages": upload.pages,
        "original_name": upload.original_name,
        "quality": list(upload.quality),
        "notes": list(upload.notes),
        "thumbnail": base64.b64encode(upload.thumbnail).decode("ascii") if upload.thumbnail else None,
    }


def _load_upload(raw: Mapping[str, Any]) -> StoredUpload:
    thumbnail = raw.get("thumbnail")
    return StoredUpload(
        id=str(raw["id"]),
        media_type=str(raw["media_type"]),
        extension=str(raw["extension"]),
        size=int(raw["size"]),
        sha512=str(raw["sha512"]),
        pages=int(raw["pages"]),
        original_name=str(raw["original_name"]),
        quality=tuple(str(q) for q in raw["quality"]),
        notes=tuple(str(n) for n in raw["notes"]),
        thumbnail=base64.b64decode(thumbnail, validate=True) if thumbnail else None,
    )
