"""Demo messages with dates relative to today, so seeded links never expire.

A demo file is ``{"relative": {...}, "message": <MessageIn>}``; the ``relative`` block overrides the
message's dates: ``sent_days_ago``, ``deadline_in_days``, ``case_submitted_days_ago`` and
``appointment: {in_days, start: "HH:MM", minutes}``. A plain MessageIn file is taken as it is.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from casesvc.db import Database
from casesvc.schemas import MessageCreated, MessageIn, MessageKind
from casesvc.service import create_message
from casesvc.settings import CaseServiceSettings

DEMO_DIR = Path(__file__).parent / "demo"
DEMO_AUTHORITY = "abh-potsdam"
# Seeded first so the question shows an earlier message in its case history; not printed.
HISTORY_FILES = ("00-question-earlier.json",)
DEMO_FILES = (
    "01-question.json",
    "02-appointment.json",
    "03-intent_to_refuse.json",
    "04-status.json",
    "05-not_responsible.json",
)
OFFICE_DAYS = (1, 3)  # Tuesday and Thursday, the demo authority's opening days


def _working_day(day: date) -> date:
    # A deadline on a weekend runs to the next working day (§ 31 Abs. 3 VwVfG).
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _office_day(day: date) -> date:
    while day.weekday() not in OFFICE_DAYS:
        day += timedelta(days=1)
    return day


def materialize(document: dict[str, Any], now: datetime, settings: CaseServiceSettings) -> MessageIn:
    if "message" not in document:
        return MessageIn.model_validate(document)
    message: dict[str, Any] = json.loads(json.dumps(document["message"]))  # a deep copy
    relative: dict[str, Any] = document.get("relative", {})
    zone = settings.zone
    today = now.astimezone(zone).date()
    if "sent_days_ago" in relative:
        message["sent_at"] = (now - timedelta(days=relative["sent_days_ago"])).isoformat()
    if "deadline_in_days" in relative:
        message["deadline"] = _working_day(today + timedelta(days=relative["deadline_in_days"])).isoformat()
    if "case_submitted_days_ago" in relative:
        submitted = (today - timedelta(days=relative["case_submitted_days_ago"])).isoformat()
        message["case"]["submitted_on"] = submitted
        for doc in message["case"].get("submitted_documents", []):
            doc["submitted_on"] = submitted
    if "appointment" in relative:
        spec = relative["appointment"]
        day = _office_day(today + timedelta(days=spec["in_days"]))
        starts_at = datetime.combine(day, time.fromisoformat(spec["start"]), tzinfo=zone)
        message["appointment"]["starts_at"] = starts_at.isoformat()
        message["appointment"]["ends_at"] = (starts_at + timedelta(minutes=spec["minutes"])).isoformat()
    return MessageIn.model_validate(message)


def load_message_file(path: Path, now: datetime, settings: CaseServiceSettings) -> MessageIn:
    return materialize(json.loads(path.read_text(encoding="utf-8")), now, settings)


def seed_demo(
    db: Database, settings: CaseServiceSettings, now: datetime, authority_id: str = DEMO_AUTHORITY
) -> list[tuple[MessageKind, MessageCreated]]:
    for name in HISTORY_FILES:
        create_message(db, settings, authority_id, load_message_file(DEMO_DIR / name, now, settings), now)
    created = []
    for name in DEMO_FILES:
        message = load_message_file(DEMO_DIR / name, now, settings)
        created.append((message.kind, create_message(db, settings, authority_id, message, now)))
    return created
