"""What a page shows of a request, in German, English and Arabic (right to left): from real domain
objects (a ``MessageView`` as the case service sends it, a ``Draft``, stored uploads)."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from portal import presenter
from portal.domain import catalogue, i18n
from portal.domain.draft import Draft, ExtraDraft, ItemDraft, Problem
from portal.domain.message import MessageView
from portal.domain.uploads import StoredUpload
from tests.support import messages

TODAY = messages.T0.date()  # 1 December 2026; the question's deadline is 22 December
NBSP = "\u00a0"


def _draft_for(msg: MessageView) -> Draft:
    return Draft(items=[ItemDraft(item_id=i.id, code=i.code, required=i.required) for i in msg.requested_items])


def _upload(
    tmp_path: Path, name: str, media_type: str, *, size: int = 2_000, pages: int = 1, **more: object
) -> StoredUpload:
    extension = "jpg" if media_type == "image/jpeg" else "pdf"
    return StoredUpload(
        id=name,
        media_type=media_type,
        extension=extension,
        size=size,
        sha512="0" * 128,
        pages=pages,
        original_name=f"{name}.{extension}",
        **more,  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------ the request


@pytest.mark.parametrize(
    ("lang", "kind_label", "sent", "deadline", "days_left", "submitted"),
    [
        (
            "de",
            "Rückfrage zu Ihrem Antrag",
            "1. Dezember 2026, 10:00",
            "22. Dezember 2026",
            "in 21 Tagen",
            "5. November 2026",
        ),
        (
            "en",
            "Question about your application",
            "December 1, 2026, 10:00\u202fAM",
            "December 22, 2026",
            "in 21 days",
            "November 5, 2026",
        ),
        (
            "ar",
            "استفسار بشأن طلبكم",
            "1 ديسمبر 2026، 10:00 ص",
            "22 ديسمبر 2026",
            "تنتهي المهلة خلال 21 يومًا",
            "5 نوفمبر 2026",
        ),
    ],
)
def test_a_question_in_the_applicants_language(
    lang: str, kind_label: str, sent: str, deadline: str, days_left: str, submitted: str
) -> None:
    view = presenter.message_display(messages.message_view(), lang, TODAY)
    assert view.kind == "question" and view.kind_label == kind_label
    # Sent at 09:00 UTC: shown at the authority's wall-clock time (10:00 in Berlin in winter).
    assert view.sent == sent
    assert view.deadline == deadline
    assert days_left in view.days_left
    assert view.answerable
    # The authority's own words stay German in every language; only the frame is translated.
    assert view.subject == "Rückfrage zu Ihrem Antrag auf Erteilung einer Blauen Karte EU"
    assert view.reference == messages.REFERENCE and view.applicant_name == messages.APPLICANT
    assert view.authority_name == messages.AUTHORITY["name"] and view.phone == messages.AUTHORITY["phone"]
    assert view.submitted_on == submitted
    assert [(d.title, d.submitted_on) for d in view.submitted_documents] == [("Reisepass", submitted)]


def test_the_glossary_explains_the_authoritys_terms() -> None:
    german = presenter.message_display(messages.message_view(), "de", TODAY).glossary
    # In German the term is its own translation: shown once.
    assert [(g.german, g.term) for g in german] == [("Blaue Karte EU", ""), ("Antrag", "")]
    english = presenter.message_display(messages.message_view(), "en", TODAY).glossary
    assert [(g.german, g.term) for g in english] == [("Blaue Karte EU", "EU Blue Card"), ("Antrag", "application")]
    arabic = presenter.message_display(messages.message_view(), "ar", TODAY).glossary
    assert arabic[0].term == i18n.glossary("ar")["blaue_karte"]["term"] and arabic[0].explanation


@pytest.mark.parametrize(
    ("lang", "when"),
    [
        ("de", "15. Dezember 2026, 09:30 bis 10:00 Uhr"),
        ("en", "December 15, 2026, 9:30\u202fAM to 10:00\u202fAM"),
        ("ar", "15 ديسمبر 2026، من الساعة 9:30 ص إلى الساعة 10:00 ص"),
    ],
)
def test_an_appointment_says_when_where_and_what_to_bring(lang: str, when: str) -> None:
    view = presenter.message_display(messages.message_view("appointment"), lang, TODAY)
    assert view.appointment_when == when
    assert view.appointment_place == "Friedrich-Ebert-Straße 79/81, Raum 1.043"
    assert view.appointment_bring == "Reisepass"
    assert view.answerable


def test_a_status_note_has_no_deadline_and_nothing_to_answer() -> None:
    earlier = {"id": "m0", "kind": "question", "subject": "Rückfrage", "sent_at": messages.T0 - timedelta(days=30)}
    answered = {"reply_id": "r0", "received_at": messages.T0 - timedelta(days=20)}
    msg = messages.message_view("status", history=[{**earlier, "reply": answered}])
    view = presenter.message_display(msg, "de", TODAY)
    assert (view.deadline, view.days_left, view.answerable) == ("", "", False)
    assert view.appointment_when == "" and view.responsible_name == ""
    (entry,) = view.history
    assert entry.subject == "Rückfrage"
    assert entry.sent == "1. November 2026, 10:00" and entry.answered == "11. November 2026, 10:00"


def test_not_responsible_names_the_authority_that_is() -> None:
    responsible = {"name": "Landkreis Potsdam-Mittelmark", "phone": "+49 33841 91-0", "website": "https://example.org"}
    view = presenter.message_display(
        messages.message_view("not_responsible", responsible_authority=responsible), "en", TODAY
    )
    assert view.responsible_name == "Landkreis Potsdam-Mittelmark"
    # Only the ways of contact it has, one a line; the website is a link of its own.
    assert view.responsible_contact == "+49 33841 91-0"
    assert view.responsible_website == "https://example.org"
    # An address that is no web page never becomes a link.
    odd = {**responsible, "website": "javascript:alert(1)"}
    view = presenter.message_display(messages.message_view("not_responsible", responsible_authority=odd), "en", TODAY)
    assert view.responsible_website == "" and view.responsible_contact.endswith("javascript:alert(1)")
    assert not view.answerable


# ------------------------------------------------------------------ deadlines and times


@pytest.mark.parametrize(
    ("lang", "in_five_days", "today", "passed"),
    [
        ("de", "in 5 Tagen", "heute", "abgelaufen"),
        ("en", "in 5 days", "today", "passed"),
        ("ar", "خلال 5 أيام", "اليوم", "انتهت"),
    ],
)
def test_days_left(lang: str, in_five_days: str, today: str, passed: str) -> None:
    assert presenter.days_left_text(None, TODAY, lang) == ""
    assert in_five_days in presenter.days_left_text(TODAY + timedelta(days=5), TODAY, lang)
    assert presenter.days_left_text(TODAY, TODAY, lang) == i18n.translate(lang, "deadline.today")
    assert today in presenter.days_left_text(TODAY, TODAY, lang).lower()
    assert presenter.days_left_text(TODAY - timedelta(days=1), TODAY, lang) == i18n.translate(lang, "deadline.passed")
    assert passed in presenter.days_left_text(TODAY - timedelta(days=1), TODAY, lang).lower()


def test_format_when_shows_the_authoritys_wall_clock() -> None:
    assert presenter.format_when(None, "de") == ""
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # 14:00 in Berlin (summer time)
    assert presenter.format_when(summer, "de") == "1. Juli 2026, 14:00"
    assert presenter.format_when(summer, "en") == "July 1, 2026, 2:00\u202fPM"
    assert presenter.format_when(summer, "ar") == "1 يوليو 2026، 2:00 م"


# ------------------------------------------------------------------ the items and their files


@pytest.mark.parametrize(
    ("lang", "counters"),
    [
        ("de", ["Nachweis 1 / 3", "Nachweis 2 / 3", "Nachweis 3 / 3"]),
        ("en", ["Document 1 / 3", "Document 2 / 3", "Document 3 / 3"]),
        ("ar", ["مستند الإثبات 1 / 3", "مستند الإثبات 2 / 3", "مستند الإثبات 3 / 3"]),
    ],
)
def test_each_item_knows_where_it_stands(lang: str, counters: list[str]) -> None:
    msg = messages.message_view()
    items = presenter.items_display(msg, _draft_for(msg), {}, [], lang)
    assert [i.counter for i in items] == counters
    assert [(i.index, i.id, i.code) for i in items] == [
        (0, "item-1", "health_insurance"),
        (1, "item-2", "employment_contract"),
        (2, "item-3", "payslips"),
    ]
    assert [i.badge for i in items] == [i18n.translate(lang, f"item.{b}") for b in ("required", "required", "optional")]
    assert [i.required for i in items] == [True, True, False]
    assert all(i.status == i18n.translate(lang, "item.status.open") and not i.files for i in items)
    assert items[0].title == i18n.translate(lang, "catalogue.health_insurance.title")
    assert items[0].title_de == catalogue.entry("health_insurance").title_de
    assert items[0].note == "Mitgliedsbescheinigung"
    assert items[0].guidance == i18n.translate(lang, "catalogue.health_insurance.guidance")


def test_an_item_with_photos_files_not_available_and_problems(tmp_path: Path) -> None:
    msg = messages.message_view()
    draft = _draft_for(msg)
    thumb = b"\xff\xd8 a small jpeg"
    uploads = {
        "p1": _upload(tmp_path, "p1", "image/jpeg", size=1_234_567, thumbnail=thumb, quality=("dark",)),
        "p2": _upload(tmp_path, "p2", "image/jpeg", size=830),
        "scan": _upload(tmp_path, "scan", "application/pdf", size=12_500, pages=3),
    }
    draft.items[0].files = ["p1", "p2"]
    draft.items[1].files = ["scan", "gone"]  # an id whose file is no longer there is left out
    draft.items[2].not_available = True
    draft.items[2].reason = "Kommt Ende des Monats"
    draft.items[2].expected_date = date(2026, 12, 31)
    problems = [Problem("item-2", "item_missing"), Problem("text", "text_too_long")]

    first, second, third = presenter.items_display(msg, draft, uploads, problems, "de")
    assert first.status == "2 Dateien hochgeladen" and second.status == "1 Datei hochgeladen"
    assert third.status == "kann ich jetzt nicht einreichen"
    assert (third.not_available, third.reason, third.expected_date) == (True, "Kommt Ende des Monats", "2026-12-31")
    # Two photos can become one PDF; a single PDF cannot.
    assert first.can_merge and not second.can_merge
    photo, small = first.files
    assert (photo.name, photo.size, photo.is_image, photo.first, photo.last) == (
        "p1.jpg",
        f"1,2{NBSP}MB",
        True,
        True,
        False,
    )
    assert photo.thumbnail == "data:image/jpeg;base64," + base64.b64encode(thumb).decode()
    assert photo.hints == [i18n.translate("de", "hint.dark")]
    assert (small.size, small.thumbnail, small.first, small.last) == (f"830{NBSP}Byte", "", False, True)
    (scan,) = second.files
    assert (scan.kind, scan.pages, scan.size) == (i18n.translate("de", "filetype.pdf"), "3 Seiten", f"12,5{NBSP}kB")
    # Each item shows its own problems only.
    assert second.errors == [i18n.translate("de", "error.item_missing")] and first.errors == third.errors == []

    english = presenter.items_display(msg, draft, uploads, problems, "en")
    assert [i.status for i in english] == ["2 files uploaded", "1 file uploaded", "I cannot submit this now"]
    assert english[0].files[0].size == f"1.2{NBSP}MB" and english[1].files[0].pages == "3 pages"
    arabic = presenter.items_display(msg, draft, uploads, problems, "ar")
    assert arabic[0].status == "تم رفع 2 ملفين" and arabic[1].status == "تم رفع 1 ملف"


# ------------------------------------------------------------------ further documents and problems


@pytest.mark.parametrize(
    ("lang", "one", "two"),
    [
        ("de", "Meldebescheinigung: 1 Datei", "Lebenslauf: 2 Dateien"),
        ("en", "Registration certificate: 1 file", "CV (curriculum vitae): 2 files"),
        ("ar", "شهادة تسجيل السكن: 1 ملف", "السيرة الذاتية: 2 ملفان"),
    ],
)
def test_further_documents_count_their_files_in_whole_phrases(tmp_path: Path, lang: str, one: str, two: str) -> None:
    uploads = {n: _upload(tmp_path, n, "application/pdf") for n in ("a", "b", "c")}
    draft = Draft(
        extras=[
            ExtraDraft("registration_certificate", "vom Bürgeramt", ["a"]),
            ExtraDraft("cv", "", ["b", "c"]),
        ]
    )
    first, second = presenter.extras_display(draft, uploads, lang)
    assert (first.index, first.description, [f.id for f in first.files]) == (0, "vom Bürgeramt", ["a"])
    assert first.title == i18n.translate(lang, "catalogue.registration_certificate.title")
    assert (first.summary, second.summary) == (one, two)


def test_problems_are_sentences_that_name_their_field() -> None:
    problems = [Problem("item-1", "item_missing"), Problem("declaration", "declaration_missing")]
    for lang in ("de", "en", "ar"):
        shown = presenter.problems_display(problems, lang)
        assert [p.field for p in shown] == ["item-1", "declaration"]
        assert [p.message for p in shown] == [
            i18n.translate(lang, "error.item_missing"),
            i18n.translate(lang, "error.declaration_missing"),
        ]
    assert presenter.problems_display(problems, "de")[0].message.startswith("Laden Sie diesen Nachweis hoch")


def test_extra_code_options_are_the_further_documents_by_name() -> None:
    german, english, arabic = (presenter.extra_code_options(lang) for lang in ("de", "en", "ar"))
    assert [o["code"] for o in german] == [str(c) for c in catalogue.EXTRA_CODES]
    assert [o["code"] for o in english] == [o["code"] for o in arabic] == [o["code"] for o in german]
    assert {"code": "registration_certificate", "name": "Meldebescheinigung"} in german
    assert {"code": "registration_certificate", "name": "Registration certificate"} in english
    assert all(o["name"] and o["name"] != e["name"] for o, e in zip(arabic, english, strict=True))


def test_an_appointment_just_after_midnight_is_on_the_berlin_day() -> None:
    # 23:30 UTC on 14 December is 00:30 on 15 December in Berlin: the page and the calendar agree.
    msg = messages.message_view("appointment")
    assert msg.appointment is not None
    late = datetime(2026, 12, 14, 23, 30, tzinfo=UTC)
    moved = msg.model_copy(
        update={
            "appointment": msg.appointment.model_copy(update={"starts_at": late, "ends_at": late + timedelta(hours=1)})
        }
    )
    view = presenter.message_display(moved, "de", TODAY)
    assert view.appointment_when == "15. Dezember 2026, 00:30 bis 01:30 Uhr"
