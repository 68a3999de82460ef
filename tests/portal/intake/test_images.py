from __future__ import annotations

import io
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageCms, ImageDraw
from pypdf import PdfReader

from portal.domain.errors import IntakeError
from portal.intake import formats, images, sandbox
from portal.intake import pipeline as intake
from portal.intake.inspection import Inspection
from portal.intake.limits import Limits
from tests.fixtures import bombs
from tests.fixtures.corpus import CAMERA_SIZE, camera_exif, camera_image

LIMITS = Limits()


def normalised(source: Path, tmp_path: Path, limits: Limits = LIMITS) -> tuple[Path, Inspection]:
    """Copy ``source`` and run inspect + the image step on the copy, as intake does."""
    path = tmp_path / ("work-" + source.name)
    shutil.copyfile(source, path)
    return path, images.normalise_image(path, formats.inspect(path, limits), limits)


def save(im: Image.Image, path: Path, fmt: str, **params: object) -> Path:
    im.save(path, fmt, **params)
    return path


def is_red(pixel: tuple[int, ...]) -> bool:
    r, g, b = pixel[:3]
    return r > 200 and g < 60 and b < 60


# ---------------------------------------------------------------- metadata


@pytest.mark.parametrize("name", ["gps_rotated.jpg", "iphone.heic"])
def test_no_metadata_survives(name: str, corpus: dict[str, Path], tmp_path: Path) -> None:
    with Image.open(corpus[name]) as source:  # the sample really carries what must go
        assert source.getexif().get_ifd(0x8825)
    path, found = normalised(corpus[name], tmp_path)
    assert found.media_type == "image/jpeg"
    assert "image_location_removed" in found.notes
    data = path.read_bytes()
    with Image.open(path) as out:
        assert dict(out.getexif()) == {}
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(out.info)
    for needle in (b"Exif", b"GPS", b"xmpmeta", b"SN-4217-SECRET", b"Pixelphone", b"ICC_PROFILE"):
        assert needle not in data


def test_an_icc_profile_is_applied_then_dropped(tmp_path: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = save(camera_image(), tmp_path / "tagged.png", "PNG", icc_profile=srgb)
    path, _ = normalised(source, tmp_path)
    with Image.open(path) as out:
        assert "icc_profile" not in out.info


def test_a_damaged_icc_profile_does_not_refuse_the_photo(tmp_path: Path) -> None:
    source = save(camera_image(), tmp_path / "bad-icc.jpg", "JPEG", icc_profile=b"not a profile" * 20)
    path, found = normalised(source, tmp_path)
    assert found.media_type == "image/jpeg"


# ---------------------------------------------------------------- orientation


@pytest.mark.parametrize("name", ["gps_rotated.jpg", "iphone.heic"])
def test_orientation_6_is_applied_to_the_pixels(name: str, corpus: dict[str, Path], tmp_path: Path) -> None:
    path, _ = normalised(corpus[name], tmp_path)
    width, height = CAMERA_SIZE
    with Image.open(path) as out:
        assert out.size == (height, width)  # landscape stored, portrait shown
        rgb = out.convert("RGB")
        # Orientation 6 turns the stored top-left corner to the top right.
        assert is_red(rgb.getpixel((out.width - 5, 5)))  # type: ignore[arg-type]
        assert not is_red(rgb.getpixel((5, 5)))  # type: ignore[arg-type]


@pytest.mark.parametrize(("orientation", "corner"), [(1, "top_left"), (3, "bottom_right"), (8, "bottom_left")])
def test_other_orientations(orientation: int, corner: str, tmp_path: Path) -> None:
    source = save(camera_image(), tmp_path / "o.jpg", "JPEG", exif=camera_exif(orientation).tobytes())
    path, _ = normalised(source, tmp_path)
    with Image.open(path) as out:
        w, h = out.size
        xy = {"top_left": (5, 5), "bottom_right": (w - 5, h - 5), "bottom_left": (5, h - 5)}[corner]
        assert is_red(out.convert("RGB").getpixel(xy))  # type: ignore[arg-type]


# ---------------------------------------------------------------- formats and modes


@pytest.mark.parametrize(("name", "notes"), [("iphone.heic", True), ("photo.webp", True), ("cmyk.jpg", False)])
def test_becomes_an_rgb_jpeg(name: str, notes: bool, corpus: dict[str, Path], tmp_path: Path) -> None:
    path, found = normalised(corpus[name], tmp_path)
    assert (found.media_type, found.extension) == ("image/jpeg", "jpg")
    assert ("image_converted_jpeg" in found.notes) is notes
    with Image.open(path) as out:
        assert (out.format, out.mode) == ("JPEG", "RGB")


def test_a_cmyk_jpeg_keeps_its_colours(corpus: dict[str, Path], tmp_path: Path) -> None:
    path, _ = normalised(corpus["cmyk.jpg"], tmp_path)
    with Image.open(path) as out:
        assert is_red(out.convert("RGB").getpixel((5, 5)))  # type: ignore[arg-type]


def test_a_multi_page_tiff_becomes_one_pdf_in_page_order(corpus: dict[str, Path], tmp_path: Path) -> None:
    path, found = normalised(corpus["scan.tif"], tmp_path)
    assert (found.media_type, found.extension, found.pages) == ("application/pdf", "pdf", 3)
    assert "image_converted_pdf" in found.notes
    assert formats.inspect(path) == Inspection("application/pdf", "pdf", 3)
    reader = PdfReader(path)
    for n, page in enumerate(reader.pages):
        (image,) = page.images
        with Image.open(io.BytesIO(image.data)) as pixels:
            # Page n has its black bar at y = 40 + 60 n (of 877 px).
            assert pixels.convert("L").getpixel((200, 60 + 60 * n)) == 0
            assert pixels.convert("L").getpixel((200, 60 + 60 * (n + 1))) == 255


def test_16_bit_grey_is_scaled_not_clipped(corpus: dict[str, Path], tmp_path: Path) -> None:
    path, found = normalised(corpus["grey16.png"], tmp_path)
    with Image.open(path) as out:
        assert out.mode == "L"
        assert out.getextrema() == (0, 255)
        assert 100 < sum(out.convert("L").histogram()[:128]) / (out.width * out.height) * 255 < 155


def test_transparency_is_flattened_on_white_and_stays_png(corpus: dict[str, Path], tmp_path: Path) -> None:
    path, found = normalised(corpus["alpha.png"], tmp_path)
    assert found.media_type == "image/png"
    with Image.open(path) as out:
        assert out.mode in ("RGB", "L")
        assert out.convert("RGB").getpixel((2, 2)) == (255, 255, 255)


def test_a_few_colour_screenshot_stays_png(tmp_path: Path) -> None:
    im = Image.new("RGB", (1200, 1600), "white")
    draw = ImageDraw.Draw(im)
    for y in range(100, 1500, 40):
        draw.text((100, y), "Lohnabrechnung Maerz 2026  1.234,56 EUR", fill=(20, 20, 20))
    path, found = normalised(save(im, tmp_path / "screen.webp", "WEBP", lossless=True), tmp_path)
    assert (found.media_type, found.notes) == ("image/png", ("image_converted_png",))


def test_a_palette_png_with_transparency(tmp_path: Path) -> None:
    im = Image.new("P", (64, 64), 0)
    im.putpalette([0, 0, 0, 255, 0, 0])
    ImageDraw.Draw(im).rectangle((0, 0, 10, 10), fill=1)
    path, found = normalised(save(im, tmp_path / "pal.png", "PNG", transparency=0), tmp_path)
    with Image.open(path) as out:
        rgb = out.convert("RGB")
        assert is_red(rgb.getpixel((2, 2))) and rgb.getpixel((40, 40)) == (255, 255, 255)  # type: ignore[arg-type]


# ---------------------------------------------------------------- size


def test_a_large_photo_is_downscaled_to_the_long_edge_limit(tmp_path: Path) -> None:
    source = save(camera_image((5000, 3750)), tmp_path / "big.jpg", "JPEG", quality=80)
    path, _ = normalised(source, tmp_path)
    with Image.open(path) as out:
        assert out.size == (images.MAX_LONG_EDGE, 3072)


def test_a_small_photo_keeps_its_size(corpus: dict[str, Path], tmp_path: Path) -> None:
    path, _ = normalised(corpus["photo.jpg"], tmp_path)
    with Image.open(path) as out:
        assert out.size == (640, 480)


# ---------------------------------------------------------------- refusals


def test_a_bomb_is_refused_from_its_header_quickly(corpus: dict[str, Path]) -> None:
    started = time.perf_counter()
    with pytest.raises(IntakeError) as refused:
        formats.inspect(corpus["bomb.png"])
    assert refused.value.code == "image_too_large_dimensions"
    assert time.perf_counter() - started < 0.5  # nothing was decoded


def test_the_dimension_limit_is_checked_before_decoding(tmp_path: Path) -> None:
    source = save(Image.new("L", (3000, 2000)), tmp_path / "six_mp.png", "PNG")
    with pytest.raises(IntakeError) as refused:
        images.open_checked(source, "image/png", Limits(max_image_pixels=5_000_000))
    assert refused.value.code == "image_too_large_dimensions"


def test_all_frames_of_a_tiff_count(corpus: dict[str, Path]) -> None:
    with pytest.raises(IntakeError) as refused:
        formats.inspect(corpus["scan.tif"], Limits(max_total_image_pixels=1_000_000))  # 3 x 0.54 MP
    assert refused.value.code == "image_too_large_dimensions"


@pytest.mark.parametrize("name", ["iphone.heic", "photo.webp", "gps_rotated.jpg"])
def test_a_truncated_image_is_broken(name: str, corpus: dict[str, Path], tmp_path: Path) -> None:
    data = corpus[name].read_bytes()
    cut = tmp_path / ("cut-" + name)
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(IntakeError) as refused:
        normalised(cut, tmp_path)
    assert refused.value.code == "image_broken"


def test_pdfs_are_not_an_image_steps_business(corpus: dict[str, Path]) -> None:
    found = Inspection("application/pdf", "pdf", 1)
    assert images.normalise_image(corpus["blank.pdf"], found, LIMITS) is found


def test_tiff_frames_are_read_only_up_to_the_page_limit(tmp_path: Path) -> None:
    check = images.check_image("image/tiff")
    exactly = save_bytes(tmp_path / "exactly.tif", bombs.tiff_many_frames(LIMITS.max_pdf_pages))
    assert check(exactly, LIMITS) == LIMITS.max_pdf_pages
    one_more = save_bytes(tmp_path / "one_more.tif", bombs.tiff_many_frames(LIMITS.max_pdf_pages + 1))
    many = save_bytes(tmp_path / "many.tif", bombs.tiff_many_frames(50_000))
    for path in (one_more, many):
        started = time.perf_counter()
        with pytest.raises(IntakeError) as refused:
            check(path, LIMITS)
        assert refused.value.code == "image_too_many_pages"
        # Reading all 50,000 frame headers (Pillow's n_frames) takes about 30 s.
        assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    ("build", "media_type"),
    [
        (bombs.jpeg_dimensions_bomb, "image/jpeg"),
        (bombs.heic_dimensions_bomb, "image/heic"),
        (bombs.webp_canvas_bomb, "image/webp"),
        (bombs.png_dimensions_bomb, "image/png"),
        (bombs.tiff_huge_frame, "image/tiff"),
    ],
)
def test_a_header_that_claims_too_many_pixels_is_refused_before_decoding(
    build: Callable[[], bytes], media_type: str, tmp_path: Path
) -> None:
    path = save_bytes(tmp_path / "bomb", build())
    with pytest.raises(IntakeError) as refused:
        images.open_checked(path, media_type, LIMITS)
    assert refused.value.code == "image_too_large_dimensions"


@pytest.mark.parametrize("build", [bombs.png_text_bomb, bombs.png_icc_bomb])
def test_compressed_png_chunks_are_inflated_within_pillows_caps(build: Callable[[], bytes], tmp_path: Path) -> None:
    # A zTXt or iCCP chunk of 1 MB that inflates to 1 GiB: Pillow stops after 1 MiB.
    path = save_bytes(tmp_path / "chunk.png", build())
    with pytest.raises(IntakeError) as refused:
        images.check_image("image/png")(path, LIMITS)
    assert refused.value.code == "image_broken"


def save_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_decoder_running_out_of_memory_is_not_a_broken_image(tmp_path: Path) -> None:
    # libheif and libde265 report failed allocations as RuntimeError or as decoding errors: the
    # applicant must not be told their photo is damaged when it only did not fit the memory limit.
    path = save(camera_image((2400, 1800)), tmp_path / "photo.heic", "HEIF", quality=50)
    found = formats.inspect(path, LIMITS)
    step = intake.DEFAULT_STEPS[0]
    with pytest.raises(IntakeError) as refused:
        step(path, found, Limits(sandbox_memory_bytes=32 << 20))
    assert refused.value.code == "file_too_complex"
    assert sandbox.recent_usage()[-1].outcome == "memory"
    assert step(path, found, LIMITS).media_type == "image/jpeg"  # it fits the default limit


def test_a_48_mp_photo_is_decoded_at_half_size(tmp_path: Path) -> None:
    im = Image.new("RGB", (8064, 6048), (150, 130, 110))
    ImageDraw.Draw(im).rectangle((0, 0, 1000, 1000), fill=(255, 0, 0))
    source = save(im, tmp_path / "48mp.jpg", "JPEG", quality=80)
    path, _ = normalised(source, tmp_path)
    with Image.open(path) as out:
        assert out.size == (4032, 3024)  # libjpeg's half size, kept: no second resampling
        assert is_red(out.convert("RGB").getpixel((10, 10)))  # type: ignore[arg-type]
