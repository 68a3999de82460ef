"""Authentication, messages, links and isolation, through the real app over TestClient."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from casesvc.settings import CaseServiceSettings
from tests.casesvc.conftest import Api
from tests.casesvc.helpers import KEY_A, KEY_B, PORTAL_KEY, TODAY, Clock, auth, complete_question_reply
from tests.support.messages import message_in


def test_health_needs_no_credential(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


@pytest.mark.parametrize("headers", [{}, auth("not-a-configured-key-at-all"), {"Authorization": f"Basic {KEY_A}"}])
def test_missing_or_wrong_credential_is_401(client: TestClient, headers: dict[str, str]) -> None:
    for method, path in [("post", "/api/v1/messages"), ("get", "/api/v1/replies"), ("post", "/api/v1/links/resolve")]:
        response = client.request(method, path, headers=headers, json={})
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


def test_non_ascii_credential_is_401_not_500(client: TestClient) -> None:
    response = client.get("/api/v1/replies", headers={"Authorization": "Bearer schlüssel-ä".encode()})
    assert response.status_code == 401


def test_portal_key_cannot_use_the_authority_face(api: Api, client: TestClient) -> None:
    response = api.create(key=PORTAL_KEY)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert api.replies(key=PORTAL_KEY).status_code == 403
    assert client.get("/api/v1/messages", headers=auth(PORTAL_KEY)).status_code == 403


def test_authority_key_cannot_use_the_portal_face(api: Api) -> None:
    created = api.created()
    response = api.resolve(created["reply_link"], key=KEY_A)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert api.reply(created["id"], complete_question_reply(), key=KEY_A).status_code == 403


def test_created_link_is_short_and_carries_a_strong_token(api: Api, settings: CaseServiceSettings) -> None:
    created = api.created()
    link = created["reply_link"]
    assert len(link) <= 255
    assert link.startswith("https://portal.example.de/r/")
    token = link.removeprefix("https://portal.example.de/r/")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert len(raw) * 8 >= 128
    assert created["expires_at"] == "2026-03-17T23:00:00Z"  # 3 March + 14 days, end of day in Berlin (CET)


def test_only_the_token_hash_is_stored(api: Api, settings: CaseServiceSettings) -> None:
    import hashlib

    link = api.created()["reply_link"]
    token = link.rsplit("/", 1)[1]
    stored = b"".join(p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file())
    assert token.encode() not in stored
    assert hashlib.sha256(token.encode()).hexdigest().encode() in stored


def test_two_links_never_share_a_token(api: Api) -> None:
    links = {api.created()["reply_link"] for _ in range(5)}
    assert len(links) == 5


def test_message_view_has_items_with_ids_and_german_titles(api: Api, client: TestClient) -> None:
    created = api.created()
    for key in (KEY_A, PORTAL_KEY):
        message = client.get(f"/api/v1/messages/{created['id']}", headers=auth(key)).json()
        assert [(i["id"], i["code"], i["title_de"]) for i in message["requested_items"]] == [
            ("item-1", "health_insurance", "Nachweis über Krankenversicherungsschutz"),
            ("item-2", "employment_contract", "Arbeitsvertrag"),
            ("item-3", "payslips", "Lohn- und Gehaltsabrechnungen der letzten drei Monate"),
        ]
        assert message["link_state"] == "open"
        assert message["case"]["reference"] == "ABH-P-2026-004217"
        assert message["sent_at"] == "2026-02-10T09:00:00Z"


def test_a_case_without_a_recorded_language_says_so(api: Api, client: TestClient) -> None:
    """No language given is "not known" (null), never German: the portal then follows the browser."""
    unknown = api.created(language=None)
    known = api.created(language="ar", reference="ABH-P-2026-000001")
    for key in (KEY_A, PORTAL_KEY):
        message = client.get(f"/api/v1/messages/{unknown['id']}", headers=auth(key)).json()
        assert "preferred_language" in message["case"] and message["case"]["preferred_language"] is None
    portal_view = client.get(f"/api/v1/messages/{known['id']}", headers=auth(PORTAL_KEY)).json()
    assert portal_view["case"]["preferred_language"] == "ar"


def test_authority_cannot_see_another_authoritys_message(api: Api, client: TestClient) -> None:
    created = api.created(key=KEY_A)
    response = client.get(f"/api/v1/messages/{created['id']}", headers=auth(KEY_B))
    assert response.status_code == 404 and response.json()["code"] == "message_not_found"
    assert client.post(f"/api/v1/messages/{created['id']}/revoke", json={}, headers=auth(KEY_B)).status_code == 404
    assert client.get("/api/v1/messages", headers=auth(KEY_B)).json() == []
    assert client.get(f"/api/v1/messages/{created['id']}", headers=auth(KEY_A)).status_code == 200


def test_history_lists_earlier_messages_of_the_same_case_only(api: Api, client: TestClient, clock: Clock) -> None:
    first = api.created(kind="status")
    api.created(kind="status", reference="ABH-P-2026-000001")  # another case
    api.created(key=KEY_B, kind="status")  # same reference at another authority
    clock.advance(timedelta(days=2))
    second = api.created()
    assert api.reply(second["id"], complete_question_reply(clock.now)).status_code == 201
    clock.advance(timedelta(days=1))
    third = api.created(kind="appointment")

    history = client.get(f"/api/v1/messages/{third['id']}", headers=auth(PORTAL_KEY)).json()["history"]
    assert [entry["id"] for entry in history] == [first["id"], second["id"]]
    assert history[0]["reply"] is None
    assert history[1]["reply"]["received_at"] == "2026-02-12T09:00:00Z"
    earliest = client.get(f"/api/v1/messages/{first['id']}", headers=auth(KEY_A)).json()
    assert earliest["history"] == []


def test_list_messages_by_case(api: Api, client: TestClient) -> None:
    first = api.created()
    api.created(reference="ABH-P-2026-000001")
    listed = client.get("/api/v1/messages", params={"case_reference": "ABH-P-2026-004217"}, headers=auth(KEY_A))
    assert [m["id"] for m in listed.json()] == [first["id"]]
    assert len(client.get("/api/v1/messages", headers=auth(KEY_A)).json()) == 2


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"kind": "status", "deadline": "2026-03-03"}, "invalid_request"),
        ({"deadline": None}, "invalid_request"),
        ({"requested_items": [{"code": "no_such_code"}]}, "invalid_request"),
        ({"deadline": "2026-02-09"}, "deadline_in_past"),
        ({"sent_at": "2026-02-10T10:00:00"}, "invalid_request"),  # naive timestamp
    ],
)
def test_invalid_messages_are_refused_with_a_problem(client: TestClient, overrides: dict[str, Any], code: str) -> None:
    response = client.post("/api/v1/messages", json=message_in(today=TODAY, **overrides), headers=auth(KEY_A))
    assert response.status_code == 422
    assert set(response.json()) == {"code", "detail"} and response.json()["code"] == code


MALFORMED_JSON = [b"{", b'{"kind": "question",}', b"\xff\xfe{}", b'"\xc3"', b"{}{}"]


@pytest.mark.parametrize("body", MALFORMED_JSON)
@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/api/v1/messages", KEY_A),
        ("/api/v1/messages/m1/revoke", KEY_A),
        ("/api/v1/links/resolve", PORTAL_KEY),
        ("/api/v1/staff/abh-potsdam/audit", PORTAL_KEY),
        ("/api/v1/staff/abh-potsdam/messages/m1/revoke", PORTAL_KEY),
    ],
)
def test_malformed_json_is_400_invalid_json(client: TestClient, path: str, key: str, body: bytes) -> None:
    headers = auth(key) | {"Content-Type": "application/json"}
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_json", "detail": response.json()["detail"]}


def test_well_formed_json_that_breaks_a_rule_stays_422(client: TestClient) -> None:
    for body in (b"{}", b"[]", b'"text"', b'{"kind": "question"}'):
        response = client.post(
            "/api/v1/messages", content=body, headers=auth(KEY_A) | {"Content-Type": "application/json"}
        )
        assert response.status_code == 422 and response.json()["code"] == "invalid_request"


def test_unknown_route_answers_with_a_problem(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here", headers=auth(KEY_A))
    assert response.status_code == 404 and response.json()["code"] == "not_found"


# ------------------------------------------------------------------------------------------- resolve


def test_resolve_open_records_last_opened(api: Api, client: TestClient, clock: Clock) -> None:
    created = api.created()
    clock.advance(timedelta(hours=3))
    resolved = api.resolve(created["reply_link"]).json()
    assert resolved == {
        "message_id": created["id"],
        "state": "open",
        "answered_at": None,
        "expires_at": created["expires_at"],
    }
    message = client.get(f"/api/v1/messages/{created['id']}", headers=auth(KEY_A)).json()
    assert message["last_opened_at"] == "2026-02-10T12:00:00Z"


def test_resolve_unknown_token_is_404(api: Api) -> None:
    api.created()
    response = api.resolve("https://portal.example.de/r/" + "A" * 43)
    assert response.status_code == 404 and response.json()["code"] == "link_unknown"


def test_resolve_expired(api: Api, clock: Clock) -> None:
    created = api.created()
    clock.now = datetime(2026, 3, 17, 22, 59, 59, tzinfo=UTC)  # 23:59:59 in Berlin on the last day
    assert api.resolve(created["reply_link"]).json()["state"] == "open"
    clock.now = datetime(2026, 3, 17, 23, 0, tzinfo=UTC)
    assert api.resolve(created["reply_link"]).json()["state"] == "expired"


def test_resolve_revoked_and_revoke_is_idempotent(api: Api, client: TestClient, clock: Clock) -> None:
    created = api.created()
    url = f"/api/v1/messages/{created['id']}/revoke"
    response = client.post(url, json={"reason": "Antrag zurückgenommen"}, headers=auth(KEY_A))
    assert response.json() == {"id": created["id"], "link_state": "revoked"}
    clock.advance(timedelta(hours=1))
    assert client.post(url, headers=auth(KEY_A)).status_code == 200  # body is optional
    assert api.resolve(created["reply_link"]).json()["state"] == "revoked"


def test_resolve_answered_and_answered_cannot_be_revoked(api: Api, client: TestClient, clock: Clock) -> None:
    created = api.created()
    clock.advance(timedelta(minutes=10))
    assert api.reply(created["id"], complete_question_reply(clock.now)).status_code == 201
    resolved = api.resolve(created["reply_link"]).json()
    assert resolved["state"] == "answered" and resolved["answered_at"] == "2026-02-10T09:10:00Z"
    response = client.post(f"/api/v1/messages/{created['id']}/revoke", json={}, headers=auth(KEY_A))
    assert response.status_code == 409 and response.json()["code"] == "already_answered"


def test_status_link_expires_after_info_period(api: Api, clock: Clock) -> None:
    created = api.created(kind="status")
    assert created["expires_at"] == "2026-05-11T09:00:00Z"  # sent_at + 90 days
    clock.advance(timedelta(days=90))
    assert api.resolve(created["reply_link"]).json()["state"] == "expired"


@pytest.mark.parametrize("query", ["=false", "afterr=3", "after=0&limit=5&authority=abh-cottbus"])
def test_an_undeclared_query_parameter_is_refused_not_ignored(client: TestClient, query: str) -> None:
    response = client.get(f"/api/v1/replies?{query}", headers=auth(KEY_A))
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_parameter"
    assert client.get("/api/v1/replies?after=0&limit=5", headers=auth(KEY_A)).status_code == 200
