from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from casesvc.demo import DEMO_DIR, DEMO_FILES, HISTORY_FILES, OFFICE_DAYS, load_message_file
from casesvc.schemas import MessageKind
from casesvc.settings import CaseServiceSettings

# A Friday: deadlines that land on a weekend must move to Monday.
NOW = datetime(2026, 6, 5, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("name", HISTORY_FILES + DEMO_FILES)
def test_demo_files_are_valid_and_relative_to_today(name: str, settings: CaseServiceSettings) -> None:
    message = load_message_file(DEMO_DIR / name, NOW, settings)
    assert message.authority.name == "Landeshauptstadt Potsdam, Ausländerbehörde"
    assert "Friedrich-Ebert-Straße 79/81" in message.authority.address
    assert message.case.submitted_on < NOW.date()
    assert message.sent_at is not None and message.sent_at <= NOW
    if message.deadline is not None:
        assert message.deadline > NOW.date() and message.deadline.weekday() < 5
    if message.appointment is not None:
        assert message.appointment.starts_at.weekday() in OFFICE_DAYS
        assert message.appointment.starts_at.date() > message.deadline  # type: ignore[operator]
        assert message.appointment.ends_at - message.appointment.starts_at == timedelta(minutes=30)


def test_one_demo_message_per_kind_and_three_languages(settings: CaseServiceSettings) -> None:
    messages = [load_message_file(DEMO_DIR / name, NOW, settings) for name in DEMO_FILES]
    assert {m.kind for m in messages} == set(MessageKind)
    assert {"en", "ar", "de"} <= {m.case.preferred_language for m in messages}
    question = next(m for m in messages if m.kind is MessageKind.question)
    assert [i.code for i in question.requested_items] == ["health_insurance", "employment_contract", "payslips"]
    assert all(i.note for i in question.requested_items)
    refusal = next(m for m in messages if m.kind is MessageKind.intent_to_refuse)
    assert "§ 28" in refusal.body and [i.code for i in refusal.requested_items] == ["proof_of_funds"]


def test_history_message_belongs_to_the_question_case() -> None:
    earlier = json.loads((DEMO_DIR / HISTORY_FILES[0]).read_text(encoding="utf-8"))
    question = json.loads((DEMO_DIR / DEMO_FILES[0]).read_text(encoding="utf-8"))
    assert earlier["message"]["case"]["reference"] == question["message"]["case"]["reference"]
    assert earlier["relative"]["sent_days_ago"] > question["relative"]["sent_days_ago"]
