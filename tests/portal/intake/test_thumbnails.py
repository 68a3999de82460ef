from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from portal.intake import thumbnails as preview
from tests.fixtures.corpus import camera_image


def opened(data: bytes | None) -> Image.Image:
    assert data is not None and len(data) < preview.MAX_BYTES
    im = Image.open(io.BytesIO(data))
    assert im.format == "JPEG" and max(im.size) <= preview.MAX_EDGE
    return im


def test_a_photo(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    camera_image((4032, 3024)).save(path, "JPEG", quality=90)
    assert opened(preview.thumbnail(path, "image/jpeg")).size == (320, 240)


def test_a_png(corpus: dict[str, Path]) -> None:
    assert opened(preview.thumbnail(corpus["noisy.png"], "image/png")).size == (320, 240)


def test_the_first_pdf_page(corpus: dict[str, Path]) -> None:
    im = opened(preview.thumbnail(corpus["three_pages.pdf"], "application/pdf"))
    assert im.size[1] == 320 and 224 <= im.size[0] <= 227  # A4 proportions
    assert im.convert("L").getpixel((100, 100)) == 255  # a blank white page


@pytest.mark.parametrize(("name", "media_type"), [("truncated.pdf", "application/pdf"), ("notes.txt", "text/plain")])
def test_nothing_to_show_is_none(name: str, media_type: str, corpus: dict[str, Path]) -> None:
    assert preview.thumbnail(corpus[name], media_type) is None
