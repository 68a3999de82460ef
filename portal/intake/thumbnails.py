"""Small JPEG previews of uploads, so the applicant sees which photo or document is which.

``thumbnail`` never fails an upload: whatever cannot be shown gets None and the page shows a
generic file icon; only running out of memory is raised (MemoryError), so that the sandbox job
it runs in (:mod:`portal.intake.jobs`) refuses the file. PDF pages are rendered by PDFium (the
pypdfium2 wheel bundles it; nothing is fetched at run time) without its form environment, so no
script in a PDF ever runs; it only sees files that passed the scanner, the PDF checks (inflated
content size included) and the sanitiser. PDFium is not thread-safe, hence the lock for callers
that use threads (the portal runs each thumbnail in a process of its own).
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

from PIL import Image

__all__ = ["MAX_BYTES", "MAX_EDGE", "thumbnail"]

MAX_EDGE = 320
MAX_BYTES = 30_000
_QUALITIES = (75, 60, 45, 30)
_PDFIUM = threading.Lock()


def thumbnail(path: Path, media_type: str) -> bytes | None:
    """A JPEG of at most :data:`MAX_EDGE` px and :data:`MAX_BYTES`, of the image or first PDF page."""
    try:
        if media_type == "application/pdf":
            small = _pdf_first_page(path)
        elif media_type in ("image/jpeg", "image/png"):
            with Image.open(path, formats=("JPEG", "PNG")) as im:
                im.draft("RGB", (MAX_EDGE, MAX_EDGE))  # JPEG: decode at 1/8 scale
                im.thumbnail((MAX_EDGE, MAX_EDGE), Image.Resampling.LANCZOS, reducing_gap=2.0)
                small = im.convert("RGB")
        else:
            return None
        return _jpeg(small)
    except MemoryError:
        raise  # in the sandbox: a bomb, which refuses the file, not a picture we cannot draw
    except Exception:
        return None


def _pdf_first_page(path: Path) -> Image.Image:
    import pypdfium2 as pdfium  # imported here: only PDF previews need the native library

    with _PDFIUM:
        pdf = pdfium.PdfDocument(str(path))
        try:
            page = pdf[0]
            width, height = page.get_size()
            scale = MAX_EDGE / max(width, height, 1.0)
            image: Image.Image = page.render(scale=scale).to_pil()
            page.close()
        finally:
            pdf.close()
    image.thumbnail((MAX_EDGE, MAX_EDGE))  # rounding in PDFium may add a pixel
    return image.convert("RGB")


def _jpeg(im: Image.Image) -> bytes | None:
    for quality in _QUALITIES:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality, optimize=True)
        if buf.tell() <= MAX_BYTES:
            return buf.getvalue()
    return None
