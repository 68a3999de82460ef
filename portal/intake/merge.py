"""Several normalised images as one PDF, one page per image, without re-encoding a pixel.

Why a small writer of our own: Pillow's PDF writer re-encodes every RGB or greyscale page as a
JPEG (a second lossy generation, at quality 75), and img2pdf, which embeds losslessly, needs
pikepdf (a second PDF stack, qpdf, for ~100 lines of work). The pages here are already
normalised JPEG or PNG, so embedding is simple and exact:

* a JPEG becomes a ``/DCTDecode`` image: its bytes are copied into the PDF as they are;
* a PNG (8-bit grey or RGB, not interlaced: what :mod:`portal.intake.images` writes) becomes a
  ``/FlateDecode`` image with the PNG predictor: its compressed IDAT data are copied as they are.
  Any other PNG is decoded and stored losslessly (zlib over the pixels).

Each page is the image scaled to fit A4 (portrait or landscape by the image's own shape),
keeping its aspect ratio: a photo of an A4 sheet prints as an A4 sheet, at ~300 dpi or more for
a phone photo. The file is written object by object, so only one page's image is in memory; the
result passes the portal's own PDF checks (``check_pdf``) like any upload.
"""

from __future__ import annotations

import io
import secrets
import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import magic
from PIL import Image

from portal.domain.errors import IntakeError
from portal.intake.files import delete_stored, open_private
from portal.intake.limits import Limits

__all__ = ["A4", "PageImage", "merge_images_to_pdf", "page_from_encoded", "write_image_pdf", "write_merged_pdf"]

A4 = (595.28, 841.89)  # points (1/72 inch)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Catalogue, page tree and per-page objects: a few hundred bytes a page besides the image.
_OVERHEAD_PER_PAGE = 1024


@dataclass(frozen=True, slots=True)
class PageImage:
    """One page's image as it goes into the PDF: the stream bytes and the image dictionary."""

    data: bytes
    width: int
    height: int
    colour_space: str  # DeviceRGB or DeviceGray
    filter: str  # DCTDecode or FlateDecode
    decode_parms: str = ""  # the PNG predictor parameters, when the stream is IDAT data


def page_from_encoded(data: bytes, media_type: str) -> PageImage:
    """A page image from the bytes of a JPEG or PNG, embedded without re-encoding when possible."""
    with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as im:
        width, height = im.size
        if media_type == "image/jpeg" and im.format == "JPEG" and im.mode in ("L", "RGB"):
            return PageImage(data, width, height, _colour_space(im.mode), "DCTDecode")
        if media_type == "image/png" and im.format == "PNG":
            idat = _png_idat(data)
            if idat is not None:
                colours = 1 if im.mode == "L" else 3
                parms = f"<< /Predictor 15 /Colors {colours} /BitsPerComponent 8 /Columns {width} >>"
                return PageImage(idat, width, height, _colour_space(im.mode), "FlateDecode", parms)
        # Anything else (CMYK JPEG, palette or 16-bit PNG): the pixels, losslessly compressed.
        im.load()
        pixels = im if im.mode in ("L", "RGB") else im.convert("RGB")
        return PageImage(zlib.compress(pixels.tobytes()), width, height, _colour_space(pixels.mode), "FlateDecode")


def _colour_space(mode: str) -> str:
    return "DeviceGray" if mode == "L" else "DeviceRGB"


def _png_idat(data: bytes) -> bytes | None:
    """The concatenated IDAT data of an 8-bit grey/RGB non-interlaced PNG, else None."""
    if not data.startswith(_PNG_SIGNATURE):
        return None
    pos, idat = len(_PNG_SIGNATURE), []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            _w, _h, depth, colour_type, _c, _f, interlace = struct.unpack(">IIBBBBB", body[:13])
            if depth != 8 or colour_type not in (0, 2) or interlace:
                return None
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    return b"".join(idat) or None


def _page_size(width: int, height: int) -> tuple[float, float]:
    box_w, box_h = A4 if height >= width else A4[::-1]
    scale = min(box_w / width, box_h / height)
    return round(width * scale, 2), round(height * scale, 2)


def write_image_pdf(pages: Iterable[PageImage], out: BinaryIO) -> int:
    """Write a PDF with one page per image to ``out``; returns the page count.

    Objects: 1 catalogue, 2 page tree (written last, once the pages are known), then per page
    the page, its content stream and its image.
    """
    offsets: dict[int, int] = {}
    start = out.tell()

    def put(num: int, body: bytes, stream: bytes | None = None) -> None:
        offsets[num] = out.tell() - start
        out.write(b"%d 0 obj\n" % num + body)
        if stream is not None:
            out.write(b"\nstream\n" + stream + b"\nendstream")
        out.write(b"\nendobj\n")

    # The binary comment line tells transfer tools the file is binary.
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    put(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    kids: list[int] = []
    for page in pages:
        num = 3 + 3 * len(kids)
        w, h = _page_size(page.width, page.height)
        content = f"q {w} 0 0 {h} 0 0 cm /Im0 Do Q".encode()
        put(
            num,
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] "
            f"/Resources << /XObject << /Im0 {num + 2} 0 R >> >> /Contents {num + 1} 0 R >>".encode(),
        )
        put(num + 1, b"<< /Length %d >>" % len(content), content)
        parms = f" /DecodeParms {page.decode_parms}" if page.decode_parms else ""
        put(
            num + 2,
            f"<< /Type /XObject /Subtype /Image /Width {page.width} /Height {page.height} "
            f"/ColorSpace /{page.colour_space} /BitsPerComponent 8 /Filter /{page.filter}{parms} "
            f"/Length {len(page.data)} >>".encode(),
            page.data,
        )
        kids.append(num)
    put(2, f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode())
    xref = out.tell() - start
    count = max(offsets) + 1
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % count)
    for num in range(1, count):
        out.write(b"%010d 00000 n \n" % offsets[num])
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref))
    return len(kids)


def merge_images_to_pdf(paths: Sequence[Path], files_dir: Path, limits: Limits) -> Path:
    """One PDF in ``files_dir`` (a new random name) with the images of ``paths`` as pages, in order.

    The images are expected to be normalised uploads (JPEG or PNG, sniffed again here). Refuses
    ``merge_images_only`` (another type), ``pdf_too_many_pages`` and, before anything is read,
    ``file_too_large`` when the pages together exceed ``max_file_bytes``.
    """
    out = files_dir / secrets.token_hex(16)
    write_merged_pdf(paths, out, limits)
    return out


def write_merged_pdf(paths: Sequence[Path], out: Path, limits: Limits) -> int:
    """:func:`merge_images_to_pdf` into the new file ``out``; returns the page count.

    ``out`` is gone after any refusal. The sandbox's merge job calls this with a name its caller
    chose, so the caller can remove the file even when the job is killed.
    """
    if not paths:
        raise ValueError("nothing to merge")
    if len(paths) > limits.max_pdf_pages:
        raise IntakeError("pdf_too_many_pages", pages=len(paths), max=limits.max_pdf_pages)
    types = [str(magic.from_file(str(p), mime=True)) for p in paths]
    if any(t not in ("image/jpeg", "image/png") for t in types):
        raise IntakeError("merge_images_only")
    # PNG pages are copied as they are and JPEG pages too, so the inputs' sizes bound the output.
    if sum(p.stat().st_size + _OVERHEAD_PER_PAGE for p in paths) > limits.max_file_bytes:
        raise IntakeError("file_too_large")
    try:
        with open_private(out) as fh:
            pages = write_image_pdf(
                (page_from_encoded(p.read_bytes(), t) for p, t in zip(paths, types, strict=True)), fh
            )
    except BaseException as exc:
        delete_stored([out])
        if isinstance(exc, Exception) and not isinstance(exc, IntakeError):
            raise IntakeError("image_broken") from exc
        raise
    if out.stat().st_size > limits.max_file_bytes:  # a non-normalised PNG can grow when stored raw
        delete_stored([out])
        raise IntakeError("file_too_large")
    return pages
