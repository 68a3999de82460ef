"""What an uploaded file really is: sniffed by content (libmagic), then checked by its own parser.

The name and the browser's MIME type are never consulted: both are chosen by the sender. The
allow-list is the :data:`FORMATS` registry (media type → :class:`Format`); everything else is
refused with a code that tells the applicant what to do (a Word file: save it as PDF).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import magic
from PIL import Image
from pypdf import PasswordType, PdfReader

from portal.domain.errors import IntakeError
from portal.domain.limits import DEFAULT_LIMITS, Limits


@dataclass(frozen=True, slots=True)
class Inspection:
    media_type: str
    extension: str
    pages: int


# Checks a file of its format and returns its page count; raises IntakeError.
Checker = Callable[[Path, Limits], int]


@dataclass(frozen=True, slots=True)
class Format:
    media_type: str
    extension: str
    check: Checker


# ---------------------------------------------------------------- PDF

# The PDF spec puts %%EOF at the end; readers tolerate up to 1 KiB of trailing bytes. Without it
# the file was cut off in transfer, even where pypdf's lenient mode could rebuild some pages.
_PDF_TAIL = 1024


def check_pdf(path: Path, limits: Limits) -> int:
    with path.open("rb") as fh:
        fh.seek(max(path.stat().st_size - _PDF_TAIL, 0))
        if b"%%EOF" not in fh.read():
            raise IntakeError("pdf_broken")
    try:
        reader = PdfReader(path, strict=False)
        encrypted = reader.is_encrypted
    except Exception as exc:
        # A parser of hostile input raises anything (KeyError, RecursionError, ...): whatever
        # stops it means the caseworker's viewer may fail too.
        raise IntakeError("pdf_broken") from exc
    if encrypted and not _opens_without_password(reader):
        raise IntakeError("pdf_encrypted")
    try:
        pages = len(reader.pages)
        if pages > limits.max_pdf_pages:
            raise IntakeError("pdf_too_many_pages", pages=pages, max=limits.max_pdf_pages)
        for page in reader.pages:
            _ = page.mediabox  # resolves every page object, so a broken page tree shows here
    except IntakeError:
        raise
    except Exception as exc:
        raise IntakeError("pdf_broken") from exc
    if pages == 0:
        raise IntakeError("pdf_broken")
    return pages


def _opens_without_password(reader: PdfReader) -> bool:
    # Payslips and bank statements often carry only an owner password (printing/editing
    # restrictions): every viewer opens them without asking, so the caseworker can read them.
    # AES needs the optional ``cryptography`` package; without it we cannot tell, so we refuse.
    try:
        return reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except Exception:
        return False


# ---------------------------------------------------------------- images


def _image_checker(pillow_formats: tuple[str, ...]) -> Checker:
    def check(path: Path, limits: Limits) -> int:
        try:
            with Image.open(path, formats=pillow_formats) as im:
                width, height = im.size
                if width * height > limits.max_image_pixels:
                    raise IntakeError("image_too_large_dimensions", width=width, height=height)
                im.verify()  # PNG: every chunk's CRC and the IEND end marker
            with Image.open(path, formats=pillow_formats) as im:
                # verify() barely looks at JPEG data; decoding finds truncation. draft() makes
                # libjpeg decode at 1/8 scale, so a 48 MP photo needs ~2 MB instead of ~150 MB.
                im.draft("RGB", (1, 1))
                im.load()
        except IntakeError:
            raise
        except Image.DecompressionBombError as exc:
            raise IntakeError("image_too_large_dimensions") from exc
        except Exception as exc:
            raise IntakeError("image_broken") from exc
        return 1

    return check


check_jpeg = _image_checker(("JPEG", "MPO"))  # iPhones write multi-picture JPEGs, which Pillow calls MPO
check_png = _image_checker(("PNG",))

FORMATS: Mapping[str, Format] = MappingProxyType(
    {
        "application/pdf": Format("application/pdf", "pdf", check_pdf),
        "image/jpeg": Format("image/jpeg", "jpg", check_jpeg),
        "image/png": Format("image/png", "png", check_png),
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
    """Decide what ``path`` is by its content and check it; raises IntakeError if it is refused."""
    media_type = sniff(path)
    fmt = formats.get(media_type)
    if fmt is None:
        raise IntakeError(refusal_code(media_type, path), media_type=media_type)
    pages = fmt.check(path, limits)
    return Inspection(fmt.media_type, fmt.extension, pages)
