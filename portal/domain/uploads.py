"""An uploaded file as the rules see it, once intake has checked and stored it, and its names.

``portal.intake`` produces a :class:`StoredUpload`; the draft, the reply and the pages use it. The
applicant's own name for a file is cleaned to be safe to show (``clean_original_name``); the
caseworker gets a predictable one (``caseworker_name``). The name caps are the contract's
(``tests/portal/test_contract_drift.py``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from portal.domain.catalogue import file_stem

__all__ = ["MAX_CASEWORKER_NAME", "MAX_ORIGINAL_NAME", "StoredUpload", "caseworker_name", "clean_original_name"]


@dataclass(frozen=True, slots=True)
class StoredUpload:
    """``id`` is also the file's key in the portal's file storage (``portal.storage``)."""

    id: str
    media_type: str
    extension: str
    size: int
    sha512: str
    pages: int
    original_name: str
    quality: tuple[str, ...] = ()  # hint codes (``hint.<code>``); never a refusal
    notes: tuple[str, ...] = ()  # what intake changed (``notice.<code>``)
    thumbnail: bytes | None = None  # a small JPEG; None: show a generic icon


MAX_ORIGINAL_NAME = 120
MAX_CASEWORKER_NAME = 200

# Bidi controls let "gpj.exe" display as "exe.jpg"; they never belong in a file name.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_REFERENCE_JUNK = re.compile(r"[^A-Za-z0-9-]+")
_EXTENSION = re.compile(r"^[A-Za-z0-9]{1,10}$")


def clean_original_name(name: str) -> str:
    """The applicant's file name made safe to show and store (metadata only; never a path)."""
    # NFC: macOS sends decomposed umlauts, which would count double and compare unequal.
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    # Whitespace first, so a tab or line break becomes a space before other controls are dropped.
    name = " ".join(name.split())
    name = "".join(ch for ch in name if ch not in _BIDI and unicodedata.category(ch) != "Cc")
    name = name.strip(" .")
    if len(name) > MAX_ORIGINAL_NAME:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and _EXTENSION.match(ext):
            name = stem[: MAX_ORIGINAL_NAME - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_ORIGINAL_NAME].rstrip()
    return name or "file"


def caseworker_name(code: str, case_reference: str, index: int, extension: str) -> str:
    """``<Stem>_<reference>_<index>.<ext>``, e.g. ``Arbeitsvertrag_ABH-P-2026-004217_1.pdf``."""
    stem = file_stem(code)
    ext = re.sub(r"[^a-z0-9]", "", extension.lower())[:10]
    suffix = f"_{index}" + (f".{ext}" if ext else "")
    reference = _REFERENCE_JUNK.sub("-", case_reference).strip("-")
    room = MAX_CASEWORKER_NAME - len(stem) - len(suffix) - 1
    reference = reference[: max(room, 0)].rstrip("-")
    return f"{stem}_{reference}{suffix}" if reference else f"{stem}{suffix}"
