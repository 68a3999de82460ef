"""Realistic messages for tests, created through the authority API of the real case service."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

AUTHORITY = {
    "name": "Landeshauptstadt Potsdam, Ausländerbehörde",
    "address": "Friedrich-Ebert-Straße 79/81\n14469 Potsdam",
    "contact_person": "Frau Schneider",
    "phone": "+49 331 289-0",
    "email": "auslaenderbehoerde@example.org",
    "opening_hours": "Di 9–12 und 13–18 Uhr, Do 9–12 Uhr",
}


def question(reference: str = "ABH-P-2026-004217", deadline_in_days: int = 21, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "question",
        "subject": "Rückfrage zu Ihrem Antrag auf eine Blaue Karte EU",
        "body": "Sehr geehrte Frau Haddad,\nfür die Bearbeitung Ihres Antrags fehlen noch Unterlagen.",
        "deadline": (date.today() + timedelta(days=deadline_in_days)).isoformat(),
        "authority": AUTHORITY,
        "case": {
            "reference": reference,
            "service_name": "Aufenthaltstitel – Blaue Karte EU",
            "service_id": "99010001012000",
            "submitted_on": (date.today() - timedelta(days=40)).isoformat(),
            "applicant_name": "Lina Haddad",
            "preferred_language": "de",
            "submitted_documents": [{"title": "Reisepass (Kopie)"}, {"title": "Arbeitsplatzangebot"}],
        },
        "requested_items": [
            {"code": "health_insurance", "required": True, "note": "Mitgliedsbescheinigung der Krankenkasse."},
            {"code": "employment_contract", "required": True, "note": "Bitte alle Seiten, unterschrieben."},
            {"code": "payslips", "required": True, "note": "Die letzten drei Monate."},
        ],
    }
    body.update(overrides)
    return body


def create(case_service: Any, message: dict[str, Any], authority: str = "abh-potsdam") -> dict[str, Any]:
    response = httpx.post(
        f"{case_service.url}/api/v1/messages",
        json=message,
        headers={"Authorization": f"Bearer {case_service.authority_keys[authority]}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def authority_get(case_service: Any, path: str, authority: str = "abh-potsdam") -> httpx.Response:
    return httpx.get(
        f"{case_service.url}{path}",
        headers={"Authorization": f"Bearer {case_service.authority_keys[authority]}"},
        timeout=10,
    )


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
        headers={"Authorization": f"Bearer {case_service.authority_keys[authority]}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
