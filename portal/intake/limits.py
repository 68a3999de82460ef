"""Upload limits, shared by intake (streaming), formats (per-format checks) and the sandbox (per job)."""

from __future__ import annotations

from dataclasses import dataclass, fields

# Hard caps of the wire contract (casesvc.schemas: ItemAnswerIn.files, ExtraDocumentIn.files and
# ReplyIn.files); limits above them would let an applicant build a reply the case service refuses.
WIRE_MAX_FILES_PER_ITEM = 20
WIRE_MAX_FILES_PER_REPLY = 60


MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Upload limits. File sizes are decimal (10 MB = 10_000_000 bytes), as ``format_file_size``
    shows them; the sandbox's memory is binary (MiB), as the kernel counts it.

    The defaults are the portal's: the settings (``PORTAL_MAX_FILE_BYTES`` and the others) take
    theirs from here, and :func:`portal.runtime.limits` builds the limits from the settings."""

    max_file_bytes: int = 10_000_000
    # Per item and per reply: below the wire's caps, and the per-reply totals keep one reply
    # deliverable in a single request to the case service.
    max_files_per_item: int = 10
    max_files_per_reply: int = 30
    max_reply_bytes: int = 60_000_000
    max_pdf_pages: int = 200
    # 60 MP is above any phone camera (48 MP) and far below what would exhaust memory on decode.
    max_image_pixels: int = 60_000_000
    # All frames of a multi-page TIFF together: decoding time grows with the pixel count, and a
    # 10 MB TIFF of blank 1-bit frames can hold hundreds of them. 200 MP is ~23 A4 pages at 300 dpi.
    max_total_image_pixels: int = 200_000_000
    # Content streams of all pages together, as inflated (what a viewer parses to draw them).
    # Text pages take 5-50 kB each, a dense vector drawing a few MB: 100 MB is ample for 200
    # pages, and a flate bomb (1 MB -> 1 GiB) is refused after inflating 100 MB in ~0.3 s.
    max_pdf_content_bytes: int = 100_000_000
    # Every parse, render and re-encode of an upload runs in a child process (sandbox.py) whose
    # address space may grow by this much. Peaks measured (the job's ru_maxrss, 2-core VM): a
    # 12 MP photo ~170 MB, a 48 MP JPEG ~120 MB (decoded at half size), a 48 MP HEIC ~400 MB
    # (libheif decodes whole), an A4 scan at 600 dpi (35 MP) ~300 MB, a 60 MP PNG ~440 MB, a
    # PDF's checks and first page under 100 MB. Every bomb that the checks before decoding
    # refuse stays under 100 MB; one that passes them is stopped here.
    sandbox_memory_bytes: int = 512 * MIB
    # Wall-clock and CPU seconds per job. The slowest legitimate job measured (a 60 MP PNG) takes
    # ~5 s on a shared 2-core VM.
    sandbox_seconds: float = 30.0
    # Jobs at once per portal process (the others wait): jobs x memory bounds what the sandbox can
    # take. Two: the machines have two cores, and decoding is CPU-bound.
    sandbox_jobs: int = 2

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) <= 0:
                raise ValueError(f"Limits.{f.name} must be positive")
        if self.max_files_per_item > WIRE_MAX_FILES_PER_ITEM or self.max_files_per_reply > WIRE_MAX_FILES_PER_REPLY:
            raise ValueError("file count limits exceed the wire contract")


DEFAULT_LIMITS = Limits()
