"""What a receipt says, per language: every fact of the reply, in the applicant's language and German."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from portal.domain import i18n
from portal.domain.formatting import format_date_long, format_datetime
from portal.domain.outgoing import (
    AppointmentAnswer,
    ExtensionRequest,
    ExtraDocument,
    ItemAnswer,
    OutgoingFile,
    OutgoingReply,
)
from portal.domain.receipt import (
    ReceiptDocument,
    Section,
    build_receipt,
    document_from_json,
    document_to_json,
    file_name,
    receipt_languages,
)
from tests.support import messages

RECEIVED = datetime(2026, 12, 7, 23, 50, tzinfo=UTC)  # 00:50 on 8 December in Berlin


def _file(key: str, name: str, original: str) -> OutgoingFile:
    return OutgoingFile(
        key=key,
        name=name,
        original_name=original,
        media_type="application/pdf",
        size=1_234_567,
        pages=3,
        sha512=hashlib.sha512(key.encode()).hexdigest(),
        stored_as="0" * 32,
    )


FILES = (
    _file("f1", "Krankenversicherung_ABH-P-2026-004217_1.pdf", "Mitgliedsbescheinigung TK.pdf"),
    _file("f2", "Meldebescheinigung_ABH-P-2026-004217_1.pdf", "scan.pdf"),
)


def question_reply(lang: str) -> OutgoingReply:
    return OutgoingReply(
        submitted_at=RECEIVED,
        language=lang,
        text="Guten Tag, anbei die Unterlagen.",
        items=(
            ItemAnswer(item_id="item-1", status="provided", files=("f1",)),
            ItemAnswer(
                item_id="item-2",
                status="not_available",
                reason="Der Arbeitgeber stellt ihn erst nächste Woche aus.",
                expected_date=date(2026, 12, 20),
            ),
        ),
        extra_documents=(ExtraDocument(code="registration_certificate", description="vom Bürgeramt", files=("f2",)),),
        declaration=True,
        files=FILES,
    )


def _values(section: Section) -> list[str]:
    return [field.value for block in section.blocks for field in block.fields]


def _labels(section: Section) -> list[str]:
    return [block.heading for block in section.blocks] + [f.label for b in section.blocks for f in b.fields]


def test_a_reply_in_german_gets_german_only_any_other_language_and_german() -> None:
    assert receipt_languages("de") == ("de",)
    assert receipt_languages("en") == ("en", "de")
    assert receipt_languages("ar") == ("ar", "de")
    # Plain German is the applicant's own version; the authority reads the standard German one.
    assert receipt_languages("de-simple") == ("de-simple", "de")


@pytest.mark.parametrize("lang", i18n.available_languages())
def test_every_fact_of_the_reply_is_in_every_section(lang: str) -> None:
    message = messages.message_view("question")
    receipt = build_receipt(message, question_reply(lang), "RK-ABCD-EFGH", RECEIVED)
    assert isinstance(receipt, ReceiptDocument)
    assert [s.lang for s in receipt.sections] == list(receipt_languages(lang))
    assert receipt.file_name == file_name("RK-ABCD-EFGH") == "Eingangsbestaetigung_RK-ABCD-EFGH.pdf"
    for section in receipt.sections:
        values = _values(section)
        assert section.direction == i18n.text_direction(section.lang)
        assert "RK-ABCD-EFGH" in values and message.case.reference in values and message.subject in values
        for file in FILES:
            assert file.name in values and file.original_name in values and file.sha512 in values
        assert "Guten Tag, anbei die Unterlagen." in values
        assert "Der Arbeitgeber stellt ihn erst nächste Woche aus." in values
        assert "vom Bürgeramt" in values
        assert i18n.translate(section.lang, "review.declaration") in values
        assert i18n.translate(section.lang, "receipt.status_not_available") in values
        assert i18n.translate(section.lang, "request.reference") in _labels(section)
        # The time received is Berlin's (00:50 on the next day), in the section's language.
        assert any(v.startswith(format_datetime(RECEIVED, section.lang)) for v in values)
        assert format_datetime(RECEIVED, "de") == "8. Dezember 2026, 00:50"
        assert "{" not in " ".join(values + _labels(section) + list(section.intro))


def test_an_optional_item_left_open_and_the_appointment_answer_are_on_it() -> None:
    message = messages.message_view("question")
    reply = question_reply("en").model_copy(update={"items": question_reply("en").items[:1]})
    [en, _de] = build_receipt(message, reply, "RK-ABCD-EFGH", RECEIVED).sections
    assert i18n.translate("en", "receipt.status_open") in _values(en)

    appointment = messages.message_view("appointment")
    answer = AppointmentAnswer(answer="reschedule", reason="Dienstreise", suitable_times="dienstags ab 14 Uhr")
    reply = OutgoingReply(submitted_at=RECEIVED, language="en", appointment=answer, declaration=True)
    [en, de] = build_receipt(appointment, reply, "RK-ABCD-EFGH", RECEIVED).sections
    assert {i18n.translate("en", "appointment.reschedule"), "Dienstreise", "dienstags ab 14 Uhr"} <= set(_values(en))
    assert i18n.translate("de", "appointment.reschedule") in _values(de)


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_the_document_comes_back_whole_from_its_json(lang: str) -> None:
    document = build_receipt(messages.message_view("question"), question_reply(lang), "RK-ABCD-EFGH", RECEIVED)
    as_json = json.loads(json.dumps(document_to_json(document)))
    assert document_from_json(as_json) == document


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_request_for_more_time_is_on_it_as_a_request(lang: str) -> None:
    message = messages.message_view("question")
    assert message.deadline is not None
    asked = ExtensionRequest(until=message.deadline + timedelta(days=21), reason="Der Vertrag kommt erst im Januar.")
    reply = question_reply(lang).model_copy(update={"extension_request": asked})
    receipt = build_receipt(message, reply, "RK-ABCD-EFGH", RECEIVED)
    for section in receipt.sections:
        [block] = [b for b in section.blocks if b.heading == i18n.translate(section.lang, "receipt.extension")]
        values = [f.value for f in block.fields]
        until, deadline = format_date_long(asked.until, section.lang), format_date_long(message.deadline, section.lang)
        assert until in values and asked.reason in values
        # Said as a request: the deadline stands until the authority answers.
        assert i18n.translate(section.lang, "extension.summary", until=until, deadline=deadline) in values
    # Without a request, no such part.
    plain = build_receipt(message, question_reply(lang), "RK-ABCD-EFGH", RECEIVED)
    assert all(b.heading != i18n.translate(s.lang, "receipt.extension") for s in plain.sections for b in s.blocks)
