"""Hints about a photo's readability. They never refuse a file: the applicant decides.

Codes (locale ``hint.<code>``):

* ``photo_small``: the shorter edge is below :data:`MIN_SHORT_EDGE` pixels, too few to read an
  A4 page (at 1000 px an A4 page has ~120 dpi, about the least for 10-point print);
* ``photo_dark``: the mean luminance of a reduced greyscale copy is below :data:`DARK_MEAN`
  (0..255; paper in daylight is 150-220, a page photographed in a dim room 40-70);
* ``photo_blurred``: the sharpest region is not sharp. A reduced greyscale copy (long edge
  :data:`ANALYSIS_EDGE`) is cut into tiles; each tile's variance of a Laplacian filter measures
  its fine detail, and the best tile counts, so a sparse page with one sharp paragraph is not
  called blurred. Below :data:`BLUR_VARIANCE` is blurred. Calibrated in
  ``tests/portal/domain/test_quality.py`` on generated text pages photographed at 12 MP: sharp
  ones score 2000-4500 (a pale, low-contrast print ~700), a Gaussian blur of radius 5 px scores
  40-220 (large print stays readable and above), radius 8 px (a shaky hand) 5-25.

All work is on the reduced copy (JPEG decodes at 1/2..1/8 scale directly), so a hint costs a few
milliseconds and a few MB however large the photo.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageFilter, ImageStat

__all__ = ["ANALYSIS_EDGE", "BLUR_VARIANCE", "DARK_MEAN", "MIN_SHORT_EDGE", "blur_score", "quality_hints"]

MIN_SHORT_EDGE = 1000
DARK_MEAN = 70.0
ANALYSIS_EDGE = 1024
BLUR_VARIANCE = 100.0
_TILES = 4  # per side: 16 tiles
_LAPLACIAN = ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], scale=1, offset=128)


def quality_hints(path: Path) -> tuple[str, ...]:
    """Hint codes for a JPEG or PNG at ``path``; () for anything else or anything unreadable."""
    try:
        with Image.open(path, formats=("JPEG", "PNG")) as im:
            short_edge = min(im.size)
            grey = _reduced_grey(im)
    except MemoryError:
        raise  # in the sandbox: a bomb, which refuses the file
    except Exception:
        return ()
    hints = []
    if ImageStat.Stat(grey).mean[0] < DARK_MEAN:
        hints.append("photo_dark")
    if blur_score(grey) < BLUR_VARIANCE:
        hints.append("photo_blurred")
    if short_edge < MIN_SHORT_EDGE:
        hints.append("photo_small")
    return tuple(hints)


def _reduced_grey(im: Image.Image) -> Image.Image:
    im.draft("L", (ANALYSIS_EDGE, ANALYSIS_EDGE))  # JPEG: decode greyscale at reduced scale
    grey = im.convert("L")
    grey.thumbnail((ANALYSIS_EDGE, ANALYSIS_EDGE), Image.Resampling.BOX)
    return grey


def blur_score(grey: Image.Image) -> float:
    """The highest Laplacian variance among the tiles of a greyscale image (higher: sharper)."""
    edges = grey.filter(_LAPLACIAN)
    # The filter copies the outermost pixels unfiltered (raw grey beside the 128 offset): drop
    # them, or every border tile would score as if it held detail.
    edges = edges.crop((1, 1, edges.width - 1, edges.height - 1)) if min(edges.size) > 2 else edges
    width, height = edges.size
    tile_w, tile_h = max(width // _TILES, 1), max(height // _TILES, 1)
    best = 0.0
    for top in range(0, height - tile_h + 1, tile_h):
        for left in range(0, width - tile_w + 1, tile_w):
            tile = edges.crop((left, top, left + tile_w, top + tile_h))
            best = max(best, ImageStat.Stat(tile).var[0])
    return best
