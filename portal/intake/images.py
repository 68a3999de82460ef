"""Raster images: header checks (decompression bombs) and the normalising step.

:func:`normalise_image` turns every accepted image into what the caseworker should receive:

* upright: the EXIF orientation is applied to the pixels (HEIC: libheif applies ``irot``/``imir``
  and pillow-heif resets the EXIF tag, so nothing is rotated twice);
* without metadata: the file is re-encoded from pixels, always (JPEG input too: copying markers
  is how GPS positions survive). No EXIF (GPS, camera serials), XMP, comments or text chunks.
  An ICC profile is *applied* (colours converted to sRGB with littleCMS) and then dropped:
  untagged images are shown as sRGB by every viewer, so the look is kept and the file carries no
  profile (a phone's Display-P3 photo would otherwise look washed out);
* at most :data:`MAX_LONG_EDGE` pixels on the long edge (A4 at ~345 dpi); smaller images keep
  their size (upscaling adds bytes, not detail), and so do JPEGs that libjpeg decodes at half
  size or less to between 15/16 of it and it (a 48 MP photo of 8064 px becomes 4032 px);
* in a format every viewer opens. Camera formats (JPEG, HEIC/HEIF) become JPEG. Other images
  (PNG, WebP, TIFF) become PNG when they look like a document graphic or screenshot (transparency,
  or at most :data:`GRAPHIC_COLOURS` colours) or when the PNG is smaller than the JPEG; otherwise
  JPEG (quality 85, 4:2:0, optimised Huffman tables). Transparency is flattened onto white: a
  transparent background shows black in some viewers, and black text on it disappears.
* a multi-page TIFF becomes one PDF with a page per frame (see :mod:`portal.intake.merge`).

Memory: pixels are decoded once; a JPEG larger than twice the target is decoded at 1/2 .. 1/8
scale by libjpeg (``draft``). Other formats are bounded by ``Limits.max_image_pixels`` (checked
from the header, before any pixel is decoded; every TIFF frame's header too, and at most
``max_pdf_pages`` of them are read). Only the first frame of an animated WebP is decoded, onto a
canvas whose size is checked like any image's. In the portal all of this runs in the sandbox
(:mod:`portal.intake.sandbox`), whose memory limit covers what the header cannot show (a 59 MP
16-bit PNG with transparency needs over 600 MB to flatten).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pillow_heif
from PIL import ExifTags, Image, ImageCms

from portal.domain.errors import IntakeError
from portal.intake.files import rewrite
from portal.intake.inspection import Inspection
from portal.intake.limits import DEFAULT_LIMITS, Limits
from portal.intake.merge import PageImage, page_from_encoded, write_image_pdf

__all__ = [
    "CAMERA_TYPES",
    "GRAPHIC_COLOURS",
    "IMAGE_TYPES",
    "JPEG_QUALITY",
    "MAX_LONG_EDGE",
    "check_image",
    "normalise_image",
    "open_checked",
]

# Thumbnails, depth maps and auxiliary images of HEIC files are never needed: don't decode them.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
# Pillow's own bomb guard, for any code path that opens an image without our header check: it
# warns above this and refuses above twice this. Our check below is the rule the applicant meets.
Image.MAX_IMAGE_PIXELS = DEFAULT_LIMITS.max_image_pixels

# 4096 px: a 12 MP phone photo (4032 px) is kept at full size, only rotated and re-encoded, which
# keeps normalising within 2x Pillow's bare decode+encode (bench/intake.py); A4 at ~345 dpi.
# Larger photos (48 MP phones) are decoded at half size by libjpeg's draft mode, then fitted.
MAX_LONG_EDGE = 4096
JPEG_QUALITY = 85
GRAPHIC_COLOURS = 256

# Sniffed media type → the Pillow plugins allowed to open it (never "whatever Pillow guesses").
IMAGE_TYPES: dict[str, tuple[str, ...]] = {
    "image/jpeg": ("JPEG", "MPO"),  # iPhones write multi-picture JPEGs, which Pillow calls MPO
    "image/png": ("PNG",),
    "image/webp": ("WEBP",),
    "image/tiff": ("TIFF",),
    "image/heic": ("HEIF",),
    "image/heif": ("HEIF",),
}
CAMERA_TYPES = frozenset({"image/jpeg", "image/heic", "image/heif"})
_MULTI_PAGE = frozenset({"image/tiff"})  # other formats' extra frames are previews or animation
_SIXTEEN_BIT = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})
_ALPHA = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})
_SRGB = ImageCms.createProfile("sRGB")

# EXIF orientation → the transpose that makes the pixels upright (as ImageOps.exif_transpose).
_ORIENT: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


# ---------------------------------------------------------------- checks (header only)


def open_checked(path: Path, media_type: str, limits: Limits) -> Image.Image:
    """Open ``path`` with the plugin its sniffed type allows; refuse a bomb before decoding.

    ``Image.open`` reads only the header, so the dimensions are known before a pixel is decoded.
    The caller closes the image. Raises IntakeError.
    """
    try:
        im = Image.open(path, formats=IMAGE_TYPES[media_type])
    except Image.DecompressionBombError as exc:
        raise IntakeError("image_too_large_dimensions") from exc
    except Exception as exc:
        raise _broken(exc) from exc
    try:
        _check_dimensions(im, media_type, limits)
    except BaseException:
        im.close()
        raise
    return im


def _check_dimensions(im: Image.Image, media_type: str, limits: Limits) -> None:
    try:
        total = 0
        for index in range(limits.max_pdf_pages + 1):
            if index:
                if media_type not in _MULTI_PAGE:
                    break
                try:
                    im.seek(index)  # reads the next frame's header, not its pixels
                except EOFError:
                    break
                if index == limits.max_pdf_pages:
                    # Counted frame by frame up to the limit only: Pillow's n_frames reads every
                    # frame header, and its loop check makes that quadratic (a 6 MB TIFF of
                    # 50,000 tiny frames takes half a minute).
                    raise IntakeError("image_too_many_pages", pages=index + 1, max=limits.max_pdf_pages)
            width, height = im.size
            total += width * height
            if width * height > limits.max_image_pixels or total > limits.max_total_image_pixels:
                raise IntakeError("image_too_large_dimensions", width=width, height=height)
        if media_type in _MULTI_PAGE:
            im.seek(0)
    except IntakeError:
        raise
    except Exception as exc:
        raise IntakeError("image_broken") from exc


def _broken(exc: Exception) -> Exception:
    """``image_broken``, unless the decoder ran out of memory (the sandbox refuses that itself).

    pillow-heif reports libheif's allocation failures as RuntimeError: "Memory allocation error:
    ..." (heif_error_Memory_allocation_error) or "Out of memory", not MemoryError. (Smaller
    failures inside libde265 read as decoding errors and stay image_broken.)
    """
    if isinstance(exc, RuntimeError) and str(exc).startswith(("Memory allocation error", "Out of memory")):
        return MemoryError()
    return IntakeError("image_broken")


def check_image(media_type: str) -> Callable[[Path, Limits], int]:
    """The :class:`~portal.intake.formats.Format` checker: type and dimensions; returns the pages.

    Pixel data is decoded once, by :func:`normalise_image` (a default step), which refuses broken
    data with ``image_broken``; a PNG's chunk checksums are verified here already (cheap), and
    its compressed text and ICC chunks are inflated within Pillow's caps (``MAX_TEXT_CHUNK``,
    1 MiB each, ``MAX_TEXT_MEMORY``, 64 MiB together): a bomb in them is ``image_broken``.
    """

    def check(path: Path, limits: Limits) -> int:
        with open_checked(path, media_type, limits) as im:
            # After the frame-by-frame check above, n_frames is known without reading more.
            pages = getattr(im, "n_frames", 1) if media_type in _MULTI_PAGE else 1
            if media_type == "image/png":
                try:
                    im.verify()  # every chunk's CRC and the IEND end marker, without inflating
                except Exception as exc:
                    raise IntakeError("image_broken") from exc
        return pages

    return check


# ---------------------------------------------------------------- the step


def normalise_image(path: Path, found: Inspection, limits: Limits, /) -> Inspection:
    """Step: upright, metadata-free, bounded, re-encoded (see the module docstring)."""
    if found.media_type not in IMAGE_TYPES:
        return found
    notes: list[str] = []
    pages: list[PageImage] = []
    with open_checked(path, found.media_type, limits) as im:
        try:
            if found.pages > 1:
                size = 0
                for index in range(found.pages):
                    pages.append(page_from_encoded(*_encode_frame(im, index, found, limits, notes)))
                    # Encoded pages are held until the PDF is written: bound them by the file cap.
                    size += len(pages[-1].data)
                    if size > limits.max_file_bytes:
                        raise IntakeError("file_too_large")
            else:
                data, media_type = _encode_frame(im, 0, found, limits, notes)
        except IntakeError:
            raise
        except Image.DecompressionBombError as exc:
            raise IntakeError("image_too_large_dimensions") from exc
        except Exception as exc:
            # Truncated data, corrupt entropy coding, a decoder's "broken data stream": all are
            # images the caseworker could not open either.
            raise _broken(exc) from exc
    if pages:
        rewrite(path, lambda fh: write_image_pdf(pages, fh))
        result = Inspection("application/pdf", "pdf", len(pages))
    else:
        rewrite(path, lambda fh: fh.write(data))
        result = Inspection(media_type, "jpg" if media_type == "image/jpeg" else "png", 1)
    if result.media_type != found.media_type:
        notes.append("image_converted_" + result.extension.replace("jpg", "jpeg"))
    return replace(result, notes=found.notes + tuple(dict.fromkeys(notes)))


def _encode_frame(
    im: Image.Image, index: int, found: Inspection, limits: Limits, notes: list[str]
) -> tuple[bytes, str]:
    if index:
        im.seek(index)
    if _has_gps(im):
        notes.append("image_location_removed")
    orientation = _orientation(im)
    _draft(im)
    im.load()
    frame = _bounded(im)
    if orientation in _ORIENT:
        frame = frame.transpose(_ORIENT[orientation])  # after shrinking: fewer pixels to move
    frame, transparent = _to_srgb(frame, im.info.get("icc_profile"))
    frame.info = {}  # nothing of the source travels into the encoder (PNG falls back to .info)
    jpeg = _save(frame, "JPEG", quality=JPEG_QUALITY, optimize=True, subsampling="4:2:0")
    if found.media_type in CAMERA_TYPES:
        return jpeg, "image/jpeg"
    graphic = transparent or frame.getcolors(GRAPHIC_COLOURS) is not None
    png = _save_png_if_under(frame, None if graphic else len(jpeg))
    if png is not None and len(png) > limits.max_file_bytes and len(jpeg) < len(png):
        png = None  # a graphic too large as PNG still fits as JPEG
    return (png, "image/png") if png is not None else (jpeg, "image/jpeg")


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:
        return 1  # unreadable EXIF: the pixels as stored are all there is


def _has_gps(im: Image.Image) -> bool:
    try:
        return bool(im.getexif().get_ifd(ExifTags.IFD.GPSInfo))
    except Exception:
        return False


def _target(size: tuple[int, int]) -> tuple[int, int]:
    scale = MAX_LONG_EDGE / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _draft(im: Image.Image) -> None:
    # libjpeg can decode at 1/2, 1/4 or 1/8 scale, never below the requested size. Asking for
    # 15/16 of the target lets a 48 MP photo (8064 px) decode at half size, 4032 px, which is
    # then kept as it is: a quarter of the memory (~140 MB instead of ~370 MB) and of the time.
    # Asking for the target itself would decode it whole (half of 8064 is under 4096).
    if im.format in ("JPEG", "MPO") and max(im.size) > MAX_LONG_EDGE:
        width, height = _target(im.size)
        im.draft(None, (width * 15 // 16, height * 15 // 16))


def _bounded(im: Image.Image) -> Image.Image:
    if max(im.size) <= MAX_LONG_EDGE:
        return im
    if im.mode in _SIXTEEN_BIT or im.mode == "P" or im.mode == "1":
        im = _eight_bit(im)
    # Bicubic (with Pillow's antialiasing support) reads as sharp as Lanczos at these mild
    # factors (12 MP: 0.87) and costs ~15% less; reducing_gap: a fast box reduce to within 2x of
    # the target first, for anything larger. The resize is the largest cost of normalising.
    return im.resize(_target(im.size), Image.Resampling.BICUBIC, reducing_gap=2.0)


def _eight_bit(im: Image.Image) -> Image.Image:
    if im.mode in _SIXTEEN_BIT:
        # Pillow's convert("L") clips 16-bit values at 255 (a mostly white page turns all white);
        # scale instead. Float images are taken as 0..1.
        factor = 255.0 if im.mode == "F" else 1 / 256
        return im.convert("F").point(lambda v: v * factor).convert("L")
    if im.mode == "1":
        return im.convert("L")
    return im.convert("RGBA" if "transparency" in im.info else "RGB")  # palette


def _to_srgb(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, bool]:
    """``im`` as 8-bit L or RGB in sRGB, alpha flattened onto white; and whether it had any."""
    if im.mode in _SIXTEEN_BIT or im.mode in ("P", "1"):
        im = _eight_bit(im)
    transparent = False
    if im.mode in _ALPHA:
        im = im.convert("LA" if im.mode in ("LA", "La") else "RGBA")
        alpha = im.getchannel("A")
        low, _high = alpha.getextrema()
        transparent = isinstance(low, int | float) and low < 255
        base = im.mode[:-1]
        flat = Image.new(base, im.size, 255 if base == "L" else (255, 255, 255))
        flat.paste(im.convert(base), mask=alpha)
        im = flat
    if icc and im.mode in ("RGB", "CMYK"):
        im = _apply_profile(im, icc)
    if im.mode not in ("L", "RGB"):
        im = im.convert("RGB")  # CMYK without a profile, YCbCr, LAB, HSV
    return im, transparent


def _apply_profile(im: Image.Image, icc: bytes) -> Image.Image:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if im.mode == "RGB" and "srgb" in ImageCms.getProfileDescription(profile).lower().replace(" ", ""):
            return im  # already sRGB: the transform would cost time and change nothing
        converted = ImageCms.profileToProfile(im, profile, _SRGB, outputMode="RGB")
    except Exception:
        # A damaged or hostile profile only costs colour accuracy: fall back to the plain values.
        return im
    return converted if converted is not None else im


def _save(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


class _TooLarge(Exception):
    pass


class _CappedBuffer(io.BytesIO):
    """Stops an encoder as soon as its output passes ``cap`` bytes (a PNG of a photo is 5-10x
    the JPEG: finding out costs a fraction of a full PNG encode)."""

    def __init__(self, cap: int | None) -> None:
        super().__init__()
        self._cap = cap

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self._cap is not None and self.tell() + len(data) > self._cap:
            raise _TooLarge
        return super().write(data)


def _save_png_if_under(im: Image.Image, cap: int | None) -> bytes | None:
    buf = _CappedBuffer(cap)
    try:
        im.save(buf, "PNG", compress_level=6)
    except _TooLarge:
        return None
    return buf.getvalue()
