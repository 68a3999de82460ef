"""What an uploaded file really is: sniffed by content (libmagic), then checked by its own parser.

The name and the browser's MIME type are never consulted: both are chosen by the sender. The
allow-list is the :data:`FORMATS` registry (media type → :class:`Format`); everything else is
refused with a code that tells the applicant what to do (a Word file: save it as PDF).

Allowed: PDF, JPEG, PNG, HEIC/HEIF, WebP, TIFF. libmagic (file 5.44) names them
``application/pdf``, ``image/jpeg``, ``image/png``, ``image/heic`` (brand ``heic``, what iPhones
write), ``image/heif`` (brand ``mif1``), ``image/webp`` and ``image/tiff``. AVIF (``image/avif``,
the same container with another codec) is refused as unsupported: caseworkers' viewers cannot
open it and no phone camera writes it by default.

Both the sniffing and the checks read hostile bytes, so :func:`inspect` runs them in one sandbox
job (:mod:`portal.intake.sandbox`): the registry's checks are :class:`ConfinedCheck` job names.
A registry may also name a plain function as a check; it then runs in the calling process, after
the sandboxed sniff.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import magic

from portal.domain.errors import IntakeError
from portal.intake import sandbox
from portal.intake.confined import ConfinedCheck, page_count, to_json
from portal.intake.inspection import Inspection
from portal.intake.limits import DEFAULT_LIMITS, Limits

__all__ = ["FORMATS", "Checker", "ConfinedCheck", "Format", "Inspection", "inspect", "refusal_code", "sniff"]

# Checks a file of its format and returns its page count; raises IntakeError.
Checker = Callable[[Path, Limits], int]


@dataclass(frozen=True, slots=True)
class Format:
    media_type: str
    extension: str
    check: Checker


def _image(media_type: str, extension: str) -> Format:
    return Format(media_type, extension, ConfinedCheck("check_image", media_type))


FORMATS: Mapping[str, Format] = MappingProxyType(
    {
        "application/pdf": Format("application/pdf", "pdf", ConfinedCheck("check_pdf", "application/pdf")),
        "image/jpeg": _image("image/jpeg", "jpg"),
        "image/png": _image("image/png", "png"),
        "image/heic": _image("image/heic", "heic"),
        "image/heif": _image("image/heif", "heif"),
        "image/webp": _image("image/webp", "webp"),
        "image/tiff": _image("image/tiff", "tif"),
    }
)


# ---------------------------------------------------------------- refusals

_OFFICE_PREFIXES = (
    "application/vnd.openxmlformats-officedocument.",
    "application/vnd.oasis.opendocument.",
    "application/vnd.ms-",
)
# "Word" stands for every office document: the advice is the same, save it as PDF.
_WORD = frozenset({"application/msword", "application/x-ole-storage", "application/rtf", "text/rtf"})
_ARCHIVE = frozenset(
    {
        "application/zip",
        "application/x-zip-compressed",
        "application/x-rar",
        "application/vnd.rar",
        "application/x-7z-compressed",
        "application/gzip",
        "application/x-gzip",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-tar",
        "application/x-lzma",
        "application/zstd",
        "application/x-compress",
        "application/x-cpio",
    }
)
_EXECUTABLE = frozenset(
    {
        "application/x-executable",
        "application/x-sharedlib",
        "application/x-pie-executable",
        "application/x-dosexec",
        "application/x-msdownload",
        "application/vnd.microsoft.portable-executable",
        "application/x-mach-binary",
        "application/x-msi",
        "application/java-archive",
        "application/x-java-applet",
        "text/x-shellscript",
        "application/x-shellscript",
    }
)
_HTML = frozenset({"text/html", "application/xhtml+xml"})
_SVG = frozenset({"image/svg+xml"})


def refusal_code(media_type: str, path: Path | None = None) -> str:
    """The code for a sniffed media type that is not allowed."""
    if media_type in _WORD or media_type.startswith(_OFFICE_PREFIXES):
        return "file_type_word"
    if media_type in _ARCHIVE:
        # libmagic recognises OOXML only when its parts come first in the zip; a document saved
        # by other tools reads as a plain zip. Only names are read here, nothing is unpacked.
        if path is not None and media_type == "application/zip" and _is_office_zip(path):
            return "file_type_word"
        return "file_type_archive"
    if media_type in _EXECUTABLE:
        return "file_type_executable"
    if media_type in _HTML:
        return "file_type_html"
    if media_type in _SVG:
        return "file_type_svg"
    return "file_type_unsupported"


def _is_office_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    if "mimetype" in names and "content.xml" in names:
        return True  # OpenDocument
    return "[Content_Types].xml" in names and any(n.startswith(("word/", "xl/", "ppt/")) for n in names)


def sniff(path: Path) -> str:
    """The media type libmagic reads from the content."""
    return str(magic.from_file(str(path), mime=True))


def inspect(path: Path, limits: Limits = DEFAULT_LIMITS, formats: Mapping[str, Format] = FORMATS) -> Inspection:
    """Decide what ``path`` is by its content and check it; raises IntakeError if it is refused.

    One sandbox job sniffs the type and runs the format's check when it is a ConfinedCheck.
    """
    checks = {t: f.check.job for t, f in formats.items() if isinstance(f.check, ConfinedCheck)}
    args = {"path": str(path), "limits": to_json(limits), "allowed": sorted(formats), "checks": checks}
    found = sandbox.run("inspect", args, limits)
    media_type = found.get("media_type") if isinstance(found, dict) else None
    fmt = formats.get(media_type) if isinstance(media_type, str) else None
    if fmt is None:
        refusal = found.get("refusal") if isinstance(found, dict) else None
        if not isinstance(refusal, str) or not refusal.startswith("file_type_"):
            raise IntakeError("file_too_complex")
        raise IntakeError(refusal, media_type=str(media_type)[:100])
    pages = page_count(found.get("pages")) if media_type in checks else fmt.check(path, limits)
    return Inspection(fmt.media_type, fmt.extension, pages)
