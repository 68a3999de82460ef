"""Decompression bombs against the intake: time and peak memory per file, portal and sandbox apart.

    python bench/bombs.py            # prints two tables; see bench/README.md

This process plays the portal: it runs ``intake.vet`` (everything ``accept`` does after the
upload is on disk) on each bomb of ``tests/fixtures/bombs.py`` and on normal files. Per file:

* **portal MB**: how far this process's peak resident set rose above where it was before the
  file (``VmHWM`` after resetting it through ``/proc/self/clear_refs``; Linux);
* **child MB**: the largest peak resident set among the file's sandbox jobs (``ru_maxrss`` of
  the child, as the fork server reports it; it includes server pages the child touched);
* **above idle MB**: the two added up, what the file costs the portal at most;
* **time ms**: wall-clock time of the whole vet.

The second table is the sandbox's own cost: the same work on small and normal files in this
process (the functions the jobs call) and through the sandbox, and the difference per job.
The fork server's resident set (idle, once) is printed beside. Finishes in well under a minute.
"""

from __future__ import annotations

import importlib.util
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.domain import formats, images, intake, pdfs, preview, quality, sandbox  # noqa: E402
from portal.domain.errors import IntakeError  # noqa: E402
from portal.intake.inspection import Inspection  # noqa: E402
from tests.fixtures import bombs  # noqa: E402
from tests.fixtures.corpus import camera_image  # noqa: E402

TARGET = 300  # MB above idle under bomb attempts
REPEAT = 3

BOMBS: dict[str, Callable[[], bytes]] = {
    "pdf_content_1gib.pdf": bombs.pdf_content_bomb,
    "pdf_repeated.pdf": bombs.pdf_repeated_contents_bomb,
    "pdf_200_pages.pdf": bombs.pdf_many_pages_bomb,
    "pdf_form.pdf": bombs.pdf_form_bomb,
    "pdf_image_3.6gb.pdf": bombs.pdf_image_bomb,
    "pdf_object_stream.pdf": bombs.pdf_object_stream_bomb,
    "png_100k_px.png": bombs.png_dimensions_bomb,
    "png_59mp_16bit.png": bombs.png_memory_bomb,
    "png_ztxt.png": bombs.png_text_bomb,
    "png_iccp.png": bombs.png_icc_bomb,
    "jpeg_65k_px.jpg": bombs.jpeg_dimensions_bomb,
    "heic_60k_px.heic": bombs.heic_dimensions_bomb,
    "webp_canvas.webp": bombs.webp_canvas_bomb,
    "webp_20k_frames.webp": bombs.webp_many_frames,
    "tiff_50k_frames.tif": bombs.tiff_many_frames,
    "tiff_huge_frame.tif": bombs.tiff_huge_frame,
}


def _bench_intake() -> object:
    spec = importlib.util.spec_from_file_location("bench_intake", Path(__file__).with_name("intake.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def normal_files(directory: Path) -> dict[str, Path]:
    """A 12 MP phone photo as JPEG (the inputs of bench/intake.py), a small photo, a 50-page PDF."""
    helpers = _bench_intake()
    photo = helpers._photo()  # type: ignore[attr-defined]
    photo.save(directory / "photo_12mp.jpg", "JPEG", quality=92, exif=helpers._exif())  # type: ignore[attr-defined]
    camera_image((640, 480)).save(directory / "photo_small.jpg", "JPEG", quality=90)
    (directory / "text_50_pages.pdf").write_bytes(helpers._text_pdf(50))  # type: ignore[attr-defined]
    return {p.name: p for p in sorted(directory.iterdir())}


# ---------------------------------------------------------------- measuring


def _status(key: str, pid: str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def vet_once(source: Path, work: Path) -> tuple[str, float, int, int]:
    """(outcome, seconds, portal growth bytes, largest child peak bytes) of one vet of a copy."""
    path = work / source.name
    shutil.copyfile(source, path)
    received = intake.Received(path, *intake._measure(path))
    before = len(sandbox.recent_usage())
    _reset_peak()
    idle = _status("VmRSS")
    started = time.perf_counter()
    try:
        stored = intake.vet(received, source.name, intake.DEFAULT_LIMITS)
        outcome = f"accepted {stored.media_type.split('/')[-1]}"
    except IntakeError as exc:
        outcome = exc.code
    seconds = time.perf_counter() - started
    growth = max(_status("VmHWM") - idle, 0)
    child = max((u.peak_bytes for u in sandbox.recent_usage()[before:]), default=0)
    path.unlink(missing_ok=True)
    return outcome, seconds, growth, child


def in_process(path: Path) -> None:
    """What the sandbox jobs of one vet do, called directly in this process."""
    limits = intake.DEFAULT_LIMITS
    media_type = formats.sniff(path)
    fmt = formats.FORMATS[media_type]
    pages = pdfs.check_pdf(path, limits) if fmt.extension == "pdf" else images.check_image(media_type)(path, limits)
    found = Inspection(fmt.media_type, fmt.extension, pages)
    found = images.normalise_image(path, found, limits)
    found = pdfs.sanitise_pdf(path, found, limits)
    if found.media_type.startswith("image/"):
        quality.quality_hints(path)
    preview.thumbnail(path, found.media_type)


def timed(run: Callable[[Path], object], source: Path, work: Path) -> tuple[float, int]:
    """Median seconds of REPEAT runs on fresh copies, and the number of sandbox jobs of one run."""
    times, jobs = [], 0
    for _ in range(REPEAT):
        path = work / source.name
        shutil.copyfile(source, path)
        before = len(sandbox.recent_usage())
        started = time.perf_counter()
        run(path)
        times.append(time.perf_counter() - started)
        jobs = len(sandbox.recent_usage()) - before
        path.unlink(missing_ok=True)
    return statistics.median(times), jobs


def sandboxed(path: Path) -> None:
    intake.vet(intake.Received(path, *intake._measure(path)), path.name, intake.DEFAULT_LIMITS)


# ---------------------------------------------------------------- the tables


def main() -> None:
    begun = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (inputs := root / "in").mkdir()
        (work := root / "work").mkdir()
        for name, build in BOMBS.items():
            (inputs / name).write_bytes(build())
        (normal_dir := root / "normal").mkdir()
        normal = normal_files(normal_dir)
        sandbox.start()
        assert sandbox._current is not None
        server_rss = _status("VmRSS", str(sandbox._current.process.pid))
        for warm_up in (in_process, sandboxed):  # first-use costs (plugins, PDFium) are not the steady state
            shutil.copyfile(normal["photo_small.jpg"], work / "warm.jpg")
            warm_up(work / "warm.jpg")

        limits = intake.DEFAULT_LIMITS
        print(
            f"limits: {limits.sandbox_memory_bytes >> 20} MiB and {limits.sandbox_seconds:g} s per job, "
            f"{limits.sandbox_jobs} jobs at once; PDF content {limits.max_pdf_content_bytes // 10**6} MB"
        )
        print(f"this process at idle {_status('VmRSS') / 1e6:.0f} MB; fork server at idle {server_rss / 1e6:.0f} MB\n")
        print(
            f"{'file':<24} {'size':>8} {'outcome':<28} {'time ms':>8} {'portal MB':>9} {'child MB':>9} "
            f"{'above idle MB':>13}"
        )
        worst = 0.0
        for source in [*sorted(inputs.iterdir()), *normal.values()]:
            outcome, seconds, growth, child = vet_once(source, work)
            total = (growth + child) / 1e6
            if source.parent == inputs:
                worst = max(worst, total)
            size = source.stat().st_size
            print(
                f"{source.name:<24} {size / 1e3:7.0f}k {outcome:<28} {seconds * 1e3:8.0f} {growth / 1e6:9.1f} "
                f"{child / 1e6:9.0f} {total:13.0f}"
            )
        verdict = "met" if worst < TARGET else "MISSED"
        print(f"\nworst bomb: {worst:.0f} MB above idle (target < {TARGET} MB): {verdict}")

        print(f"\nsandbox overhead (median of {REPEAT}):")
        print(f"{'file':<24} {'jobs':>4} {'in-process ms':>14} {'sandboxed ms':>13} {'per job ms':>11}")
        for name in ("photo_small.jpg", "photo_12mp.jpg", "text_50_pages.pdf"):
            direct, _ = timed(in_process, normal[name], work)
            confined, jobs = timed(sandboxed, normal[name], work)
            per_job = (confined - direct) / max(jobs, 1)
            print(f"{name:<24} {jobs:4d} {direct * 1e3:14.0f} {confined * 1e3:13.0f} {per_job * 1e3:11.1f}")
    print(f"\nbench took {time.perf_counter() - begun:.0f} s")


if __name__ == "__main__":
    main()
