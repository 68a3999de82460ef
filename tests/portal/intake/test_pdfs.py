from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from portal.domain.errors import IntakeError
from portal.intake import pdfs
from portal.intake.inspection import Inspection
from portal.intake.limits import Limits
from tests.fixtures import bombs

LIMITS = Limits()
PDF = Inspection("application/pdf", "pdf", 1)
ACTIVE = (b"/JavaScript", b"/JS", b"/OpenAction", b"/AA", b"/EmbeddedFiles", b"/Launch", b"/XFA", b"app.alert")


def sanitised(source: Path, tmp_path: Path) -> tuple[Path, Inspection]:
    path = tmp_path / ("work-" + source.name)
    shutil.copyfile(source, path)
    return path, pdfs.sanitise_pdf(path, PDF, LIMITS)


def test_javascript_is_removed(corpus: dict[str, Path], tmp_path: Path) -> None:
    assert b"/JavaScript" in corpus["javascript.pdf"].read_bytes()
    path, found = sanitised(corpus["javascript.pdf"], tmp_path)
    assert found.notes == ("pdf_javascript_removed",)
    data = path.read_bytes()
    for needle in ACTIVE:
        assert needle not in data
    reader = PdfReader(path)
    root: Any = reader.root_object
    assert "/OpenAction" not in root
    assert "/JavaScript" not in root["/Names"]
    page: Any = reader.pages[0]
    assert "/AA" not in page
    # The web link stays: a person must click it, and the viewer shows where it leads. The
    # script link stays a rectangle without an action.
    actions = [a.get_object().get("/A") for a in page["/Annots"]]
    assert actions[0] is None and actions[1]["/S"] == "/URI"
    assert pdfs.check_pdf(path, LIMITS) == 1


def test_attachments_are_removed(corpus: dict[str, Path], tmp_path: Path) -> None:
    path, found = sanitised(corpus["attachment.pdf"], tmp_path)
    assert found.notes == ("pdf_attachments_removed",)
    data = path.read_bytes()
    assert b"/EmbeddedFiles" not in data and b"not really a program" not in data


def test_launch_actions_and_xfa_are_removed(corpus: dict[str, Path], tmp_path: Path) -> None:
    path, found = sanitised(corpus["launch_xfa.pdf"], tmp_path)
    assert found.notes == ("pdf_actions_removed", "pdf_xfa_removed")
    data = path.read_bytes()
    assert b"/Launch" not in data and b"/XFA" not in data and b"cmd.exe" not in data
    page: Any = PdfReader(path).pages[0]
    assert "/A" not in page["/Annots"][0].get_object()


@pytest.mark.parametrize("name", ["blank.pdf", "three_pages.pdf", "owner_password_only.pdf"])
def test_a_clean_pdf_is_untouched_byte_for_byte(name: str, corpus: dict[str, Path], tmp_path: Path) -> None:
    path, found = sanitised(corpus[name], tmp_path)
    assert found is PDF
    assert path.read_bytes() == corpus[name].read_bytes()


def test_an_owner_password_pdf_with_scripts_is_saved_unencrypted(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )
    writer.encrypt("", "owner", algorithm="RC4-128")
    source = tmp_path / "payslip.pdf"
    with source.open("wb") as fh:
        writer.write(fh)
    path, found = sanitised(source, tmp_path)
    assert found.notes == ("pdf_javascript_removed",)
    reader = PdfReader(path)
    assert not reader.is_encrypted
    assert "/OpenAction" not in reader.root_object


def test_a_page_destination_open_action_is_kept(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_blank_page(width=595, height=842)
    writer.open_destination = writer.pages[1]  # "open at page 2": navigation, not an action
    source = tmp_path / "dest.pdf"
    buf = io.BytesIO()
    writer.write(buf)
    source.write_bytes(buf.getvalue())
    path, found = sanitised(source, tmp_path)
    assert found is PDF and path.read_bytes() == buf.getvalue()


def test_a_cyclic_action_chain_does_not_hang(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    action = DictionaryObject({NameObject("/S"): NameObject("/URI"), NameObject("/URI"): TextStringObject("x")})
    ref = writer._add_object(action)
    action[NameObject("/Next")] = ref  # points at itself
    annot = DictionaryObject(
        {NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"), NameObject("/A"): ref}
    )
    writer.add_annotation(0, annot)
    source = tmp_path / "cycle.pdf"
    with source.open("wb") as fh:
        writer.write(fh)
    _, found = sanitised(source, tmp_path)
    assert found.notes == ("pdf_actions_removed",)  # a chain that never ends is not a link


def test_images_are_not_a_pdf_steps_business(corpus: dict[str, Path]) -> None:
    found = Inspection("image/jpeg", "jpg", 1)
    assert pdfs.sanitise_pdf(corpus["photo.jpg"], found, LIMITS) is found


@pytest.mark.parametrize(("name", "code"), [("truncated.pdf", "pdf_broken"), ("encrypted.pdf", "pdf_encrypted")])
def test_refusals(name: str, code: str, corpus: dict[str, Path]) -> None:
    with pytest.raises(IntakeError) as refused:
        pdfs.check_pdf(corpus[name], LIMITS)
    assert refused.value.code == code


# ---------------------------------------------------------------- decompression bombs


def written(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_content_over_the_limit_is_refused_before_rendering(tmp_path: Path) -> None:
    bomb = written(tmp_path, "page.pdf", bombs.pdf_content_bomb(4 * bombs.MIB))
    assert pdfs.check_pdf(bomb, Limits(max_pdf_content_bytes=4 * bombs.MIB)) == 1  # the limit itself is allowed
    with pytest.raises(IntakeError) as refused:
        pdfs.check_pdf(bomb, Limits(max_pdf_content_bytes=4 * bombs.MIB - 1))
    assert refused.value.code == "file_too_complex"


def test_an_image_over_the_pixel_limit_is_refused(tmp_path: Path) -> None:
    pdf = written(tmp_path, "image.pdf", bombs.pdf_image_bomb(side=1000))
    assert pdfs.check_pdf(pdf, Limits(max_image_pixels=1_000_000)) == 1
    with pytest.raises(IntakeError) as refused:
        pdfs.check_pdf(pdf, Limits(max_image_pixels=999_999))
    assert refused.value.code == "file_too_complex"


def test_an_object_stream_bomb_stops_pypdf_at_its_cap(tmp_path: Path) -> None:
    # Reading the page tree means inflating the object stream: pypdf stops at PYPDF_STREAM_LIMIT.
    pdf = written(tmp_path, "objstm.pdf", bombs.pdf_object_stream_bomb())
    for run in (lambda: pdfs.check_pdf(pdf, LIMITS), lambda: pdfs.sanitise_pdf(pdf, PDF, LIMITS)):
        with pytest.raises(IntakeError) as refused:
            run()
        assert refused.value.code == "file_too_complex"
    small = written(tmp_path, "small.pdf", bombs.pdf_object_stream_bomb(bombs.MIB))
    assert pdfs.check_pdf(small, LIMITS) == 1  # the same structure, within the cap, is a fine PDF
