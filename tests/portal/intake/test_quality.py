"""Quality hints on generated photos of a text page; thresholds must hold with clear margins."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from portal.intake import quality

WORDS = "Bescheinigung Arbeitgeber Aufenthalt Gehalt Monat Name Anschrift Datum 2026 Euro".split()


def text_page(size: tuple[int, int] = (3024, 4032), font_size: int = 48, lines: int = 40, ink: int = 30) -> Image.Image:
    """A phone photo of a printed page: grey-white paper, lines of dark text."""
    rng = random.Random(size[0] + font_size)
    im = Image.new("L", size, 225)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=font_size)
    y = size[1] // 20
    for _ in range(lines):
        draw.text((size[0] // 20, y), " ".join(rng.choice(WORDS) for _ in range(8)), fill=ink, font=font)
        y += int(font_size * 1.8)
        if y > size[1] * 0.95:
            break
    return im.convert("RGB")


def saved(im: Image.Image, tmp_path: Path, name: str = "page.jpg") -> Path:
    path = tmp_path / name
    im.save(path, "JPEG", quality=85)
    return path


@pytest.fixture(scope="module")
def sharp() -> Image.Image:
    return text_page()


def test_a_good_photo_has_no_hints(sharp: Image.Image, tmp_path: Path) -> None:
    assert quality.quality_hints(saved(sharp, tmp_path)) == ()


def test_dark(sharp: Image.Image, tmp_path: Path) -> None:
    dark = ImageEnhance.Brightness(sharp).enhance(0.2)  # paper at ~45 of 255
    assert quality.quality_hints(saved(dark, tmp_path)) == ("photo_dark",)


@pytest.mark.parametrize("radius", [8, 12])
def test_blurred(radius: int, sharp: Image.Image, tmp_path: Path) -> None:
    blurred = sharp.filter(ImageFilter.GaussianBlur(radius))
    assert quality.quality_hints(saved(blurred, tmp_path)) == ("photo_blurred",)


def test_small(tmp_path: Path) -> None:
    assert quality.quality_hints(saved(text_page((720, 960), font_size=12), tmp_path)) == ("photo_small",)


def test_everything_at_once(tmp_path: Path) -> None:
    bad = ImageEnhance.Brightness(text_page((600, 800), 10).filter(ImageFilter.GaussianBlur(4))).enhance(0.2)
    assert quality.quality_hints(saved(bad, tmp_path)) == ("photo_dark", "photo_blurred", "photo_small")


def test_blur_threshold_has_clear_margins(sharp: Image.Image) -> None:
    def score(im: Image.Image) -> float:
        grey = im.convert("L")
        grey.thumbnail((quality.ANALYSIS_EDGE, quality.ANALYSIS_EDGE), Image.Resampling.BOX)
        return quality.blur_score(grey)

    # Sharp pages score at least 5x the threshold, even pale print or a page with little text;
    # a shaky-hand blur scores at most a quarter of it.
    for page in (sharp, text_page(ink=145), text_page(lines=5)):
        assert score(page) > 5 * quality.BLUR_VARIANCE
    assert score(sharp.filter(ImageFilter.GaussianBlur(8))) < quality.BLUR_VARIANCE / 4


def test_no_hints_for_what_is_not_a_photo(tmp_path: Path) -> None:
    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    assert quality.quality_hints(pdf) == ()
    assert quality.quality_hints(tmp_path / "missing.jpg") == ()
