"""PDF checks (structure, encryption, pages, inflated size) and the sanitising step that removes active content.

Inflated size: a viewer inflates a page's content streams whole before it parses them, so a
1 MB file can carry a page of 1 GiB (PDFium then takes over 2 GB to draw it). :func:`check_pdf`
refuses a file whose content streams inflate to more than ``Limits.max_pdf_content_bytes``, or
that draws an image of more than ``Limits.max_image_pixels`` (the rule for photos, 60 MP; an A4
scan at 600 dpi is 35 MP), with ``file_too_complex`` before anything renders it (see
:mod:`portal.intake.pdf_content`).
pypdf's own decoders (object and cross-reference streams) are capped at
:data:`PYPDF_STREAM_LIMIT`, and everything here runs in the sandbox anyway.

Active content removed by :func:`sanitise_pdf`, and why
-------------------------------------------------------
Applicants' fillable government forms (the employer's "Erklärung zum Beschäftigungsverhältnis",
Verpflichtungserklärung, ...) often carry JavaScript for field formatting. Refusing such files
would block honest applicants; the visible content (page contents and the fields' appearance
streams) does not need any of it. So the portal removes what a viewer could *run* or *fetch*, and
keeps the file otherwise as it is:

* the document's ``/OpenAction`` when it is an action other than a plain ``/GoTo`` (a page
  destination array only opens the document at a page and is kept);
* every ``/AA`` (additional actions: automatic triggers on open, close, page view, field focus,
  keystroke, calculation) in the catalogue, the pages, annotations and form fields;
* ``/Names`` → ``/JavaScript`` (document scripts) and ``/EmbeddedFiles`` (attachments), the
  catalogue's ``/AF`` and ``/Collection`` (PDF 2.0 associated files, portfolios);
* an annotation's or field's ``/A`` when its action chain (``/Next`` included) holds
  ``/JavaScript``, ``/Launch``, ``/SubmitForm``, ``/ImportData``, ``/GoToR``, ``/GoToE``,
  ``/Rendition``, ``/RichMediaExecute``, ``/Movie`` or ``/Sound``; ``/URI`` links and in-document
  navigation stay, since a person has to click them and the viewer shows where they lead;
* file-attachment and media annotations (``/FileAttachment``, ``/RichMedia``, ``/Screen``,
  ``/Movie``, ``/Sound``, ``/3D``);
* XFA forms (``/AcroForm`` → ``/XFA``, ``/NeedsRendering``): XFA is a second, scriptable form
  layer. A *dynamic* XFA form has no page content of its own and reads as a placeholder page
  afterwards; viewers other than Acrobat show no more than that anyway.

A clean PDF is never rewritten, so it keeps its exact bytes (and the applicant's signature, if
any). A PDF that is rewritten is written by pypdf from the reachable objects only (objects the
removal orphaned are dropped, so the script text is not left in the file), unencrypted: an
owner-password-only PDF opens without a password anyway. What was removed is recorded as notes
(``notice.<code>``): ``pdf_javascript_removed``, ``pdf_actions_removed``,
``pdf_attachments_removed``, ``pdf_xfa_removed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from pypdf import PasswordType, PdfReader, PdfWriter, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.generic import ArrayObject, DictionaryObject

from portal.domain.errors import IntakeError
from portal.intake.files import rewrite
from portal.intake.inspection import Inspection
from portal.intake.limits import Limits
from portal.intake.pdf_content import measure
from portal.intake.pdf_walk import MAX_DEPTH, FirstVisits

__all__ = ["PYPDF_STREAM_LIMIT", "check_pdf", "open_pdf", "sanitise_pdf"]

PDF = "application/pdf"
TOO_COMPLEX = "file_too_complex"
# One stream as pypdf decodes it (object and cross-reference streams hold a few hundred kB in
# real files; pypdf's default is 75 MB). Over it pypdf raises LimitReachedError.
PYPDF_STREAM_LIMIT = 32_000_000

# ---------------------------------------------------------------- checks

# The PDF spec puts %%EOF at the end; readers tolerate up to 1 KiB of trailing bytes. Without it
# the file was cut off in transfer, even where pypdf's lenient mode could rebuild some pages.
_PDF_TAIL = 1024


@contextmanager
def _bounded() -> Iterator[None]:
    """pypdf's decoders capped at PYPDF_STREAM_LIMIT, and its LimitReachedError as our refusal."""
    limit = PYPDF_STREAM_LIMIT
    try:
        with apply_configuration(
            zlib_maximum_output_length=limit,
            lzw_maximum_output_length=limit,
            run_length_maximum_output_length=limit,
            brotli_maximum_output_length=limit,
            jbig2_maximum_output_length=limit,
            array_based_stream_maximum_output_length=limit,
        ):
            yield
    except LimitReachedError as exc:
        raise IntakeError(TOO_COMPLEX) from exc


def open_pdf(path: Path) -> PdfReader:
    """A reader for ``path``, decrypted when it opens without a password. Raises IntakeError."""
    with path.open("rb") as fh:
        fh.seek(max(path.stat().st_size - _PDF_TAIL, 0))
        if b"%%EOF" not in fh.read():
            raise IntakeError("pdf_broken")
    try:
        reader = PdfReader(path, strict=False)
        encrypted = reader.is_encrypted
    except LimitReachedError:
        raise
    except Exception as exc:
        # A parser of hostile input raises anything (KeyError, RecursionError, ...): whatever
        # stops it means the caseworker's viewer may fail too.
        raise IntakeError("pdf_broken") from exc
    if encrypted and not _opens_without_password(reader):
        raise IntakeError("pdf_encrypted")
    return reader


def check_pdf(path: Path, limits: Limits) -> int:
    """Checks structure, encryption, page count and inflated content size; returns the page count."""
    with _bounded():
        reader = open_pdf(path)
        try:
            pages = len(reader.pages)
            if pages > limits.max_pdf_pages:
                raise IntakeError("pdf_too_many_pages", pages=pages, max=limits.max_pdf_pages)
            for page in reader.pages:
                _ = page.mediabox  # resolves every page object, so a broken page tree shows here
            if pages:
                size = measure(reader, limits.max_pdf_content_bytes)
                if size.content_bytes > limits.max_pdf_content_bytes:
                    raise IntakeError(TOO_COMPLEX)
                if size.largest_image_pixels > limits.max_image_pixels:
                    raise IntakeError(TOO_COMPLEX)
        except (IntakeError, LimitReachedError):
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


# ---------------------------------------------------------------- sanitising

JAVASCRIPT = "pdf_javascript_removed"
ACTIONS = "pdf_actions_removed"
ATTACHMENTS = "pdf_attachments_removed"
XFA = "pdf_xfa_removed"

_DANGEROUS_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/GoToR",
        "/GoToE",
        "/Rendition",
        "/RichMediaExecute",
        "/Movie",
        "/Sound",
    }
)
_ATTACHMENT_ANNOTS = frozenset({"/FileAttachment"})
_MEDIA_ANNOTS = frozenset({"/RichMedia", "/Screen", "/Movie", "/Sound", "/3D"})


def sanitise_pdf(path: Path, found: Inspection, limits: Limits, /) -> Inspection:
    """Step: remove active content (see the module docstring); rewrite only if there was any."""
    if found.media_type != PDF:
        return found
    with _bounded():
        return _sanitise(path, found)


def _sanitise(path: Path, found: Inspection) -> Inspection:
    try:
        reader = open_pdf(path)
        root = reader.trailer["/Root"].get_object()
        if not isinstance(root, DictionaryObject):
            raise IntakeError("pdf_broken")
        # Removal works on the reader's parsed objects (in memory; the file is untouched). The
        # clone copies only what the catalogue still reaches: removed scripts are not carried.
        # reader.pages are copies of the page dictionaries; the clone reads the parsed originals.
        pages = [page.indirect_reference.get_object() if page.indirect_reference else page for page in reader.pages]
        removed = _Stripper().run(root, pages)
        if not removed:
            return found
        writer = PdfWriter(clone_from=reader)
        rewrite(path, writer.write)
    except (IntakeError, LimitReachedError):
        raise
    except Exception as exc:
        raise IntakeError("pdf_broken") from exc
    return replace(found, notes=found.notes + tuple(sorted(removed)))


class _Stripper:
    """Walks catalogue, pages, annotations and form fields; removes active content, notes codes."""

    def __init__(self) -> None:
        self.found: set[str] = set()
        self._visits = FirstVisits()

    def run(self, root: DictionaryObject, pages: Any) -> set[str]:
        if "/OpenAction" in root:
            action = root["/OpenAction"].get_object()
            if isinstance(action, DictionaryObject) and action.get("/S") != "/GoTo":
                self._drop(root, "/OpenAction", self._action_code(action, 0))
        self._drop_aa(root)
        names = root.get("/Names")
        if names is not None:
            names = names.get_object()
            if "/JavaScript" in names:
                self._drop(names, "/JavaScript", JAVASCRIPT)
            if "/EmbeddedFiles" in names:
                self._drop(names, "/EmbeddedFiles", ATTACHMENTS)
        for key in ("/AF", "/Collection"):
            if key in root:
                self._drop(root, key, ATTACHMENTS)
        form = root.get("/AcroForm")
        if form is not None:
            form = form.get_object()
            for key in ("/XFA", "/NeedsRendering"):
                if key in form:
                    self._drop(form, key, XFA)
            for field in form.get("/Fields", ()):
                self._field(field.get_object(), 0)
        for page in pages:
            self._drop_aa(page)
            self._annotations(page)
        return self.found

    def _drop(self, holder: DictionaryObject, key: str, code: str) -> None:
        self.found.add(code)
        del holder[key]

    def _drop_aa(self, holder: DictionaryObject) -> None:
        if "/AA" not in holder:
            return
        triggers = holder["/AA"].get_object()
        codes = (
            {self._action_code(a.get_object(), 0) for a in triggers.values()}
            if isinstance(triggers, DictionaryObject)
            else {ACTIONS}
        )
        self._drop(holder, "/AA", JAVASCRIPT if JAVASCRIPT in codes else ACTIONS)

    def _drop_dangerous_a(self, holder: DictionaryObject) -> None:
        if "/A" in holder:
            action = holder["/A"].get_object()
            if isinstance(action, DictionaryObject) and self._is_dangerous(action, 0):
                self._drop(holder, "/A", self._action_code(action, 0))

    def _annotations(self, page: DictionaryObject) -> None:
        annots = page.get("/Annots")
        if annots is None:
            return
        annots = annots.get_object()
        if not isinstance(annots, ArrayObject):
            return
        keep = []
        for ref in annots:
            annot = ref.get_object()
            if not isinstance(annot, DictionaryObject):
                continue
            subtype = annot.get("/Subtype")
            if subtype in _ATTACHMENT_ANNOTS or subtype in _MEDIA_ANNOTS:
                self.found.add(ATTACHMENTS if subtype in _ATTACHMENT_ANNOTS else ACTIONS)
                continue
            self._drop_aa(annot)
            self._drop_dangerous_a(annot)
            keep.append(ref)
        if len(keep) != len(annots):
            annots[:] = keep

    def _field(self, field: Any, depth: int) -> None:
        if not isinstance(field, DictionaryObject) or depth > MAX_DEPTH or not self._visits.first(field):
            return
        self._drop_aa(field)
        self._drop_dangerous_a(field)
        for kid in field.get("/Kids", ()):
            self._field(kid.get_object(), depth + 1)

    def _is_dangerous(self, action: Any, depth: int) -> bool:
        if depth > MAX_DEPTH:
            return True  # a chain this long is an attack on the walker, not a document
        if not isinstance(action, DictionaryObject):
            return False
        if action.get("/S") in _DANGEROUS_ACTIONS or "/JS" in action:
            return True
        nxt = action.get("/Next")
        if nxt is None:
            return False
        nxt = nxt.get_object()
        chain = nxt if isinstance(nxt, ArrayObject) else [nxt]
        return any(self._is_dangerous(a.get_object(), depth + 1) for a in chain)

    def _action_code(self, action: Any, depth: int) -> str:
        if depth > MAX_DEPTH or not isinstance(action, DictionaryObject):
            return ACTIONS
        if action.get("/S") == "/JavaScript" or "/JS" in action:
            return JAVASCRIPT
        nxt = action.get("/Next")
        if nxt is not None:
            nxt = nxt.get_object()
            for a in nxt if isinstance(nxt, ArrayObject) else [nxt]:
                if self._action_code(a.get_object(), depth + 1) == JAVASCRIPT:
                    return JAVASCRIPT
        return ACTIONS
