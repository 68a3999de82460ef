"""Test messages, built in one place for every suite.

- ``message_in(kind, ...)``: the body an authority POSTs to ``/api/v1/messages``, shaped by kind
  (a question asks for documents, an appointment has a time and place, a status note neither);
- ``message_view(kind, ...)``: the same message as the portal reads it back (``MessageView``);
- ``summary(...)``: one row of the staff list (``MessageSummaryView``);
- ``create``, ``authority_get``, ``revoke``, ``expire_in_store``: what an authority does with a
  running case service (``tests.support.case_service``).

Dates count from ``today`` (the real one unless a test's clock says otherwise), so a message built
on any day is valid on that day: with ``today=2026-02-10`` the deadline is 2026-03-03.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from portal.domain import catalogue
from portal.domain.message import MessageSummaryView, MessageView

REFERENCE = "ABH-P-2026-004217"
APPLICANT = "Priya Raghunathan"
AUTHORITY = {
    "name": "Landeshauptstadt Potsdam, Ausländerbehörde",
    "address": "Friedrich-Ebert-Straße 79/81\n14469 Potsdam",
    "contact_person": "Frau Krüger",
    "phone": "+49 331 289-0",
    "email": "auslaenderbehoerde@example.org",
    "opening_hours": "Di 9–12 und 13–18 Uhr, Do 9–12 Uhr",
}
# Two required documents and an optional one: enough for every rule of a reply.
ITEMS: tuple[dict[str, Any], ...] = (
    {"code": "health_insurance", "required": True, "note": "Mitgliedsbescheinigung"},
    {"code": "employment_contract", "required": True, "note": "unterschrieben"},
    {"code": "payslips", "required": False, "note": "letzte drei Monate"},
)
DEADLINE_KINDS = frozenset({"question", "intent_to_refuse", "appointment"})
ITEM_KINDS = frozenset({"question", "intent_to_refuse"})
BERLIN = ZoneInfo("Europe/Berlin")
# When the staff list's row and the portal's view of a message were sent (a fixed instant).
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def message_in(
    kind: str = "question",
    *,
    reference: str = REFERENCE,
    today: date | None = None,
    deadline_in_days: int = 21,
    language: str | None = "de",
    applicant: str = APPLICANT,
    items: Sequence[Mapping[str, Any]] = ITEMS,
    **overrides: Any,
) -> dict[str, Any]:
    """An authority's new message of ``kind``; ``overrides`` replace whole top-level fields.

    ``language=None``: the authority recorded no language (the field is left out)."""
    today = today or date.today()
    submitted = (today - timedelta(days=26)).isoformat()
    body: dict[str, Any] = {
        "kind": kind,
        "subject": "Rückfrage zu Ihrem Antrag auf Erteilung einer Blauen Karte EU",
        "body": f"Sehr geehrte Frau {applicant.split()[-1]},\nfür die Bearbeitung fehlen noch Unterlagen.",
        "authority": dict(AUTHORITY),
        "case": {
            "reference": reference,
            "service_name": "Aufenthaltstitel – Blaue Karte EU",
            "service_id": "99010036013000",
            "submitted_on": submitted,
            "applicant_name": applicant,
            "submitted_documents": [{"title": "Reisepass", "submitted_on": submitted}],
        },
    }
    if language is not None:
        body["case"]["preferred_language"] = language
    if kind in DEADLINE_KINDS:
        body["deadline"] = (today + timedelta(days=deadline_in_days)).isoformat()
    if kind in ITEM_KINDS:
        body["requested_items"] = [dict(item) for item in items]
    if kind == "appointment":
        starts = datetime.combine(today + timedelta(days=14), time(9, 30), BERLIN)
        body["appointment"] = {
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(minutes=30)).isoformat(),
            "place": "Friedrich-Ebert-Straße 79/81, Raum 1.043",
            "bring": "Reisepass",
        }
    if kind == "not_responsible":
        body["responsible_authority"] = {"name": "Landkreis Potsdam-Mittelmark, Ausländerbehörde"}
    body.update(overrides)
    return body


def message_view(kind: str = "question", *, sent_at: datetime = T0, **options: Any) -> MessageView:
    """``message_in``'s message as the case service hands it to the portal: with its id, item ids
    and German titles, the link open for the deadline and two weeks of grace."""
    body = message_in(kind, today=sent_at.date(), **options)
    items = [
        {"id": f"item-{n}", "title_de": catalogue.entry(item["code"]).title_de, **item}
        for n, item in enumerate(body.get("requested_items", []), start=1)
    ]
    deadline = date.fromisoformat(body["deadline"]) if body.get("deadline") else sent_at.date()
    view = {
        **body,
        "id": "m1",
        "sent_at": sent_at,
        "expires_at": datetime.combine(deadline + timedelta(days=15), time(), BERLIN),
        "link_state": "open",
        "requested_items": items,
    }
    return MessageView.model_validate(view)


def summary(**overrides: Any) -> MessageSummaryView:
    """A staff list row as the case service sends it."""
    data: dict[str, Any] = {
        "id": "m1",
        "kind": "question",
        "subject": "Rückfrage",
        "case_reference": "ABH-P-2026-000001",
        "applicant_name": "A. Person",
        "preferred_language": "ar",
        "sent_at": T0,
        "deadline": date(2026, 12, 20),
        "days_left": 14,
        "expires_at": T0 + timedelta(days=30),
        "link_state": "open",
    }
    data.update(overrides)
    return MessageSummaryView.model_validate(data)


# ------------------------------------------------------------------ a running case service


def _authority(case_service: Any, authority: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {case_service.authority_keys[authority]}"}


def create(case_service: Any, message: dict[str, Any], authority: str = "abh-potsdam") -> dict[str, Any]:
    response = httpx.post(
        f"{case_service.url}/api/v1/messages", json=message, headers=_authority(case_service, authority), timeout=10
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def authority_get(case_service: Any, path: str, authority: str = "abh-potsdam") -> httpx.Response:
    return httpx.get(f"{case_service.url}{path}", headers=_authority(case_service, authority), timeout=10)


def replies_for(case_service: Any, message_id: str) -> list[dict[str, Any]]:
    """The replies the authority can collect for one message (the first hundred of the service)."""
    page = authority_get(case_service, "/api/v1/replies?after=0&limit=100").json()
    return [reply for reply in page["replies"] if reply["message_id"] == message_id]


def expire_in_store(case_service: Any, message_id: str) -> None:
    """Move a link's expiry into the past, as if its deadline and grace period had passed."""
    db = sqlite3.connect(case_service.data_dir / "casesvc.sqlite3")
    try:
        past = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
        cursor = db.execute("UPDATE messages SET expires_at = ? WHERE id = ?", (past, message_id))
        assert cursor.rowcount == 1
        db.commit()
    finally:
        db.close()


def revoke(case_service: Any, message_id: str, authority: str = "abh-potsdam") -> None:
    response = httpx.post(
        f"{case_service.url}/api/v1/messages/{message_id}/revoke",
        json={"reason": "Neue Nachricht folgt"},
        headers=_authority(case_service, authority),
        timeout=10,
    )
    assert response.status_code == 200, response.text
