from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from portal.domain.errors import IntakeError
from portal.intake import pipeline as intake
from portal.intake import sandbox
from portal.intake.files import temporary
from portal.intake.pipeline import Inspection, Limits, StoredUpload
from tests.fixtures import bombs
from tests.fixtures.corpus import ACCEPTED, EXPECTED, SIZE_LIMIT

LIMITS = Limits(max_file_bytes=SIZE_LIMIT)


def leftovers(files_dir: Path) -> list[Path]:
    return list(files_dir.iterdir())


async def chunks_of(path: Path, size: int = intake.CHUNK) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(size):
            yield chunk


async def accept_file(path: Path, files_dir: Path, limits: Limits = LIMITS, **kw: object) -> StoredUpload:
    return await intake.accept(chunks_of(path), path.name, files_dir, limits, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the corpus, end to end


def test_corpus_covers_every_sample(corpus: dict[str, Path]) -> None:
    assert set(corpus) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(n for n, code in EXPECTED.items() if code is not None))
async def test_refused_samples_leave_nothing_behind(name: str, corpus: dict[str, Path], files_dir: Path) -> None:
    with pytest.raises(IntakeError) as refused:
        await accept_file(corpus[name], files_dir)
    assert refused.value.code == EXPECTED[name]
    assert leftovers(files_dir) == []


def test_every_accepted_sample_has_an_outcome() -> None:
    assert set(ACCEPTED) == {name for name, code in EXPECTED.items() if code is None}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
async def test_accepted_samples(name: str, corpus: dict[str, Path], files_dir: Path) -> None:
    stored = await accept_file(corpus[name], files_dir)
    assert (stored.media_type, stored.extension, stored.pages, stored.notes) == ACCEPTED[name]
    # Size and hash describe the bytes that will be handed over (after normalising).
    data = (files_dir / stored.id).read_bytes()
    assert stored.size == len(data)
    assert stored.sha512 == hashlib.sha512(data).hexdigest()
    assert leftovers(files_dir) == [files_dir / stored.id]  # no temporary file of a step stays behind
    # A random name with no extension, readable by the portal alone.
    assert len(stored.id) == 32 and int(stored.id, 16) >= 0
    assert stat.S_IMODE((files_dir / stored.id).stat().st_mode) == 0o600
    assert stored.original_name == name
    assert stored.thumbnail is not None and stored.thumbnail.startswith(b"\xff\xd8")


@pytest.mark.parametrize("name", ["blank.pdf", "three_pages.pdf", "owner_password_only.pdf"])
async def test_clean_pdfs_are_handed_over_byte_for_byte(name: str, corpus: dict[str, Path], files_dir: Path) -> None:
    stored = await accept_file(corpus[name], files_dir)
    assert (files_dir / stored.id).read_bytes() == corpus[name].read_bytes()
    assert stored.notes == () and stored.quality == ()


async def test_images_are_always_re_encoded(corpus: dict[str, Path], files_dir: Path) -> None:
    stored = await accept_file(corpus["photo.jpg"], files_dir)
    assert (files_dir / stored.id).read_bytes() != corpus["photo.jpg"].read_bytes()
    assert stored.quality == ("photo_small",)  # 640x480 is too small for an A4 page


async def test_steps_can_be_switched_off(corpus: dict[str, Path], files_dir: Path) -> None:
    stored = await accept_file(corpus["photo.jpg"], files_dir, steps=())
    assert (files_dir / stored.id).read_bytes() == corpus["photo.jpg"].read_bytes()
    assert stored.size == corpus["photo.jpg"].stat().st_size


# ---------------------------------------------------------------- the malware scan hook


async def test_the_scan_runs_on_the_stored_bytes_before_any_parser(corpus: dict[str, Path], files_dir: Path) -> None:
    seen: list[bytes] = []

    def infected(path: Path) -> None:
        seen.append(path.read_bytes())
        raise IntakeError("file_infected")

    # An HTML page would be refused as file_type_html by the sniffer: the scan came first.
    with pytest.raises(IntakeError) as refused:
        await accept_file(corpus["page.pdf"], files_dir, scan=infected)
    assert refused.value.code == "file_infected"
    assert seen == [corpus["page.pdf"].read_bytes()]
    assert leftovers(files_dir) == []


async def test_a_clean_scan_lets_the_file_through(corpus: dict[str, Path], files_dir: Path) -> None:
    scanned: list[Path] = []
    stored = await accept_file(corpus["blank.pdf"], files_dir, scan=scanned.append)
    assert scanned == [files_dir / stored.id]


async def test_type_is_decided_by_content_not_name(corpus: dict[str, Path], files_dir: Path) -> None:
    stored = await intake.accept(chunks_of(corpus["alpha.png"]), "Reisepass.pdf", files_dir, LIMITS)
    assert (stored.media_type, stored.extension, stored.original_name) == ("image/png", "png", "Reisepass.pdf")


# ---------------------------------------------------------------- limits that are rules, not constants


def test_limits_are_configurable(corpus: dict[str, Path]) -> None:
    loose = Limits(max_pdf_pages=300, max_image_pixels=80_000_000)
    assert intake.inspect(corpus["too_many_pages.pdf"], loose).pages == 201
    assert intake.inspect(corpus["large_dimensions.png"], loose) == Inspection("image/png", "png", 1)
    with pytest.raises(IntakeError) as refused:
        intake.inspect(corpus["scan.tif"], Limits(max_pdf_pages=2))
    assert refused.value.code == "image_too_many_pages"
    with pytest.raises(IntakeError) as refused:
        intake.inspect(corpus["three_pages.pdf"], Limits(max_pdf_pages=2))
    assert refused.value.code == "pdf_too_many_pages"


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        Limits(max_file_bytes=0)
    with pytest.raises(ValueError):
        Limits(max_files_per_item=21)  # ItemAnswerIn.files takes at most 20
    with pytest.raises(ValueError):
        Limits(max_files_per_reply=61)  # ReplyIn.files takes at most 60


# ---------------------------------------------------------------- count rules


SMALL = Limits(max_files_per_item=3, max_files_per_reply=5, max_reply_bytes=1_000)


def test_files_per_item() -> None:
    assert intake.check_files_per_item(2, 1, SMALL) is None
    assert intake.check_files_per_item(3, 1, SMALL) == "too_many_files_item"
    assert intake.check_files_per_item(1, 3, SMALL) == "too_many_files_item"


def test_files_per_reply() -> None:
    assert intake.check_files_per_reply(4, 1, SMALL) is None
    assert intake.check_files_per_reply(5, 1, SMALL) == "too_many_files_reply"


def test_reply_bytes() -> None:
    assert intake.check_reply_bytes(999, 1, SMALL) is None
    assert intake.check_reply_bytes(1_000, 1, SMALL) == "reply_too_large"
    assert intake.check_reply_bytes(998, 3, SMALL) == "reply_too_large"  # each file is at least one byte


def test_check_counts_reports_the_first_broken_rule() -> None:
    assert intake.check_counts(0, 0, 0, 1, SMALL) is None
    assert intake.check_counts(3, 5, 1_000, 1, SMALL) == "too_many_files_item"
    assert intake.check_counts(0, 5, 1_000, 1, SMALL) == "too_many_files_reply"
    assert intake.check_counts(0, 0, 1_000, 1, SMALL) == "reply_too_large"


# ---------------------------------------------------------------- receive


class CountingSource:
    """An endless upload that records how much of it was pulled."""

    def __init__(self, chunk: bytes) -> None:
        self.chunk = chunk
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            self.pulled += 1
            yield self.chunk


async def test_receive_stops_as_soon_as_the_file_is_too_large(files_dir: Path) -> None:
    source = CountingSource(b"x" * intake.CHUNK)
    limits = Limits(max_file_bytes=10 * intake.CHUNK)
    with pytest.raises(IntakeError) as refused:
        await intake.receive(source.__aiter__(), files_dir, limits)
    assert refused.value.code == "file_too_large"
    assert source.pulled == 11
    assert leftovers(files_dir) == []


async def test_receive_accepts_exactly_the_limit(files_dir: Path) -> None:
    received = await intake.receive(chunks_from(b"y" * 1000), files_dir, Limits(max_file_bytes=1000))
    assert received.size == 1000 and received.path.stat().st_size == 1000


async def test_receive_names_the_reply_limit_when_it_binds(files_dir: Path) -> None:
    limits = Limits(max_file_bytes=1_000, max_reply_bytes=10_000)
    with pytest.raises(IntakeError) as refused:
        await intake.receive(chunks_from(b"z" * 600), files_dir, limits, bytes_in_reply=9_500)
    assert refused.value.code == "reply_too_large"
    received = await intake.receive(chunks_from(b"z" * 500), files_dir, limits, bytes_in_reply=9_500)
    assert received.size == 500


async def test_receive_refuses_an_empty_file(files_dir: Path) -> None:
    with pytest.raises(IntakeError) as refused:
        await intake.receive(chunks_from(b""), files_dir, LIMITS)
    assert refused.value.code == "file_empty"
    assert leftovers(files_dir) == []


async def test_an_interrupted_upload_leaves_no_file(files_dir: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"%PDF-1.7\n"
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        await intake.receive(broken(), files_dir, LIMITS)
    assert leftovers(files_dir) == []


def test_receive_stream(files_dir: Path) -> None:
    data = os.urandom(3 * intake.CHUNK + 7)
    received = intake.receive_stream(io.BytesIO(data), files_dir, Limits())
    assert received.size == len(data)
    assert received.sha512 == hashlib.sha512(data).hexdigest()
    with pytest.raises(IntakeError):
        intake.receive_stream(io.BytesIO(data), files_dir, Limits(max_file_bytes=len(data) - 1))
    assert list(files_dir.iterdir()) == [received.path]


async def test_read_chunks_adapts_an_upload_file() -> None:
    class UploadLike:  # the shape of Starlette's / Reflex's UploadFile
        def __init__(self, data: bytes) -> None:
            self._io = io.BytesIO(data)

        async def read(self, size: int = -1, /) -> bytes:
            return self._io.read(size)

    data = os.urandom(intake.CHUNK * 2 + 1)
    parts = [c async for c in intake.read_chunks(UploadLike(data))]
    assert [len(p) for p in parts] == [intake.CHUNK, intake.CHUNK, 1]
    assert b"".join(parts) == data


async def chunks_from(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 100):
        yield data[i : i + 100]


# ---------------------------------------------------------------- pipeline steps


async def test_a_refusing_step_deletes_the_file(corpus: dict[str, Path], files_dir: Path) -> None:
    def no_photos(path: Path, found: Inspection, limits: Limits, /) -> Inspection:
        if found.media_type.startswith("image/"):
            raise IntakeError("file_type_unsupported")
        return found

    with pytest.raises(IntakeError):
        await accept_file(corpus["photo.jpg"], files_dir, steps=[no_photos])
    assert leftovers(files_dir) == []


async def test_a_rewriting_step_is_measured_again(corpus: dict[str, Path], files_dir: Path) -> None:
    def append_comment(path: Path, found: Inspection, limits: Limits, /) -> Inspection:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(path.read_bytes() + b"%sanitised\n%%EOF\n")
        os.replace(tmp, path)
        return found

    stored = await accept_file(corpus["blank.pdf"], files_dir, steps=[append_comment])
    data = (files_dir / stored.id).read_bytes()
    assert data.endswith(b"%sanitised\n%%EOF\n")
    assert stored.size == len(data) and stored.sha512 == hashlib.sha512(data).hexdigest()


def test_a_registry_may_name_a_plain_check(corpus: dict[str, Path]) -> None:
    # The sandbox sniffs; a check that is no sandbox job runs here, after it.
    checked: list[Path] = []

    def count_pages(path: Path, limits: Limits) -> int:
        checked.append(path)
        return 7

    registry = {"image/png": intake.Format("image/png", "png", count_pages)}
    assert intake.inspect(corpus["alpha.png"], LIMITS, registry) == Inspection("image/png", "png", 7)
    assert checked == [corpus["alpha.png"]]
    with pytest.raises(IntakeError) as refused:
        intake.inspect(corpus["photo.jpg"], LIMITS, registry)
    assert refused.value.code == "file_type_unsupported"


# ---------------------------------------------------------------- merging photos into one PDF


async def test_merge_uploads_gives_one_checked_pdf_upload(corpus: dict[str, Path], files_dir: Path) -> None:
    photos = [await accept_file(corpus[n], files_dir) for n in ("gps_rotated.jpg", "photo.webp", "alpha.png")]
    merged = intake.merge_uploads(photos, [files_dir / p.id for p in photos], files_dir, LIMITS)
    assert (merged.media_type, merged.extension, merged.pages) == ("application/pdf", "pdf", 3)
    assert merged.original_name == "gps_rotated.pdf"
    data = (files_dir / merged.id).read_bytes()
    assert merged.size == len(data) and merged.sha512 == hashlib.sha512(data).hexdigest()
    assert merged.quality == ("photo_small",)  # the photos' hints stay visible on the document
    assert merged.thumbnail is not None
    assert intake.inspect(files_dir / merged.id, LIMITS).pages == 3
    # The originals are the caller's to remove.
    assert all((files_dir / p.id).exists() for p in photos)


async def test_merge_uploads_refuses_a_pdf(corpus: dict[str, Path], files_dir: Path) -> None:
    uploads = [await accept_file(corpus[n], files_dir) for n in ("photo.jpg", "blank.pdf")]
    with pytest.raises(IntakeError) as refused:
        intake.merge_uploads(uploads, [files_dir / u.id for u in uploads], files_dir, LIMITS)
    assert refused.value.code == "merge_images_only"
    assert len(leftovers(files_dir)) == 2


# ---------------------------------------------------------------- decompression bombs

# Every accepted format, as a bomb (tests/fixtures/bombs.py), and how it is refused. None of them
# may cost the sandbox's child more than this: they are all stopped before they inflate.
BOMBS: dict[str, tuple[Callable[[], bytes], str]] = {
    "pdf_content.pdf": (bombs.pdf_content_bomb, "file_too_complex"),  # 1 MB -> 1 GiB page
    "pdf_repeated.pdf": (bombs.pdf_repeated_contents_bomb, "file_too_complex"),
    "pdf_pages.pdf": (bombs.pdf_many_pages_bomb, "file_too_complex"),
    "pdf_form.pdf": (bombs.pdf_form_bomb, "file_too_complex"),
    "pdf_image.pdf": (bombs.pdf_image_bomb, "file_too_complex"),
    "pdf_object_stream.pdf": (bombs.pdf_object_stream_bomb, "file_too_complex"),
    "png_dimensions.png": (bombs.png_dimensions_bomb, "image_too_large_dimensions"),
    "png_text.png": (bombs.png_text_bomb, "image_broken"),
    "png_icc.png": (bombs.png_icc_bomb, "image_broken"),
    "jpeg_dimensions.jpg": (bombs.jpeg_dimensions_bomb, "image_too_large_dimensions"),
    "heic_dimensions.heic": (bombs.heic_dimensions_bomb, "image_too_large_dimensions"),
    "webp_canvas.webp": (bombs.webp_canvas_bomb, "image_too_large_dimensions"),
    "tiff_frames.tif": (bombs.tiff_many_frames, "image_too_many_pages"),
    "tiff_huge_frame.tif": (bombs.tiff_huge_frame, "image_too_large_dimensions"),
}
BOMB_PEAK = 150_000_000


def jobs_since(count: int) -> list[sandbox.Usage]:
    return sandbox.recent_usage()[count:]


@pytest.mark.parametrize("name", sorted(BOMBS))
async def test_bombs_are_refused_before_they_inflate(name: str, tmp_path: Path, files_dir: Path) -> None:
    build, code = BOMBS[name]
    source = tmp_path / name
    source.write_bytes(build())
    before = len(sandbox.recent_usage())
    with pytest.raises(IntakeError) as refused:
        await accept_file(source, files_dir, Limits())
    assert refused.value.code == code
    assert leftovers(files_dir) == []
    jobs = jobs_since(before)
    assert [u.job for u in jobs] == ["inspect"]  # refused by the checks, before any decoding
    assert jobs[0].peak_bytes < BOMB_PEAK


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets this process's peak resident set (Linux)


def _hwm_and_rss() -> tuple[int, int]:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status["VmHWM"].split()[0]) * 1024, int(status["VmRSS"].split()[0]) * 1024


async def test_a_pdf_page_that_inflates_to_a_gibibyte_never_reaches_the_portals_memory(
    tmp_path: Path, files_dir: Path
) -> None:
    source = tmp_path / "bomb.pdf"
    source.write_bytes(bombs.pdf_content_bomb())
    assert source.stat().st_size < 1_100_000
    _reset_peak()
    _, rss = _hwm_and_rss()
    with pytest.raises(IntakeError) as refused:
        await accept_file(source, files_dir, Limits())
    assert refused.value.code == "file_too_complex"
    peak, _ = _hwm_and_rss()
    assert peak - rss < 30_000_000


async def test_an_image_too_big_to_decode_within_the_memory_limit(tmp_path: Path, files_dir: Path) -> None:
    # 59 MP passes the pixel rule, but 16-bit RGBA needs over 600 MB to flatten: only the
    # sandbox's memory limit stops it (with the default 512 MiB).
    source = tmp_path / "memory.png"
    source.write_bytes(bombs.png_memory_bomb())
    before = len(sandbox.recent_usage())
    with pytest.raises(IntakeError) as refused:
        await accept_file(source, files_dir, Limits())
    assert refused.value.code == "file_too_complex"
    assert leftovers(files_dir) == []
    killed = jobs_since(before)[-1]
    assert (killed.job, killed.outcome) == ("normalise_image", "memory")
    assert killed.peak_bytes < Limits().sandbox_memory_bytes + 100_000_000


async def test_a_slow_job_is_stopped_and_the_file_deleted(corpus: dict[str, Path], files_dir: Path) -> None:
    with pytest.raises(IntakeError) as refused:
        await accept_file(corpus["iphone.heic"], files_dir, Limits(sandbox_seconds=0.001))
    assert refused.value.code == "file_too_complex"
    assert leftovers(files_dir) == []


async def test_a_killed_step_leaves_no_temporary_file(corpus: dict[str, Path], files_dir: Path) -> None:
    received = await intake.receive(chunks_of(corpus["photo.jpg"]), files_dir, LIMITS)
    # What files.rewrite leaves when its process is killed mid-write.
    temporary(received.path).write_bytes(b"half a photo")
    with pytest.raises(IntakeError):
        intake.vet(received, "photo.jpg", LIMITS, scan=refuse_all)
    assert leftovers(files_dir) == []


def refuse_all(path: Path) -> None:
    raise IntakeError("file_infected")


async def test_an_animated_webp_is_taken_by_its_first_frame(tmp_path: Path, files_dir: Path) -> None:
    source = tmp_path / "frames.webp"
    source.write_bytes(bombs.webp_many_frames())  # 20,000 frames on a 16 MP canvas
    before = len(sandbox.recent_usage())
    stored = await accept_file(source, files_dir, Limits())
    assert stored.pages == 1 and stored.media_type in ("image/jpeg", "image/png")
    assert all(u.outcome == "ok" and u.peak_bytes < 400_000_000 for u in jobs_since(before))


async def test_a_merge_that_is_stopped_leaves_only_the_photos(corpus: dict[str, Path], files_dir: Path) -> None:
    photos = [await accept_file(corpus[n], files_dir) for n in ("gps_rotated.jpg", "alpha.png")]
    with pytest.raises(IntakeError) as refused:
        intake.merge_uploads(
            photos,
            [files_dir / p.id for p in photos],
            files_dir,
            Limits(max_file_bytes=SIZE_LIMIT, sandbox_seconds=0.001),
        )
    assert refused.value.code == "file_too_complex"
    assert sorted(leftovers(files_dir)) == sorted(files_dir / p.id for p in photos)
