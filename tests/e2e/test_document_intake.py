"""Issue #3 in the browser: phone photos normalised, pages combined, malware refused, hints shown."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pillow_heif
import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.e2e.portal_page import button, choose_files, field, fill, heading, next_step, uploaded
from tests.e2e.test_reply_flow import _link_for, _wait_for_reply
from tests.support import messages
from tests.support.clamd import ClamdProcess, eicar
from tests.support.portal_process import PortalProcess

pytestmark = pytest.mark.e2e
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def _start(page: Page, portal: PortalProcess, case_service: Any, reference: str) -> dict[str, Any]:
    created = messages.create(case_service, messages.message_in(reference=reference))
    page.goto(_link_for(portal, created))
    next_step(page, button(page, "overview.start"))
    return created


def _finish(page: Page) -> None:
    """Mark every remaining item as not available, then submit."""
    while not button(page, "review.submit").count():
        if field(page, "item.not_available").count() and not uploaded(page).count():
            field(page, "item.not_available").check()
            fill(field(page, "item.reason"), "Kommt später.")
        next_step(page)
    field(page, "review.declaration").check()
    button(page, "review.submit").click()
    expect(page.locator("#done-reference")).to_be_visible()


def _photo(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (1600, 1200)) -> Path:
    Image.new("RGB", size, colour).save(path, "JPEG", quality=90)
    return path


def _file_of(case_service: Any, reply: dict[str, Any], code: str) -> tuple[dict[str, Any], bytes]:
    (item,) = [i for i in reply["items"] if i["code"] == code]
    (file,) = item["files"]
    body = messages.authority_get(case_service, f"/api/v1/replies/{reply['id']}/files/{file['id']}").content
    return file, body


def test_iphone_heic_arrives_as_upright_jpeg_without_location(
    portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path
) -> None:
    created = _start(page, portal, case_service, "ABH-P-2026-000401")
    image = Image.new("RGB", (1200, 800), (240, 240, 235))
    image.paste((200, 0, 0), (0, 0, 100, 100))  # a red corner to check the rotation
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # the phone was held upright: rotate 90° clockwise to view
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 24.0, 0.0), 3: "E", 4: (13.0, 3.0, 0.0)})
    heif = pillow_heif.from_pillow(image)
    heic = tmp_path / "IMG_4711.HEIC"
    heif.save(str(heic), exif=exif.tobytes(), quality=90)

    choose_files(page, heic)
    row = uploaded(page)
    expect(row).to_contain_text("JPG")
    expect(row.locator("img.thumb")).to_be_visible()
    _finish(page)

    reply = _wait_for_reply(case_service, created["id"])
    meta, body = _file_of(case_service, reply, "health_insurance")
    assert meta["media_type"] == "image/jpeg" and meta["name"].endswith(".jpg")
    assert meta["original_name"] == "IMG_4711.HEIC"
    delivered = Image.open(io.BytesIO(body))
    assert delivered.size == (800, 1200), "orientation applied"
    assert delivered.getpixel((delivered.width - 20, 20))[0] > 150, "the red corner is now top right"
    assert not delivered.getexif().get_ifd(GPS_IFD) and b"GPS" not in body


def test_photos_of_one_document_are_put_in_order_and_combined(
    portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path
) -> None:
    created = _start(page, portal, case_service, "ABH-P-2026-000402")
    field(page, "item.not_available").check()
    fill(field(page, "item.reason"), "Kommt später.")
    next_step(page)
    expect(heading(page)).to_contain_text("Arbeitsvertrag")
    colours = {"seite-2.jpg": (0, 160, 0), "seite-3.jpg": (0, 0, 160), "seite-1.jpg": (160, 0, 0)}
    paths = [_photo(tmp_path / name, colour) for name, colour in colours.items()]
    choose_files(page, *paths)
    rows = uploaded(page)
    expect(rows).to_have_count(3)
    # Page 1 was picked last: move it up twice.
    page.get_by_role("button", name="↑ Nach oben: seite-1.jpg").click()
    expect(rows.nth(1)).to_contain_text("seite-1.jpg")
    page.get_by_role("button", name="↑ Nach oben: seite-1.jpg").click()
    expect(rows.first).to_contain_text("seite-1.jpg")
    button(page, "upload.merge").click()
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("3 Seiten")
    _finish(page)

    reply = _wait_for_reply(case_service, created["id"])
    meta, body = _file_of(case_service, reply, "employment_contract")
    assert meta["media_type"] == "application/pdf" and meta["pages"] == 3
    assert meta["name"] == "Arbeitsvertrag_ABH-P-2026-000402_1.pdf"
    reader = PdfReader(io.BytesIO(body))
    dominant = []
    for pdf_page in reader.pages:
        (img,) = pdf_page.images
        r, g, b = img.image.convert("RGB").resize((1, 1)).getpixel((0, 0))
        dominant.append(max(range(3), key=lambda c: (r, g, b)[c]))
    assert dominant == [0, 1, 2], "red, green, blue: the order the applicant set"


def test_malware_is_refused_and_a_down_scanner_waves_nothing_through(
    portal: PortalProcess, case_service: Any, clamd: ClamdProcess, page: Page, tmp_path: Path
) -> None:
    _start(page, portal, case_service, "ABH-P-2026-000403")
    infected = tmp_path / "Versicherung.pdf"
    infected.write_bytes(eicar())
    choose_files(page, infected)
    expect(page.locator("#upload-errors")).to_contain_text("Schadsoftware")
    expect(uploaded(page)).to_have_count(0)

    clean = _photo(tmp_path / "scan.jpg", (250, 250, 250))
    clamd.stop()
    try:
        choose_files(page, clean)
        expect(page.locator("#upload-errors")).to_contain_text("noch einmal")
        expect(uploaded(page)).to_have_count(0)
    finally:
        clamd.start()
    # The same file again, as an applicant does after "try again in a few minutes".
    choose_files(page, clean)
    expect(uploaded(page)).to_have_count(1)
    expect(page.locator("#upload-errors")).to_have_count(0)


def test_dark_photo_gets_a_hint_but_can_be_sent(
    portal: PortalProcess, case_service: Any, page: Page, tmp_path: Path
) -> None:
    created = _start(page, portal, case_service, "ABH-P-2026-000404")
    dark = _photo(tmp_path / "dunkel.jpg", (12, 12, 14), size=(2000, 1500))
    choose_files(page, dark)
    expect(page.locator(".file-hint", has_text="sehr dunkel")).to_be_visible()
    _finish(page)
    reply = _wait_for_reply(case_service, created["id"])
    meta, _ = _file_of(case_service, reply, "health_insurance")
    assert meta["media_type"] == "image/jpeg"
