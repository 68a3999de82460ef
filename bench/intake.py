"""Intake benchmark: time and peak memory of the upload pipeline on realistic inputs.

    python bench/intake.py            # prints a table; see bench/README.md

Every case runs in a fresh Python process (``--case NAME``), so the peak resident set size
(``ru_maxrss``, which counts C allocations of libjpeg, libheif and zlib that tracemalloc cannot
see) belongs to that case alone. The decoding itself runs in the sandbox's child processes
(portal/domain/sandbox.py): their largest peak is the "job peak" column. The inputs are
generated first, in a process of their own.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPEAT = 5
PHOTO_SIZE = (4032, 3024)  # 12 MP, what most phones write


# ---------------------------------------------------------------- inputs


def _photo() -> object:
    """A 12 MP "phone photo": smooth light falloff, a document-like sheet, text, sensor noise."""
    from PIL import Image, ImageDraw, ImageFilter

    w, h = PHOTO_SIZE
    light = Image.radial_gradient("L").resize((w, h)).point(lambda v: 200 - v // 3)
    im = Image.merge("RGB", (light, light.point(lambda v: v * 9 // 10), light.point(lambda v: v * 8 // 10)))
    draw = ImageDraw.Draw(im)
    draw.rectangle((500, 300, 3500, 2800), fill=(235, 232, 225))
    rng = random.Random(12)
    for y in range(400, 2700, 45):
        x = 600
        while x < 3300:
            word = rng.randrange(60, 260)
            draw.rectangle((x, y, x + word, y + 18), fill=(40, 40, 50))
            x += word + 25
    im = im.filter(ImageFilter.GaussianBlur(1.2))  # lens softness
    noise = Image.effect_noise((w, h), 18).convert("RGB")
    return Image.blend(im, noise, 0.12)


def _exif() -> bytes:
    from PIL import ExifTags, Image

    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Benchphone"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    return exif.tobytes()


def _text_pdf(pages: int) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    for n in range(pages):
        page = writer.add_blank_page(width=595, height=842)
        lines = "".join(f"1 0 0 1 60 {800 - 14 * i} Tm (Seite {n + 1} Zeile {i + 1} Gehalt) Tj " for i in range(50))
        content = DecodedStreamObject()
        content.set_data(f"BT /F1 11 Tf {lines}ET".encode())
        page[NameObject("/Contents")] = writer._add_object(content)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def generate(directory: Path) -> None:
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    photo = _photo()
    photo.save(directory / "photo.jpg", "JPEG", quality=92, exif=_exif())  # type: ignore[attr-defined]
    photo.save(directory / "photo.heic", "HEIF", quality=80, exif=_exif())  # type: ignore[attr-defined]
    (directory / "fifty.pdf").write_bytes(_text_pdf(50))
    Image.new("1", (20000, 20000)).save(directory / "bomb.png", "PNG", optimize=True)  # 400 MP, ~50 kB
    Image.new("1", (9000, 8000)).save(directory / "large.png", "PNG", optimize=True)  # 72 MP: our limit
    # Five different photos of the same kind for merging (a crop each, so no two are identical).
    for n in range(5):
        photo.crop((n * 60, 0, PHOTO_SIZE[0] - 300 + n * 60, PHOTO_SIZE[1])).save(  # type: ignore[attr-defined]
            directory / f"page{n}.jpg", "JPEG", quality=92
        )


# ---------------------------------------------------------------- cases (run in a fresh process)


def _copy(src: Path, work: Path) -> Path:
    dst = work / "files"
    dst.mkdir(exist_ok=True)
    out = dst / src.name
    shutil.copyfile(src, out)
    return out


def _vet(src: Path, work: Path, full: bool) -> Callable[[], object]:
    from portal.intake import formats
    from portal.intake import pipeline as intake

    def run() -> object:
        path = _copy(src, work)
        if full:  # everything accept() does after receiving: checks, steps, hash, hints, thumbnail
            return intake.vet(intake.Received(path, *intake._measure(path)), src.name, intake.DEFAULT_LIMITS)
        found = formats.inspect(path)
        for step in intake.DEFAULT_STEPS:
            found = step(path, found, intake.DEFAULT_LIMITS)
        return found

    return run


def _floor(src: Path, work: Path) -> Callable[[], object]:
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()

    def run() -> object:
        with Image.open(src) as im:
            im.load()
            im.save(work / "floor.jpg", "JPEG", quality=85)
        return None

    return run


def _refuse(src: Path) -> Callable[[], object]:
    from portal.domain.errors import IntakeError
    from portal.intake import formats

    def run() -> object:
        try:
            formats.inspect(src)
        except IntakeError as exc:
            return exc.code
        raise AssertionError("not refused")

    return run


def _merge(inputs: Path, work: Path) -> Callable[[], object]:
    from portal.intake import pipeline as intake

    uploads = []
    for n in range(5):  # normalised first, as they are when the applicant combines them
        path = _copy(inputs / f"page{n}.jpg", work)
        uploads.append(intake.vet(intake.Received(path, *intake._measure(path)), path.name, intake.DEFAULT_LIMITS))

    def run() -> object:
        out = work / "out"
        out.mkdir(exist_ok=True)
        return intake.merge_uploads(uploads, [work / u.id for u in uploads], out, intake.DEFAULT_LIMITS).pages

    return run


def _merge_floor(inputs: Path, work: Path) -> Callable[[], object]:
    from PIL import Image

    def run() -> object:
        pages = [Image.open(inputs / f"page{n}.jpg") for n in range(5)]
        pages[0].save(work / "pillow.pdf", "PDF", save_all=True, append_images=pages[1:])
        return None

    return run


CASES: dict[str, Callable[[Path, Path], Callable[[], object]]] = {
    "jpeg_12mp": lambda i, w: _vet(i / "photo.jpg", w, full=False),
    "jpeg_12mp_floor": lambda i, w: _floor(i / "photo.jpg", w),
    "jpeg_12mp_full": lambda i, w: _vet(i / "photo.jpg", w, full=True),
    "heic_12mp": lambda i, w: _vet(i / "photo.heic", w, full=False),
    "heic_12mp_floor": lambda i, w: _floor(i / "photo.heic", w),
    "heic_12mp_full": lambda i, w: _vet(i / "photo.heic", w, full=True),
    "pdf_50_pages": lambda i, w: _vet(i / "fifty.pdf", w, full=True),
    "merge_5_photos": _merge,
    "merge_5_floor": _merge_floor,
    "bomb_400mp": lambda i, w: _refuse(i / "bomb.png"),
    "large_72mp": lambda i, w: _refuse(i / "large.png"),
}


# Beside each case, the bare Pillow work on the same input: decode + encode (images), or Pillow's
# own PDF writer for the merge (which re-encodes every page).
FLOORS = {
    "jpeg_12mp": "jpeg_12mp_floor",
    "jpeg_12mp_full": "jpeg_12mp_floor",
    "heic_12mp": "heic_12mp_floor",
    "heic_12mp_full": "heic_12mp_floor",
    "merge_5_photos": "merge_5_floor",
}


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 1e6


def run_case(name: str, inputs: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run = CASES[name](inputs, work)
        run()  # warm-up: first-use costs (plugin imports, PDFium load) are not the steady state
        baseline = _rss_mb()
        times = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
            shutil.rmtree(work / "out", ignore_errors=True)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # kB on Linux
    from portal.intake import sandbox

    # The parsing runs in the sandbox's children: their peaks, as the fork server reports them.
    child = max((u.peak_bytes for u in sandbox.recent_usage()), default=0) / 1e6
    return {"ms": statistics.median(times) * 1e3, "peak_mb": peak, "baseline_mb": baseline, "child_mb": child}


# ---------------------------------------------------------------- the table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case")
    parser.add_argument("--inputs", type=Path)
    parser.add_argument("--generate", type=Path)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate)
        return
    if args.case:
        print(json.dumps(run_case(args.case, args.inputs)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp)
        subprocess.run([sys.executable, __file__, "--generate", str(inputs)], check=True)
        results = {}
        for name in CASES:
            out = subprocess.run(
                [sys.executable, __file__, "--case", name, "--inputs", str(inputs)],
                check=True,
                capture_output=True,
                text=True,
            )
            results[name] = json.loads(out.stdout)
        sizes = {p.name: p.stat().st_size for p in inputs.iterdir()}
    report(results, sizes)


def _peak(case: dict[str, float]) -> float:
    return max(case["peak_mb"], case["child_mb"])


def report(r: dict[str, dict[str, float]], sizes: dict[str, int]) -> None:
    print(
        f"inputs: photo.jpg {sizes['photo.jpg'] / 1e6:.1f} MB, photo.heic {sizes['photo.heic'] / 1e6:.1f} MB, "
        f"fifty.pdf {sizes['fifty.pdf'] / 1e3:.0f} kB, bomb.png {sizes['bomb.png'] / 1e3:.0f} kB; "
        f"median of {REPEAT} runs, peak RSS of the case's process and of its largest sandbox job"
    )
    print(
        f"{'case':<18} {'time ms':>9} {'floor ms':>9} {'ratio':>6} {'peak MB':>8} {'(import base)':>13} "
        f"{'job peak MB':>11}"
    )
    for name in CASES:
        if name.endswith("_floor"):
            continue
        floor = r.get(FLOORS.get(name, ""), {}).get("ms")
        ratio = f"{r[name]['ms'] / floor:.2f}" if floor else ""
        floor_text = f"{floor:9.1f}" if floor else " " * 9
        print(
            f"{name:<18} {r[name]['ms']:9.1f} {floor_text} {ratio:>6} {r[name]['peak_mb']:8.0f} "
            f"{r[name]['baseline_mb']:13.0f} {r[name]['child_mb']:11.0f}"
        )
    print("\ntargets:")
    checks = [
        ("normalise 12 MP JPEG within 2x floor", r["jpeg_12mp"]["ms"] <= 2 * r["jpeg_12mp_floor"]["ms"]),
        ("normalise 12 MP HEIC within 2x floor", r["heic_12mp"]["ms"] <= 2 * r["heic_12mp_floor"]["ms"]),
        ("refuse a 400 MP bomb in < 50 ms", r["bomb_400mp"]["ms"] < 50),
        ("refuse a 72 MP image in < 50 ms", r["large_72mp"]["ms"] < 50),
        ("peak memory, one 12 MP JPEG (full vet) < 250 MB", _peak(r["jpeg_12mp_full"]) < 250),
        ("peak memory, one 12 MP HEIC (full vet) < 250 MB", _peak(r["heic_12mp_full"]) < 250),
    ]
    for label, met in checks:
        print(f"  {'met    ' if met else 'MISSED '} {label}")


if __name__ == "__main__":
    main()
