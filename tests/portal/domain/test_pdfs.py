from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from portal.domain import pdfs
from portal.domain.errors import IntakeError
from portal.domain.inspection import Inspection
from portal.domain.limits import Limits

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
