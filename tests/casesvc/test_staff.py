"""Staff preview and audit log: isolation between authorities, no secrets, credentials, retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from casesvc.app import create_app
from casesvc.settings import CaseServiceSettings
from tests.casesvc.conftest import Api
from tests.casesvc.helpers import (
    AUTHORITY_A,
    AUTHORITY_B,
    KEY_A,
    KEY_B,
    PORTAL_KEY,
    START,
    Clock,
    auth,
    complete_question_reply,
)

PORTAL = auth(PORTAL_KEY)
SHARED_REFERENCE = "ABH-2026-000001"  # the same Vorgangsnummer exists at both authorities


def staff(authority: str, rest: str = "") -> str:
    return f"/api/v1/staff/{authority}{rest}"


def revoke_body(**overrides: Any) -> dict[str, Any]:
    return {"reason": "Bescheid bereits zugestellt", "actor": "krueger", "source": "203.0.113.7"} | overrides


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [entry["id"] for entry in response.json()]


@pytest.fixture
def two_authorities(api: Api, clock: Clock) -> dict[str, dict[str, Any]]:
    """Messages of Potsdam and Cottbus, one minute apart, some sharing a case reference."""
    made: dict[str, dict[str, Any]] = {}
    for name, key, reference in [
        ("a_old", KEY_A, "ABH-P-2026-004217"),
        ("b_shared", KEY_B, SHARED_REFERENCE),
        ("a_shared", KEY_A, SHARED_REFERENCE),
        ("a_new", KEY_A, "ABH-P-2026-004300"),
    ]:
        made[name] = api.created(key, reference=reference)
        clock.advance(timedelta(minutes=1))
    return made


def test_list_is_newest_first_and_only_the_authoritys_own(
    client: TestClient, two_authorities: dict[str, dict[str, Any]]
) -> None:
    m = two_authorities
    assert ids(client.get(staff(AUTHORITY_A, "/messages"), headers=PORTAL)) == [
        m["a_new"]["id"],
        m["a_shared"]["id"],
        m["a_old"]["id"],
    ]
    assert ids(client.get(staff(AUTHORITY_B, "/messages"), headers=PORTAL)) == [m["b_shared"]["id"]]
    limited = client.get(staff(AUTHORITY_A, "/messages"), params={"limit": 1}, headers=PORTAL)
    assert ids(limited) == [m["a_new"]["id"]]


def test_find_by_case_reference_or_id_stays_within_the_authority(
    client: TestClient, two_authorities: dict[str, dict[str, Any]]
) -> None:
    m = two_authorities
    find = {"case_reference": SHARED_REFERENCE}
    by_reference = client.get(staff(AUTHORITY_A, "/messages"), params=find, headers=PORTAL)
    assert ids(by_reference) == [m["a_shared"]["id"]]
    by_id = client.get(staff(AUTHORITY_A, "/messages"), params={"message_id": m["a_old"]["id"]}, headers=PORTAL)
    assert ids(by_id) == [m["a_old"]["id"]]
    # Cottbus's message id asked for under Potsdam finds nothing, and the other way round.
    other = client.get(staff(AUTHORITY_A, "/messages"), params={"message_id": m["b_shared"]["id"]}, headers=PORTAL)
    assert ids(other) == []
    other = client.get(staff(AUTHORITY_B, "/messages"), params={"message_id": m["a_new"]["id"]}, headers=PORTAL)
    assert ids(other) == []


def test_summary_carries_state_deadline_and_last_opened(api: Api, client: TestClient, clock: Clock) -> None:
    created = api.created()
    clock.advance(timedelta(hours=2))
    assert api.resolve(created["reply_link"]).status_code == 200
    [entry] = client.get(staff(AUTHORITY_A, "/messages"), headers=PORTAL).json()
    assert entry == {
        "id": created["id"],
        "kind": "question",
        "subject": "Rückfrage zu Ihrem Antrag auf Erteilung einer Blauen Karte EU",
        "case_reference": "ABH-P-2026-004217",
        "applicant_name": "Priya Raghunathan",
        "preferred_language": "en",
        "sent_at": "2026-02-10T09:00:00Z",
        "deadline": "2026-03-03",
        "days_left": 21,
        "expires_at": "2026-03-17T23:00:00Z",
        "link_state": "open",
        "answered_at": None,
        "revoked_at": None,
        "last_opened_at": "2026-02-10T11:00:00Z",
        "extension_requested_until": None,
    }
    assert api.reply(created["id"], complete_question_reply(clock.now)).status_code == 201
    clock.advance(timedelta(days=30))
    [entry] = client.get(staff(AUTHORITY_A, "/messages"), headers=PORTAL).json()
    assert (entry["link_state"], entry["answered_at"], entry["days_left"]) == ("answered", "2026-02-10T11:00:00Z", -9)


def test_summary_of_a_case_without_a_language_says_null(api: Api, client: TestClient) -> None:
    api.created(language=None)
    [entry] = client.get(staff(AUTHORITY_A, "/messages"), headers=PORTAL).json()
    assert entry["preferred_language"] is None


def test_get_returns_the_full_message_only_to_its_authority(
    client: TestClient, two_authorities: dict[str, dict[str, Any]]
) -> None:
    mine, theirs = two_authorities["a_shared"]["id"], two_authorities["b_shared"]["id"]
    response = client.get(staff(AUTHORITY_A, f"/messages/{mine}"), headers=PORTAL)
    assert response.status_code == 200
    assert response.json() == client.get(f"/api/v1/messages/{mine}", headers=auth(KEY_A)).json()
    response = client.get(staff(AUTHORITY_A, f"/messages/{theirs}"), headers=PORTAL)
    assert response.status_code == 404 and response.json()["code"] == "message_not_found"
    assert client.get(staff(AUTHORITY_B, f"/messages/{theirs}"), headers=PORTAL).status_code == 200


def test_revoke_is_scoped_and_audited_without_the_reason(api: Api, client: TestClient, clock: Clock) -> None:
    mine, theirs = api.created(KEY_A), api.created(KEY_B)
    response = client.post(staff(AUTHORITY_A, f"/messages/{theirs['id']}/revoke"), json=revoke_body(), headers=PORTAL)
    assert response.status_code == 404 and response.json()["code"] == "message_not_found"
    assert api.resolve(theirs["reply_link"]).json()["state"] == "open"

    clock.advance(timedelta(hours=1))
    response = client.post(staff(AUTHORITY_A, f"/messages/{mine['id']}/revoke"), json=revoke_body(), headers=PORTAL)
    assert response.status_code == 200
    assert response.json() == {"id": mine["id"], "link_state": "revoked"}
    assert api.resolve(mine["reply_link"]).json()["state"] == "revoked"
    [summary] = client.get(staff(AUTHORITY_A, "/messages"), headers=PORTAL).json()
    assert summary["revoked_at"] == "2026-02-10T10:00:00Z"

    audit = client.get("/api/v1/audit", headers=auth(KEY_A)).json()
    fields = ("at", "actor", "action", "message_id", "source", "detail")
    assert [{k: e[k] for k in fields} for e in audit["entries"]] == [
        {
            "at": "2026-02-10T10:00:00Z",
            "actor": "krueger",
            "action": "revoke",
            "message_id": mine["id"],
            "source": "203.0.113.7",
            "detail": "revoked",
        }
    ]
    assert "Bescheid" not in str(audit)
    # Nothing was revoked, so nothing is in Cottbus's log.
    assert client.get("/api/v1/audit", headers=auth(KEY_B)).json()["entries"] == []


def test_revoking_an_answered_message_is_409_and_not_audited(api: Api, client: TestClient) -> None:
    created = api.created()
    assert api.reply(created["id"], complete_question_reply()).status_code == 201
    response = client.post(staff(AUTHORITY_A, f"/messages/{created['id']}/revoke"), json=revoke_body(), headers=PORTAL)
    assert response.status_code == 409 and response.json()["code"] == "already_answered"
    assert client.get("/api/v1/audit", headers=auth(KEY_A)).json()["entries"] == []


def test_authority_face_revocation_is_audited_too(api: Api, client: TestClient) -> None:
    created = api.created()
    assert client.post(f"/api/v1/messages/{created['id']}/revoke", headers=auth(KEY_A)).status_code == 200
    [entry] = client.get("/api/v1/audit", headers=auth(KEY_A)).json()["entries"]
    assert (entry["actor"], entry["action"], entry["message_id"]) == ("authority-api", "revoke", created["id"])


def test_no_staff_or_audit_answer_carries_the_token_or_link(api: Api, client: TestClient) -> None:
    created = api.created()
    token = created["reply_link"].rsplit("/", 1)[1]
    api.resolve(created["reply_link"])
    mid = created["id"]
    audit_entry = {"actor": "krueger", "action": "preview", "message_id": mid, "source": "203.0.113.7"}
    answers = [
        client.get(staff(AUTHORITY_A, "/messages"), headers=PORTAL),
        client.get(staff(AUTHORITY_A, "/messages"), params={"message_id": mid}, headers=PORTAL),
        client.get(staff(AUTHORITY_A, f"/messages/{mid}"), headers=PORTAL),
        client.post(staff(AUTHORITY_A, "/audit"), json=audit_entry, headers=PORTAL),
        client.post(staff(AUTHORITY_A, f"/messages/{mid}/revoke"), json=revoke_body(), headers=PORTAL),
        client.get(staff(AUTHORITY_A, "/audit"), headers=PORTAL),
        client.get("/api/v1/audit", headers=auth(KEY_A)),
    ]
    for response in answers:
        assert response.status_code in (200, 201), response.text
        assert token not in response.text and "/r/" not in response.text


STAFF_CALLS = [
    ("get", staff(AUTHORITY_A, "/messages"), None),
    ("get", staff(AUTHORITY_A, "/messages/0123456789abcdef0123456789abcdef"), None),
    ("post", staff(AUTHORITY_A, "/messages/0123456789abcdef0123456789abcdef/revoke"), revoke_body()),
    ("post", staff(AUTHORITY_A, "/audit"), {"actor": "krueger", "action": "sign_in", "source": "203.0.113.7"}),
    ("get", staff(AUTHORITY_A, "/audit"), None),
]


@pytest.mark.parametrize(("method", "path", "body"), STAFF_CALLS)
def test_staff_face_needs_the_portal_key(client: TestClient, method: str, path: str, body: Any) -> None:
    for key in (KEY_A, KEY_B):
        response = client.request(method, path, json=body, headers=auth(key))
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
    response = client.request(method, path, json=body)
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"


def test_audit_read_on_the_authority_face_needs_an_authority_key(client: TestClient) -> None:
    assert client.get("/api/v1/audit", headers=PORTAL).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401


def test_unknown_authority_is_404(client: TestClient) -> None:
    response = client.get(staff("abh-nirgendwo", "/messages"), headers=PORTAL)
    assert response.status_code == 404 and response.json()["code"] == "authority_unknown"
    entry = {"actor": "krueger", "action": "sign_in", "source": "203.0.113.7"}
    assert client.post(staff("abh-nirgendwo", "/audit"), json=entry, headers=PORTAL).status_code == 404


def test_audit_entries_are_kept_per_authority_and_paged(api: Api, client: TestClient) -> None:
    mine = api.created(KEY_A)["id"]
    for authority, actor, action, message_id in [
        (AUTHORITY_A, "krueger", "sign_in", None),
        (AUTHORITY_B, "schulz", "sign_in", None),
        (AUTHORITY_A, "krueger", "preview", mine),
        (AUTHORITY_A, "unbekannt", "sign_in_failed", None),
    ]:
        entry = {"actor": actor, "action": action, "message_id": message_id, "source": "2001:db8::1"}
        response = client.post(staff(authority, "/audit"), json=entry, headers=PORTAL)
        assert response.status_code == 201, response.text
        assert response.json()["authority_id"] == authority and response.json()["action"] == action

    page = client.get("/api/v1/audit", headers=auth(KEY_A)).json()
    assert [(e["actor"], e["action"]) for e in page["entries"]] == [
        ("krueger", "sign_in"),
        ("krueger", "preview"),
        ("unbekannt", "sign_in_failed"),
    ]
    assert {e["authority_id"] for e in page["entries"]} == {AUTHORITY_A}
    assert page["next_cursor"] == page["entries"][-1]["id"]
    # The portal's admin page reads the same log through the staff face.
    assert client.get(staff(AUTHORITY_A, "/audit"), headers=PORTAL).json() == page

    first = client.get("/api/v1/audit", params={"limit": 1}, headers=auth(KEY_A)).json()
    rest = client.get("/api/v1/audit", params={"after": first["next_cursor"]}, headers=auth(KEY_A)).json()
    assert first["entries"] + rest["entries"] == page["entries"]
    done = client.get("/api/v1/audit", params={"after": page["next_cursor"]}, headers=auth(KEY_A)).json()
    assert done == {"entries": [], "next_cursor": page["next_cursor"]}

    [cottbus] = client.get("/api/v1/audit", headers=auth(KEY_B)).json()["entries"]
    assert cottbus["actor"] == "schulz"


def test_audit_entries_past_retention_are_deleted_on_append(
    make_settings: Callable[..., CaseServiceSettings], clock: Clock
) -> None:
    settings = make_settings(audit_retention_days=30)
    entry = {"actor": "krueger", "action": "sign_in", "source": "203.0.113.7"}
    with TestClient(create_app(settings, clock=clock)) as client:
        for days in (0, 10):  # entries written on day 0 and day 10
            clock.now = START + timedelta(days=days)
            assert client.post(staff(AUTHORITY_A, "/audit"), json=entry, headers=PORTAL).status_code == 201
        clock.now = START + timedelta(days=30)  # day 0 is exactly at the limit: still kept
        assert client.post(staff(AUTHORITY_B, "/audit"), json=entry, headers=PORTAL).status_code == 201
        assert len(client.get("/api/v1/audit", headers=auth(KEY_A)).json()["entries"]) == 2

        clock.now = START + timedelta(days=31)
        # Reading purges nothing; the next append (of any authority) does.
        assert len(client.get("/api/v1/audit", headers=auth(KEY_A)).json()["entries"]) == 2
        assert client.post(staff(AUTHORITY_B, "/audit"), json=entry, headers=PORTAL).status_code == 201
        kept = client.get("/api/v1/audit", headers=auth(KEY_A)).json()["entries"]
        assert [e["at"] for e in kept] == ["2026-02-20T09:00:00Z"]


def test_retention_defaults_to_a_year(settings: CaseServiceSettings) -> None:
    assert settings.audit_retention_days == 365


@pytest.mark.parametrize(
    "body",
    [
        revoke_body(reason=""),
        revoke_body(reason="   "),
        revoke_body(reason="x" * 2001),
        revoke_body(actor=""),
        revoke_body(actor="krueger\nadmin"),
        {"reason": "Bescheid bereits zugestellt"},
    ],
)
def test_invalid_revocation_is_a_422_problem(api: Api, client: TestClient, body: dict[str, Any]) -> None:
    created = api.created()
    response = client.post(staff(AUTHORITY_A, f"/messages/{created['id']}/revoke"), json=body, headers=PORTAL)
    assert response.status_code == 422
    assert set(response.json()) == {"code", "detail"} and response.json()["code"] == "invalid_request"
    assert api.resolve(created["reply_link"]).json()["state"] == "open"


@pytest.mark.parametrize(
    "overrides",
    [
        {"action": "delete_everything"},
        {"actor": ""},
        {"source": "x" * 101},
        {"detail": "x" * 201},
        {"detail": "Sehr geehrte Frau Krüger, anbei"},  # reply-like text is not machine text
        {"detail": "link=https://portal.example.de/r/abc"},
        {"detail": "token=" + "A" * 43},
    ],
)
def test_invalid_audit_entry_is_a_422_problem(client: TestClient, overrides: dict[str, Any]) -> None:
    entry = {"actor": "krueger", "action": "preview", "source": "203.0.113.7"} | overrides
    response = client.post(staff(AUTHORITY_A, "/audit"), json=entry, headers=PORTAL)
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"
    assert client.get("/api/v1/audit", headers=auth(KEY_A)).json()["entries"] == []


def test_staff_list_limit_is_bounded(client: TestClient) -> None:
    for limit in (0, 201):
        response = client.get(staff(AUTHORITY_A, "/messages"), params={"limit": limit}, headers=PORTAL)
        assert response.status_code == 422
    assert client.get(staff(AUTHORITY_A, "/messages"), params={"limit": 200}, headers=PORTAL).status_code == 200
