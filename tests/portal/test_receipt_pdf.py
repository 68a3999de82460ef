"""The receipt as a PDF: the text a reader (and pypdf) gets out of it, its pages and its fonts.

The Arabic and the Chinese receipt's first pages are turned into PNG with Debian's ``pdftoppm``
and kept in ``tests/artifacts/`` (git-ignored) for a person to look at: Arabic joined and right
to left, Chinese in its own glyphs (``tests/fixtures/README.md``).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from portal.domain import i18n
from portal.domain.outgoing import ItemAnswer, OutgoingFile, OutgoingReply
from portal.domain.receipt import build_receipt
from portal.receipt_pdf import ReceiptFontsMissing, families, missing_fonts, render
from portal.settings import PortalSettings
from tests.portal.domain.test_receipt import FILES, RECEIVED, question_reply
from tests.support import messages

FONTS = PortalSettings().receipt_fonts_dir
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def _render(reply: OutgoingReply) -> bytes:
    document = build_receipt(messages.message_view("question"), reply, "RK-ABCD-EFGH", RECEIVED)
    return render(document, FONTS, RECEIVED).pdf


def test_the_fonts_are_installed() -> None:
    assert missing_fonts(FONTS) == [], "run scripts/setup: fonts-noto-core and fonts-droid-fallback"


@pytest.mark.parametrize("lang", ["en", "ru", "vi", "fr"])
def test_the_text_holds_the_reference_every_file_and_the_free_text_in_both_languages(lang: str) -> None:
    pdf = _render(question_reply(lang))
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    flat = text.replace("\n", "")
    for section in (lang, "de"):
        assert i18n.translate(section, "receipt.title") in text
        assert i18n.translate(section, "receipt.sha512") in text
    assert text.count("RK-ABCD-EFGH") >= 2 and text.count("ABH-P-2026-004217") >= 2
    for file in FILES:
        assert flat.count(file.name) >= 2 and flat.count(file.sha512) == 2
    assert text.count("Guten Tag, anbei die Unterlagen.") == 2


def test_a_german_reply_has_one_german_section() -> None:
    text = _text(_render(question_reply("de")))
    assert text.count("Guten Tag, anbei die Unterlagen.") == 1
    assert i18n.translate("en", "receipt.title") not in text


def test_many_files_and_long_names_break_pages_cleanly_and_stay_small() -> None:
    long_name = "Scan_" + "sehr_langer_Dateiname_" * 8 + ".pdf"
    files = tuple(
        OutgoingFile(
            key=f"f{n}",
            name=f"Krankenversicherung_ABH-P-2026-004217_{n}.pdf",
            original_name=long_name[:200],
            media_type="application/pdf",
            size=n * 100_000,
            pages=n,
            sha512=hashlib.sha512(str(n).encode()).hexdigest(),
            stored_as="0" * 32,
        )
        for n in range(1, 41)
    )
    reply = OutgoingReply(
        submitted_at=RECEIVED,
        language="en",
        text="Lorem ipsum dolor sit amet. " * 200,
        items=(ItemAnswer(item_id="item-1", status="provided", files=tuple(f.key for f in files)),),
        declaration=True,
        files=files,
    )
    document = build_receipt(messages.message_view("question"), reply, "RK-ABCD-EFGH", RECEIVED)
    rendered = render(document, FONTS, RECEIVED)
    reader = PdfReader(io.BytesIO(rendered.pdf))
    assert len(reader.pages) == rendered.pages > 10
    flat = _text(rendered.pdf).replace("\n", "")
    assert all(flat.count(f.sha512) == 2 for f in files)
    # "page n of m" in every footer, in its section's language, m the real count.
    first = reader.pages[0].extract_text() or ""
    assert (
        i18n.translate("en", "receipt.footer", reference="RK-ABCD-EFGH").format(page=1, pages=rendered.pages) in first
    )
    english_pages = [n for n, page in enumerate(reader.pages) if "Receipt number" in (page.extract_text() or "")]
    assert english_pages == list(range(len(english_pages)))  # no English footer on a German page
    last = reader.pages[-1].extract_text() or ""
    assert (
        i18n.translate("de", "receipt.footer", reference="RK-ABCD-EFGH").format(
            page=rendered.pages, pages=rendered.pages
        )
        in last
    )
    # Subset fonts: tens of kilobytes, not the megabytes of the font files.
    assert len(rendered.pdf) < 400_000


def test_a_missing_font_refuses_to_render(tmp_path: Path) -> None:
    document = build_receipt(messages.message_view("question"), question_reply("en"), "RK-ABCD-EFGH", RECEIVED)
    with pytest.raises(ReceiptFontsMissing):
        render(document, tmp_path, RECEIVED)


def test_the_same_receipt_renders_to_the_same_bytes() -> None:
    assert _render(question_reply("ar")) == _render(question_reply("ar"))


@pytest.mark.parametrize("lang", ["ar", "fa", "zh"])
def test_a_page_of_the_arabic_persian_and_chinese_receipt_is_kept_as_png(lang: str) -> None:
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "run scripts/setup --test: poppler-utils gives pdftoppm"
    ARTIFACTS.mkdir(exist_ok=True)
    source = ARTIFACTS / f"receipt-{lang}.pdf"
    reply = question_reply(lang).model_copy(
        update={"text": i18n.translate(lang, "receipt.checksum_note"), "submitted_at": datetime.now(UTC)}
    )
    source.write_bytes(_render(reply))
    subprocess.run(
        [
            pdftoppm,
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(source),
            str(ARTIFACTS / f"receipt-{lang}"),
        ],
        check=True,
        timeout=60,
    )
    png = ARTIFACTS / f"receipt-{lang}.png"
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 20_000


def test_only_the_fonts_of_the_scripts_on_the_receipt_are_loaded() -> None:
    view = messages.message_view("question")
    english = build_receipt(view, question_reply("en"), "RK-ABCD-EFGH", RECEIVED)
    assert families(english) == ("sans",)
    assert families(build_receipt(view, question_reply("ar"), "RK-ABCD-EFGH", RECEIVED)) == ("sans", "arabic")
    assert families(build_receipt(view, question_reply("zh"), "RK-ABCD-EFGH", RECEIVED)) == ("sans", "cjk")
    # A Chinese letter anywhere (here a file's original name in a German reply) brings its font.
    chinese_name = question_reply("de").model_copy(
        update={"files": tuple(f.model_copy(update={"original_name": "护照.pdf"}) for f in question_reply("de").files)}
    )
    german = build_receipt(view, chinese_name, "RK-ABCD-EFGH", RECEIVED)
    assert families(german) == ("sans", "cjk")
    assert "护照.pdf" in _text(render(german, FONTS, RECEIVED).pdf)
