"""Measuring what a PDF's pages inflate to, on PDFs built for each rule."""

from __future__ import annotations

import io
import random
import time
import zlib

from pypdf import PdfReader

from portal.intake.pdf_content import measure
from tests.fixtures import bombs
from tests.fixtures.bombs import MIB, PdfBuilder, add_pages, flate_header

NO_CAP = 1 << 40
FORM = b"/Type /XObject /Subtype /Form /BBox [0 0 9 9]"


def measured(data: bytes, cap: int = NO_CAP) -> tuple[int, int]:
    result = measure(PdfReader(io.BytesIO(data)), cap)
    return result.content_bytes, result.largest_image_pixels


def stream(builder: PdfBuilder, data: bytes, entries: bytes = b"") -> int:
    packed = zlib.compress(data)
    return builder.add(b"<< %s /Length %d /Filter /FlateDecode >>" % (entries, len(packed)), packed)


def test_text_pages_count_their_inflated_content() -> None:
    builder = PdfBuilder()
    contents = [b"BT /F1 11 Tf (Seite %d) Tj ET" % n * 100 for n in range(3)]
    refs = [b"%d 0 R" % stream(builder, c) for c in contents]
    plain = b"0 0 m 10 10 l S"  # an unfiltered stream counts as it is
    refs[2] = b"[%s %d 0 R]" % (refs[2], builder.add(b"<< /Length %d >>" % len(plain), plain))
    assert measured(builder.write(add_pages(builder, refs))) == (sum(map(len, contents)) + len(plain), 0)


def test_a_stream_named_again_in_contents_counts_again() -> None:
    # A viewer inflates every entry of a page's /Contents array, repeated or not.
    assert measured(bombs.pdf_repeated_contents_bomb(per_stream=MIB, repeats=5))[0] == 5 * MIB
    assert measured(bombs.pdf_many_pages_bomb(pages=4, per_page=MIB))[0] == 4 * MIB


def test_a_form_used_on_every_page_counts_once() -> None:
    builder = PdfBuilder()
    form = stream(builder, b"0 0 m 9 9 l S\n" * 1000, FORM)
    draw = stream(builder, b"/F0 Do")
    data = builder.write(add_pages(builder, [b"%d 0 R" % draw] * 3, b"<< /XObject << /F0 %d 0 R >> >>" % form))
    assert measured(data)[0] == 14_000 + 3 * len(b"/F0 Do")


def test_appearances_type3_glyphs_and_patterns_count() -> None:
    builder = PdfBuilder()
    appearance = stream(builder, b"A" * 1000, FORM)
    glyph = stream(builder, b"G" * 2000)
    pattern = stream(builder, b"P" * 4000, b"/PatternType 1 /PaintType 1 /TilingType 1 /BBox [0 0 9 9]")
    font = builder.add(b"<< /Type /Font /Subtype /Type3 /CharProcs << /a %d 0 R >> >>" % glyph)
    annot = builder.add(b"<< /Type /Annot /Subtype /Widget /Rect [0 0 9 9] /AP << /N %d 0 R >> >>" % appearance)
    draw = stream(builder, b"")
    resources = b"<< /Font << /T3 %d 0 R >> /Pattern << /P0 %d 0 R >> >>" % (font, pattern)
    data = builder.write(add_pages(builder, [b"%d 0 R" % draw], resources, b"/Annots [%d 0 R] " % annot))
    assert measured(data)[0] == 7000


def test_counting_stops_just_past_the_cap() -> None:
    started = time.perf_counter()
    size, _ = measured(bombs.pdf_content_bomb(bombs.GIB), cap=10 * MIB)
    assert 10 * MIB < size <= 11 * MIB
    assert time.perf_counter() - started < 5  # inflating all of it takes ~4 s and the cap ~0.05 s


def test_the_largest_image_is_reported_from_its_dictionary() -> None:
    assert measured(bombs.pdf_image_bomb(side=300))[1] == 90_000
    assert measured(bombs.pdf_content_bomb(MIB))[1] == 0


def test_a_damaged_flate_stream_counts_what_inflates() -> None:
    builder = PdfBuilder()
    packed = zlib.compress(random.Random(4217).randbytes(100_000))[:-200]  # cut off: inflates part way
    ref = builder.add(flate_header(packed), packed)
    size, _ = measured(builder.write(add_pages(builder, [b"%d 0 R" % ref])))
    assert 0 < size < 100_000
