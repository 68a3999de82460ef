"""Upload limits, shared by intake (streaming) and formats (per-format checks)."""

from __future__ import annotations

from dataclasses import dataclass, fields

# Hard caps of the wire contract (casesvc.schemas: ItemAnswerIn.files, ExtraDocumentIn.files and
# ReplyIn.files); limits above them would let an applicant build a reply the case service refuses.
WIRE_MAX_FILES_PER_ITEM = 20
WIRE_MAX_FILES_PER_REPLY = 60


@dataclass(frozen=True, slots=True)
class Limits:
    """Upload limits. Sizes are decimal (10 MB = 10_000_000 bytes), as ``format_file_size`` shows them."""

    max_file_bytes: int = 10_000_000
    max_files_per_item: int = WIRE_MAX_FILES_PER_ITEM
    max_files_per_reply: int = WIRE_MAX_FILES_PER_REPLY
    max_reply_bytes: int = 100_000_000
    max_pdf_pages: int = 200
    # 60 MP is above any phone camera (48 MP) and far below what would exhaust memory on decode.
    max_image_pixels: int = 60_000_000
    # All frames of a multi-page TIFF together: decoding time grows with the pixel count, and a
    # 10 MB TIFF of blank 1-bit frames can hold hundreds of them. 200 MP is ~23 A4 pages at 300 dpi.
    max_total_image_pixels: int = 200_000_000

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 1:
                raise ValueError(f"Limits.{f.name} must be positive")
        if self.max_files_per_item > WIRE_MAX_FILES_PER_ITEM or self.max_files_per_reply > WIRE_MAX_FILES_PER_REPLY:
            raise ValueError("file count limits exceed the wire contract")


DEFAULT_LIMITS = Limits()
