from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from portal.domain.errors import IntakeError
from portal.intake import formats, images, merge
from portal.intake.limits import Limits
from tests.fixtures.corpus import camera_image

LIMITS = Limits()


def numbered_photos(directory: Path, count: int) -> list[Path]:
    """Normalised JPEG "pages", each with its number as a grey level in the top-left corner."""
    paths = []
    for n in range(count):
        im = camera_image((300, 400))
        ImageDraw.Draw(im).rectangle((0, 0, 60, 60), fill=(40 * n, 40 * n, 40 * n))
        path = directory / f"page{n}.jpg"
        im.save(path, "JPEG", quality=90)
        found = formats.inspect(path)
        images.normalise_image(path, found, LIMITS)
        paths.append(path)
    return paths


def test_five_photos_become_a_five_page_pdf_in_the_given_order(tmp_path: Path, files_dir: Path) -> None:
    photos = numbered_photos(tmp_path, 5)
    order = [photos[i] for i in (3, 0, 4, 1, 2)]
    out = merge.merge_images_to_pdf(order, files_dir, LIMITS)
    assert out.parent == files_dir and out.stat().st_mode & 0o777 == 0o600
    assert formats.inspect(out, LIMITS).pages == 5  # passes the portal's own PDF checks
    reader = PdfReader(out)
    page: Any
    for page, photo in zip(reader.pages, order, strict=True):
        stream = page["/Resources"]["/XObject"]["/Im0"].get_object()
        # Embedded as it was: the JPEG's bytes are in the PDF unchanged (no second encoding).
        assert stream["/Filter"] == "/DCTDecode"
        assert stream._data == photo.read_bytes()
        # A 3:4 photo on an A4-wide page.
        assert (float(page.mediabox.width), round(float(page.mediabox.height))) == (595.28, 794)


def test_png_pages_are_embedded_losslessly(corpus: dict[str, Path], tmp_path: Path, files_dir: Path) -> None:
    path = tmp_path / "alpha.png"
    shutil.copyfile(corpus["alpha.png"], path)
    images.normalise_image(path, formats.inspect(path), LIMITS)
    out = merge.merge_images_to_pdf([path, path], files_dir, LIMITS)
    page: Any = PdfReader(out).pages[0]
    assert page["/Resources"]["/XObject"]["/Im0"]["/Filter"] == "/FlateDecode"
    with Image.open(path) as original, Image.open(io.BytesIO(page.images[0].data)) as embedded:
        assert embedded.convert("RGB").tobytes() == original.convert("RGB").tobytes()


def test_a_landscape_photo_gets_a_landscape_page(tmp_path: Path, files_dir: Path) -> None:
    path = tmp_path / "wide.jpg"
    camera_image((800, 400)).save(path, "JPEG")
    page = PdfReader(merge.merge_images_to_pdf([path], files_dir, LIMITS)).pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (841.89, 420.95)


def test_too_many_pages(tmp_path: Path, files_dir: Path) -> None:
    photos = numbered_photos(tmp_path, 3)
    with pytest.raises(IntakeError) as refused:
        merge.merge_images_to_pdf(photos, files_dir, Limits(max_pdf_pages=2))
    assert refused.value.code == "pdf_too_many_pages"
    assert list(files_dir.iterdir()) == []


def test_too_large_is_refused_before_writing(tmp_path: Path, files_dir: Path) -> None:
    photos = numbered_photos(tmp_path, 3)
    limit = sum(p.stat().st_size for p in photos)
    with pytest.raises(IntakeError) as refused:
        merge.merge_images_to_pdf(photos, files_dir, Limits(max_file_bytes=limit))
    assert refused.value.code == "file_too_large"
    assert list(files_dir.iterdir()) == []


@pytest.mark.parametrize("name", ["blank.pdf", "iphone.heic", "drawing.svg"])
def test_only_jpeg_and_png_pages(name: str, corpus: dict[str, Path], tmp_path: Path, files_dir: Path) -> None:
    photos = numbered_photos(tmp_path, 1)
    with pytest.raises(IntakeError) as refused:
        merge.merge_images_to_pdf([*photos, corpus[name]], files_dir, LIMITS)
    assert refused.value.code == "merge_images_only"
    assert list(files_dir.iterdir()) == []
