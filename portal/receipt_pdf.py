"""Lays a receipt (``portal.domain.receipt``) out as a PDF with fpdf2: A4, one section per language.

Text is shaped by HarfBuzz (fpdf2's text shaping through ``uharfbuzz``): Arabic and Persian are
joined and run right to left, each paragraph taking its direction from its first strong letter,
so a Latin file name inside an Arabic section stays readable. The fonts come from Debian
packages (``scripts/setup``): Noto Sans (Latin, Cyrillic, Vietnamese), Noto Sans Arabic (Arabic
and Persian) and Droid Sans Fallback (Chinese); each is the fallback of the others, so a Chinese
file name in the German section still shows. Only the glyphs used are embedded (fpdf2 subsets),
which keeps a receipt at some tens of kilobytes.

Rendering is CPU work of a few hundred milliseconds: callers on an event loop run it in a thread.
The same document in gives the same bytes out (the creation date is the time received).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from portal.domain.receipt import Block, Field, ReceiptDocument, Section, texts

# Relative to the font folder (``PORTAL_RECEIPT_FONTS_DIR``, Debian's /usr/share/fonts/truetype).
FONT_FILES: dict[str, dict[str, str]] = {
    "sans": {"": "noto/NotoSans-Regular.ttf", "B": "noto/NotoSans-Bold.ttf"},
    "arabic": {"": "noto/NotoSansArabic-Regular.ttf", "B": "noto/NotoSansArabic-Bold.ttf"},
    # One weight only (headings in Chinese are set larger instead of bold), parsed once per pass.
    "cjk": {"": "droid/DroidSansFallbackFull.ttf"},
}
FAMILY_BY_LANGUAGE = {"ar": "arabic", "fa": "arabic", "zh": "cjk"}
FALLBACKS = ("sans", "arabic", "cjk")
# The code points each family beyond "sans" is loaded for. Parsing Droid Sans Fallback costs
# about 0.2 s of CPU per pass, so a receipt without a Chinese letter does without it.
_SCRIPTS: dict[str, tuple[tuple[int, int], ...]] = {
    "arabic": ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)),
    "cjk": ((0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF), (0x20000, 0x3FFFF)),
}

MARGIN = 18.0  # mm
BODY = 10.0  # pt
LABEL = 8.5
HASH = 6.5  # a SHA-512 (128 hex digits) fits one line of the A4 text width
HEADINGS = {1: 13.0, 2: 11.0, 3: 10.0}
LABEL_WIDTH = 52.0  # mm: the label column beside each value
INK = (20, 20, 20)
MUTED = (70, 70, 70)  # labels: 9.7:1 on white
RULE = (120, 120, 120)


class ReceiptFontsMissing(RuntimeError):
    """A font file of the receipt is not installed (``scripts/setup`` installs them)."""


def missing_fonts(fonts_dir: Path) -> list[str]:
    """The font files the receipt needs that ``fonts_dir`` lacks (empty when all are there)."""
    return sorted(
        {name for styles in FONT_FILES.values() for name in styles.values() if not (fonts_dir / name).is_file()}
    )


@dataclass(frozen=True, slots=True)
class RenderedReceipt:
    pdf: bytes
    pages: int


def render(document: ReceiptDocument, fonts_dir: Path, created: datetime) -> RenderedReceipt:
    """The receipt as a PDF. Raises ``ReceiptFontsMissing`` when a font file is missing."""
    missing = missing_fonts(fonts_dir)
    if missing:
        raise ReceiptFontsMissing(", ".join(missing))
    # Twice: the footer says "page n of m", and m is known once the first pass has laid it out.
    # (fpdf2's page-count alias is not replaced inside shaped text.)
    with _closing(_layout(document, fonts_dir, created, total=0)) as first:
        pages = first.pages_count
    with _closing(_layout(document, fonts_dir, created, total=pages)) as final:
        return RenderedReceipt(bytes(final.output()), pages)


@contextlib.contextmanager
def _closing(pdf: _ReceiptPdf) -> Iterator[_ReceiptPdf]:
    # fontTools reads the font files lazily and keeps them open: close them with the document.
    try:
        yield pdf
    finally:
        for font in pdf.fonts.values():
            ttfont = getattr(font, "ttfont", None)
            if ttfont is not None:
                ttfont.close()


@dataclass
class _Footer:
    text: str = ""
    family: str = "sans"
    align: Align = Align.L


class _ReceiptPdf(FPDF):
    def __init__(self, total: int) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.total = total
        self.current = _Footer()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.current.family, "", 8)
        self.set_text_color(*MUTED)
        text = self.current.text.replace("{page}", str(self.page_no())).replace("{pages}", str(self.total or ""))
        self.cell(0, 5, text, align=self.current.align)


def families(document: ReceiptDocument) -> tuple[str, ...]:
    """The font families ``document`` needs: "sans" always, the others for the scripts in it."""
    needed = {"sans"} | {FAMILY_BY_LANGUAGE.get(section.lang, "sans") for section in document.sections}
    for text in texts(document):
        for char in text:
            code = ord(char)
            if code < 0x0600:
                continue
            needed.update(f for f, ranges in _SCRIPTS.items() if any(lo <= code <= hi for lo, hi in ranges))
    return tuple(f for f in FALLBACKS if f in needed)


def _layout(document: ReceiptDocument, fonts_dir: Path, created: datetime, total: int) -> _ReceiptPdf:
    pdf = _ReceiptPdf(total)
    loaded = families(document)
    for family in loaded:
        for style, name in FONT_FILES[family].items():
            pdf.add_font(family, style, str(fonts_dir / name))
    pdf.set_fallback_fonts(list(loaded), exact_match=False)
    pdf.set_text_shaping(True)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(document.title + " " + document.reference)
    pdf.set_lang(document.sections[0].lang if document.sections else "de")
    pdf.set_creation_date(created)
    pdf.set_creator("Rückkanal-Portal")
    for section in document.sections:
        _section(pdf, section)
    return pdf


def _section(pdf: _ReceiptPdf, section: Section) -> None:
    family = FAMILY_BY_LANGUAGE.get(section.lang, "sans")
    align = Align.R if section.direction == "rtl" else Align.L
    pdf.add_page()
    # After add_page: it closes the previous page with that page's (the previous section's) footer.
    pdf.current = _Footer(section.footer, family, align)
    pdf.set_text_color(*INK)
    _font(pdf, family, "B", 18)
    _paragraph(pdf, section.title, 9, align)
    pdf.ln(2)
    pdf.set_font(family, "", BODY)
    for line in section.intro:
        _paragraph(pdf, line, 5.2, align)
        pdf.ln(1.5)
    for block in section.blocks:
        _block(pdf, block, family, align)


def _block(pdf: _ReceiptPdf, block: Block, family: str, align: Align) -> None:
    size = HEADINGS.get(block.level, BODY)
    # A heading never ends a page alone: start the next page unless a few lines fit below it
    # (a part's heading is followed by its first item's heading and facts).
    if pdf.will_page_break(size * 0.5 + (34 if block.level == 1 else 18)):
        pdf.add_page()
    pdf.ln(4 if block.level == 1 else 2.5)
    pdf.set_text_color(*INK)
    _font(pdf, family, "B", size)
    _paragraph(pdf, block.heading, size * 0.5, align)
    if block.level == 1:
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.3)
        pdf.line(pdf.l_margin, pdf.get_y() + 0.8, pdf.w - pdf.r_margin, pdf.get_y() + 0.8)
        pdf.ln(2)
    for field in block.fields:
        _field(pdf, field, family, align)


def _field(pdf: _ReceiptPdf, field: Field, family: str, align: Align) -> None:
    is_hash = field.fixed and len(field.value) == 128 and all(c in "0123456789abcdef" for c in field.value)
    if not field.label or is_hash:
        # Stacked: a text of its own, or a SHA-512 that needs the whole width for one line.
        if field.label:
            _label(pdf, field.label, family, align, pdf.epw)
        _value(pdf, field, family, align, pdf.epw, HASH if is_hash else BODY)
        pdf.ln(1.2)
        return
    # Label and value side by side (mirrored right to left): the label column first, then the
    # value beside it, and the next field below the taller of the two.
    value_width = pdf.epw - LABEL_WIDTH
    _font(pdf, family, "", BODY)
    needed = pdf.multi_cell(value_width, 5.0, field.value or " ", dry_run=True, output="HEIGHT")
    if pdf.will_page_break(needed if isinstance(needed, float) else 12.0):
        pdf.add_page()
    top = pdf.get_y()
    rtl = align is Align.R
    pdf.set_x(pdf.l_margin + value_width if rtl else pdf.l_margin)
    _label(pdf, field.label, family, align, LABEL_WIDTH)
    below_label = pdf.get_y()
    pdf.set_xy(pdf.l_margin if rtl else pdf.l_margin + LABEL_WIDTH, top)
    _value(pdf, field, family, align, value_width, BODY)
    pdf.set_y(max(below_label, pdf.get_y()) + 1.2)


def _label(pdf: _ReceiptPdf, label: str, family: str, align: Align, width: float) -> None:
    pdf.set_text_color(*MUTED)
    _font(pdf, family, "B", LABEL)
    x = pdf.get_x()
    pdf.set_y(pdf.get_y() + 0.6)  # the small label's baseline near the value's
    pdf.set_x(x)
    pdf.multi_cell(width, 4.4, label, align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)


def _value(pdf: _ReceiptPdf, field: Field, family: str, align: Align, width: float, size: float) -> None:
    pdf.set_text_color(*INK)
    _font(pdf, family, "", size)
    forced = field.fixed and field.value.isascii()
    if forced:
        # Codes (file names, references, hashes) read left to right in every section: a name
        # ending in ".pdf" would otherwise be reordered in an Arabic paragraph. A name in another
        # script keeps the direction of its first letter (fpdf2 mirrors brackets wrongly when a
        # right-to-left run sits in a forced left-to-right paragraph).
        pdf.set_text_shaping(True, direction="ltr")
    x = pdf.get_x()
    for line in field.value.splitlines() or [""]:
        pdf.set_x(x)
        pdf.multi_cell(width, 3.4 if size == HASH else 5.0, line, align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)
    if forced:
        pdf.set_text_shaping(True)


def _font(pdf: _ReceiptPdf, family: str, style: str, size: float) -> None:
    pdf.set_font(family, style if style in FONT_FILES[family] else "", size)


def _paragraph(pdf: _ReceiptPdf, text: str, height: float, align: Align) -> None:
    # WORD wrap breaks a word longer than the line (a long file name) inside the word.
    pdf.multi_cell(0, height, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
