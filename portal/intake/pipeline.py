"""Upload intake: stream a file to disk, decide its type by content, check it, name it.

The path of one upload is a pipeline::

    receive (stream, hash, size caps) → scan (malware, optional) → inspect (sniff + per-format
    check) → steps (normalise images, sanitise PDFs) → measure → hints + thumbnail → StoredUpload

``scan`` runs on the stored bytes before anything parses them, so an infected file never reaches
a parser. ``inspect`` looks the sniffed media type up in a registry of :class:`Format`
(allow-list), and ``steps`` are transforms run after it (:data:`DEFAULT_STEPS`: images re-encoded
upright and without metadata, PDFs stripped of active content). Adding a format or a step does
not touch the rest: pass ``formats=`` / ``steps=`` to :func:`accept`. Every refusal is an
:class:`IntakeError` whose code maps to ``error.<code>``; the stored file is deleted whenever a
file is refused. Size, SHA-512 and pages describe the bytes that will be handed over.

Nothing of an upload is parsed in the portal's own process: sniffing and checks, the default
steps, hints and thumbnail, and merging run as jobs in the sandbox (:mod:`portal.intake.sandbox`),
child processes with hard limits on memory, CPU and time (``Limits.sandbox_*``). A job stopped
at a limit, or one that crashes, refuses the file with ``file_too_complex``, as do the cheap
checks before decoding (image dimensions from the header, a PDF's inflated content size).
A step or check passed in as a plain function runs in the calling process.

Error codes: too_many_files_item, too_many_files_reply, reply_too_large, file_too_large,
file_empty, file_type_word, file_type_archive, file_type_executable, file_type_html,
file_type_svg, file_type_unsupported, pdf_encrypted, pdf_broken, pdf_too_many_pages,
image_broken, image_too_large_dimensions, image_too_many_pages, merge_images_only,
file_too_complex (and the scanner's file_infected, scanner_unavailable).
Notice codes (``notice.<code>``): pdf_javascript_removed, pdf_actions_removed,
pdf_attachments_removed, pdf_xfa_removed, image_converted_jpeg, image_converted_png,
image_converted_pdf, image_location_removed. Hint codes (``hint.<code>``): photo_dark,
photo_blurred, photo_small.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Protocol

from portal.domain.errors import IntakeError
from portal.domain.uploads import StoredUpload, caseworker_name, clean_original_name
from portal.intake.confined import ConfinedStep, describe, merge_images_to_pdf
from portal.intake.files import delete_stored
from portal.intake.formats import FORMATS, Format, Inspection, inspect
from portal.intake.images import IMAGE_TYPES
from portal.intake.limits import DEFAULT_LIMITS, Limits

__all__ = [
    "CHUNK",
    "DEFAULT_LIMITS",
    "DEFAULT_STEPS",
    "FORMATS",
    "Format",
    "Inspection",
    "Limits",
    "Received",
    "Step",
    "StoredUpload",
    "accept",
    "caseworker_name",
    "check_counts",
    "check_files_per_item",
    "check_files_per_reply",
    "check_reply_bytes",
    "clean_original_name",
    "delete_work_file",
    "inspect",
    "merge_uploads",
    "read_chunks",
    "receive",
    "receive_stream",
    "Scan",
    "vet",
]

CHUNK = 64 * 1024


# ---------------------------------------------------------------- count rules (before reading)


def check_files_per_item(files_in_item: int, incoming: int, limits: Limits) -> str | None:
    return "too_many_files_item" if files_in_item + incoming > limits.max_files_per_item else None


def check_files_per_reply(files_in_reply: int, incoming: int, limits: Limits) -> str | None:
    return "too_many_files_reply" if files_in_reply + incoming > limits.max_files_per_reply else None


def check_reply_bytes(bytes_in_reply: int, incoming: int, limits: Limits) -> str | None:
    # Empty files are refused, so each incoming file adds at least one byte: a reply that has no
    # byte of room per incoming file is certainly too large, before anything is read. The exact
    # total is enforced while streaming (see ``receive(bytes_in_reply=...)``).
    return "reply_too_large" if bytes_in_reply + incoming > limits.max_reply_bytes else None


def check_counts(
    files_in_item: int, files_in_reply: int, bytes_in_reply: int, incoming: int, limits: Limits
) -> str | None:
    """The first count rule ``incoming`` new files break, or None."""
    return (
        check_files_per_item(files_in_item, incoming, limits)
        or check_files_per_reply(files_in_reply, incoming, limits)
        or check_reply_bytes(bytes_in_reply, incoming, limits)
    )


# ---------------------------------------------------------------- receive (stream to disk)


@dataclass(frozen=True, slots=True)
class Received:
    path: Path
    size: int
    sha512: str


class _Sink:
    """A new private file being written; counts, hashes and enforces the byte cap per chunk."""

    def __init__(self, files_dir: Path, limits: Limits, bytes_in_reply: int) -> None:
        room = limits.max_reply_bytes - bytes_in_reply
        self._cap = min(limits.max_file_bytes, room)
        # Name the rule that binds, so the applicant learns which limit they hit.
        self._cap_code = "file_too_large" if limits.max_file_bytes <= room else "reply_too_large"
        self.path = files_dir / secrets.token_hex(16)
        # O_EXCL: never reuse or follow an existing path; 0o600: only the portal reads uploads.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        self._fh = os.fdopen(fd, "wb")
        self._hash = hashlib.sha512()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        if self.size + len(chunk) > self._cap:
            raise IntakeError(self._cap_code)
        self._fh.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def finish(self) -> Received:
        self._fh.close()
        if self.size == 0:
            raise IntakeError("file_empty")
        return Received(self.path, self.size, self._hash.hexdigest())

    def discard(self) -> None:
        self._fh.close()
        delete_stored([self.path])


async def receive(
    chunks: AsyncIterator[bytes], files_dir: Path, limits: Limits, *, bytes_in_reply: int = 0
) -> Received:
    """Stream ``chunks`` into a new file in ``files_dir``; never holds more than one chunk.

    Raises IntakeError ``file_too_large`` (or ``reply_too_large`` when the reply's remaining room
    is the smaller cap) as soon as the cap is passed, and ``file_empty``; the partial file is gone.
    """
    sink = _Sink(files_dir, limits, bytes_in_reply)
    try:
        async for chunk in chunks:
            # Plain writes of <= one chunk to local disk take microseconds; a thread hop per chunk
            # would cost more than the blocking it avoids.
            sink.write(chunk)
        return sink.finish()
    except BaseException:
        # BaseException too: a cancelled upload (the applicant closed the tab) leaves no file.
        sink.discard()
        raise


def receive_stream(fileobj: BinaryIO, files_dir: Path, limits: Limits, *, bytes_in_reply: int = 0) -> Received:
    """Synchronous :func:`receive` for a file object (tests, command-line tools)."""
    sink = _Sink(files_dir, limits, bytes_in_reply)
    try:
        while chunk := fileobj.read(CHUNK):
            sink.write(chunk)
        return sink.finish()
    except BaseException:
        sink.discard()
        raise


class AsyncReadable(Protocol):
    async def read(self, size: int = -1, /) -> bytes: ...


async def read_chunks(source: AsyncReadable, size: int = CHUNK) -> AsyncIterator[bytes]:
    """Adapt an object with ``async read(n)`` (Starlette/Reflex ``UploadFile``) to chunks for :func:`receive`."""
    while chunk := await source.read(size):
        yield chunk


# ---------------------------------------------------------------- the pipeline


class Step(Protocol):
    """A transform after inspection (re-encode an image, sanitise a PDF, convert HEIC).

    It may rewrite ``path`` in place (write a sibling temporary file, then ``os.replace``) and
    returns the inspection of the result; it refuses a file by raising IntakeError. The upload
    keeps its id (the file name), and size and hash are taken again after the steps.
    """

    def __call__(self, path: Path, found: Inspection, limits: Limits, /) -> Inspection: ...


# Images: upright, no metadata, bounded, JPEG/PNG/PDF. PDFs: active content removed. Both in the
# sandbox (images.normalise_image and pdfs.sanitise_pdf, run by portal.intake.jobs).
DEFAULT_STEPS: tuple[Step, ...] = (
    ConfinedStep("normalise_image", frozenset(IMAGE_TYPES)),
    ConfinedStep("sanitise_pdf", frozenset({"application/pdf"})),
)

# A malware scanner (portal.intake.scanner): returns when the file is clean, raises IntakeError.
Scan = Callable[[Path], None]


def vet(
    received: Received,
    original_name: str,
    limits: Limits,
    *,
    formats: Mapping[str, Format] = FORMATS,
    steps: Sequence[Step] = DEFAULT_STEPS,
    scan: Scan | None = None,
) -> StoredUpload:
    """Scan, inspect and transform a received file (blocking). Deletes it on any refusal."""
    path = received.path
    try:
        if scan is not None:
            scan(path)
        before = _identity(path)
        found = inspect(path, limits, formats)
        for step in steps:
            found = step(path, found, limits)
        rewritten = _identity(path) != before
        size, sha512 = _measure(path) if rewritten else (received.size, received.sha512)
        hints, small = describe(path, found.media_type, limits)
    except BaseException:
        # With the temporary file a step killed while rewriting leaves (files.rewrite cannot clean
        # up after SIGKILL).
        delete_stored([path])
        raise
    # The file name is its key: the caller hands the file to the file storage under it.
    return StoredUpload(
        id=path.name,
        media_type=found.media_type,
        extension=found.extension,
        size=size,
        sha512=sha512,
        pages=found.pages,
        original_name=clean_original_name(original_name),
        quality=hints,
        notes=found.notes,
        thumbnail=small,
    )


def _identity(path: Path) -> tuple[int, int, int]:
    # A step replaces the file (new inode) or writes it (new mtime/size): then hash it again.
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, st.st_size


async def accept(
    chunks: AsyncIterator[bytes],
    original_name: str,
    files_dir: Path,
    limits: Limits,
    *,
    bytes_in_reply: int = 0,
    formats: Mapping[str, Format] = FORMATS,
    steps: Sequence[Step] = DEFAULT_STEPS,
    scan: Scan | None = None,
) -> StoredUpload:
    """Receive, scan, inspect and transform one upload. Raises IntakeError; nothing stays on refusal."""
    received = await receive(chunks, files_dir, limits, bytes_in_reply=bytes_in_reply)
    # Scanning, parsing a PDF or decoding an image can take a second: keep it off the event loop.
    task = asyncio.to_thread(vet, received, original_name, limits, formats=formats, steps=steps, scan=scan)
    try:
        return await task
    except asyncio.CancelledError:
        # The thread may still finish and leave the file; remove whatever is there.
        delete_stored([received.path])
        raise


def delete_work_file(work_dir: Path, key: str) -> None:
    """Deletes an accepted file that never reached the file storage (refused after intake)."""
    delete_stored([work_dir / key])


def merge_uploads(
    uploads: Sequence[StoredUpload],
    paths: Sequence[Path],
    files_dir: Path,
    limits: Limits,
    original_name: str | None = None,
) -> StoredUpload:
    """The images of ``uploads`` (read from ``paths``, one each) as one new PDF upload in
    ``files_dir``, pages in the given order (blocking).

    The merged file goes through the same checks as an uploaded PDF. The originals are left for
    the caller to remove. Its name defaults to the first upload's, with ``.pdf``. Hints of the
    photos carry over, so "blurred" stays visible on the document. Raises IntakeError
    (merge_images_only, pdf_too_many_pages, file_too_large, file_too_complex).
    """
    if len(paths) != len(uploads):
        raise ValueError("one path per upload")
    path = merge_images_to_pdf(list(paths), files_dir, limits)
    try:
        size, sha512 = _measure(path)
    except BaseException:
        delete_stored([path])
        raise
    stem = uploads[0].original_name.rpartition(".")[0] or uploads[0].original_name
    merged = vet(Received(path, size, sha512), original_name or f"{stem}.pdf", limits)
    return replace(merged, quality=tuple(dict.fromkeys(code for u in uploads for code in u.quality)))


def _measure(path: Path) -> tuple[int, str]:
    digest = hashlib.sha512()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
