"""The intake's parsers as sandbox jobs, seen from the portal's side: typed calls in, checked data out.

Each function or callable here sends a job to :mod:`portal.intake.sandbox` (the job itself is in
:mod:`portal.intake.jobs`) and turns its JSON answer back into the intake's types. The answer
comes from a process that parsed a hostile file, so it is checked like any input: a value of the
wrong type or out of range refuses the file (``file_too_complex``) rather than travelling on.

* :class:`ConfinedCheck`: a :data:`~portal.intake.formats.Checker` for the format registry;
* :class:`ConfinedStep`: an intake step (normalise an image, sanitise a PDF) for the media types
  it applies to; other types pass without a job;
* :func:`describe`: quality hints and the thumbnail, in one job;
* :func:`merge_images_to_pdf`: photos into one PDF.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal.domain.errors import IntakeError
from portal.intake import sandbox
from portal.intake.files import delete_stored
from portal.intake.inspection import Inspection
from portal.intake.limits import Limits

__all__ = [
    "ConfinedCheck",
    "ConfinedStep",
    "describe",
    "inspection_from",
    "limits_from",
    "merge_images_to_pdf",
    "page_count",
    "to_json",
]

_REFUSED = "file_too_complex"
_JPEG = b"\xff\xd8"
_MAX_THUMBNAIL = 64_000  # preview.MAX_BYTES is 30 kB; anything far above it is not a thumbnail
_MAX_TEXT = 100


def to_json(value: Limits | Inspection) -> dict[str, Any]:
    return dataclasses.asdict(value)


def limits_from(data: dict[str, Any]) -> Limits:
    return Limits(**data)


def inspection_from(data: object) -> Inspection:
    """An Inspection from a job's answer; refuses anything that is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("notes"), list | tuple):
        raise IntakeError(_REFUSED)
    notes = tuple(_text(n) for n in data["notes"])
    return Inspection(_text(data.get("media_type")), _text(data.get("extension")), page_count(data.get("pages")), notes)


def page_count(data: object) -> int:
    if not isinstance(data, int) or isinstance(data, bool) or data < 0:
        raise IntakeError(_REFUSED)
    return data


def _text(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_TEXT:
        raise IntakeError(_REFUSED)
    return value


@dataclass(frozen=True, slots=True)
class ConfinedCheck:
    """A format's check, run as the sandbox job ``job``; returns the page count."""

    job: str
    media_type: str

    def __call__(self, path: Path, limits: Limits) -> int:
        args = {"path": str(path), "media_type": self.media_type, "limits": to_json(limits)}
        return page_count(sandbox.run(self.job, args, limits))


@dataclass(frozen=True, slots=True)
class ConfinedStep:
    """An intake step run as the sandbox job ``job`` on files of ``media_types``."""

    job: str
    media_types: frozenset[str]

    def __call__(self, path: Path, found: Inspection, limits: Limits, /) -> Inspection:
        if found.media_type not in self.media_types:
            return found
        args = {"path": str(path), "found": to_json(found), "limits": to_json(limits)}
        return inspection_from(sandbox.run(self.job, args, limits))


def describe(path: Path, media_type: str, limits: Limits) -> tuple[tuple[str, ...], bytes | None]:
    """Quality hint codes (images only) and a JPEG thumbnail (None: show an icon), in one job."""
    answer = sandbox.run("describe", {"path": str(path), "media_type": media_type}, limits)
    if not isinstance(answer, dict) or not isinstance(answer.get("quality"), list):
        raise IntakeError(_REFUSED)
    return tuple(_text(h) for h in answer["quality"]), _thumbnail(answer.get("thumbnail"))


def _thumbnail(encoded: object) -> bytes | None:
    if not isinstance(encoded, str) or len(encoded) > _MAX_THUMBNAIL * 4 // 3 + 4:
        return None
    try:
        data = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        return None
    return data if data.startswith(_JPEG) else None


def merge_images_to_pdf(paths: Sequence[Path], files_dir: Path, limits: Limits) -> Path:
    """:func:`portal.intake.merge.merge_images_to_pdf` in a job; a new file in ``files_dir``.

    The name is chosen here, so a job that is killed half-way leaves nothing behind.
    """
    out = files_dir / secrets.token_hex(16)
    args = {"paths": [str(p) for p in paths], "out": str(out), "limits": to_json(limits)}
    try:
        page_count(sandbox.run("merge", args, limits))
    except BaseException:
        delete_stored([out])
        raise
    return out
