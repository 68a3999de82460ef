"""Reply intake (checks, storage, idempotency, races) and reply collection by authorities."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from casesvc import replies
from casesvc.app import create_app
from casesvc.context import utc_now
from casesvc.db import Database, ReplyRow
from casesvc.errors import ServiceError
from casesvc.schemas import ReplyIn
from casesvc.settings import CaseServiceSettings
from tests.casesvc.conftest import Api
from tests.casesvc.helpers import (
    KEY_A,
    KEY_B,
    PORTAL_KEY,
    Clock,
    ReplyDraft,
    Upload,
    auth,
    complete_question_reply,
)


def stored_reply_count(settings: CaseServiceSettings) -> int:
    db = Database(settings.database_url)
    with db.session() as session:
        count = len(session.query(ReplyRow).all())
    db.dispose()
    return count


def stored_files(settings: CaseServiceSettings) -> list[str]:
    return sorted(str(p.relative_to(settings.files_dir)) for p in settings.files_dir.rglob("*") if p.is_file())


def test_reply_happy_path_files_come_back_byte_for_byte(
    api: Api, client: TestClient, settings: CaseServiceSettings, clock: Clock
) -> None:
    created = api.created()
    draft = complete_question_reply()
    clock.advance(timedelta(seconds=30))
    response = api.reply(created["id"], draft)
    assert response.status_code == 201, response.text
    assert response.json()["received_at"] == "2026-02-10T09:00:30Z"
    reply_id = response.json()["reply_id"]

    page = api.replies().json()
    [reply] = page["replies"]
    assert page["next_cursor"] == reply["cursor"]
    assert reply["id"] == reply_id and reply["message_id"] == created["id"]
    assert reply["case_reference"] == "ABH-P-2026-004217" and reply["declaration"] is True
    assert [(i["item_id"], i["code"], i["status"]) for i in reply["items"]] == [
        ("item-1", "health_insurance", "provided"),
        ("item-2", "employment_contract", "provided"),
        ("item-3", "payslips", "not_available"),
    ]
    assert reply["items"][2]["reason"] == "Job started this month"
    assert reply["items"][2]["expected_date"] == "2026-03-31"
    for item, upload in zip(reply["items"][:2], draft.uploads, strict=True):
        [file] = item["files"]
        assert file["name"] == upload.name and file["original_name"] == "IMG_0789.jpg"
        assert file["sha512"] == hashlib.sha512(upload.content).hexdigest() and file["size"] == len(upload.content)
        fetched = client.get(f"/api/v1/replies/{reply_id}/files/{file['id']}", headers=auth(KEY_A))
        assert fetched.status_code == 200 and fetched.content == upload.content
        assert fetched.headers["content-type"] == "application/pdf"
        assert f"filename*=UTF-8''{quote(upload.name)}" in fetched.headers["content-disposition"]
        assert fetched.headers["content-disposition"].startswith("attachment;")
    # Stored under random names, never the client's.
    names = stored_files(settings)
    assert len(names) == 2 and all(n.startswith(reply_id + "/") and "pdf" not in n for n in names)


def test_file_name_with_umlaut_is_sent_in_rfc5987_form(api: Api, client: TestClient) -> None:
    created = api.created(kind="intent_to_refuse", requested_items=[{"code": "proof_of_funds"}])
    upload = Upload("a", b"Sperrkonto", name="Sperrkontobestätigung_Lina Haddad.pdf")
    draft = ReplyDraft(items=[{"item_id": "item-1", "status": "provided", "files": ["a"]}], uploads=[upload])
    reply_id = api.reply(created["id"], draft).json()["reply_id"]
    file_id = api.replies().json()["replies"][0]["items"][0]["files"][0]["id"]
    disposition = client.get(f"/api/v1/replies/{reply_id}/files/{file_id}", headers=auth(KEY_A)).headers[
        "content-disposition"
    ]
    assert "filename*=UTF-8''Sperrkontobest%C3%A4tigung_Lina%20Haddad.pdf" in disposition
    assert disposition.isascii()


def test_other_authority_sees_neither_replies_nor_files(api: Api, client: TestClient) -> None:
    created = api.created(key=KEY_A)
    reply_id = api.reply(created["id"], complete_question_reply()).json()["reply_id"]
    file_id = api.replies().json()["replies"][0]["items"][0]["files"][0]["id"]
    assert api.replies(key=KEY_B).json() == {"replies": [], "next_cursor": 0}
    response = client.get(f"/api/v1/replies/{reply_id}/files/{file_id}", headers=auth(KEY_B))
    assert response.status_code == 404 and response.json()["code"] == "file_not_found"
    assert client.get(f"/api/v1/replies/{reply_id}/files/{file_id}", headers=auth(PORTAL_KEY)).status_code == 403


def test_same_idempotency_key_returns_the_first_result(api: Api, settings: CaseServiceSettings, clock: Clock) -> None:
    created = api.created()
    first = api.reply(created["id"], complete_question_reply(), idempotency_key="retry-me")
    clock.advance(timedelta(minutes=5))
    again = api.reply(created["id"], complete_question_reply(), idempotency_key="retry-me")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert stored_reply_count(settings) == 1 and len(stored_files(settings)) == 2


def test_idempotency_key_of_another_message_is_409(api: Api) -> None:
    one, two = api.created(), api.created()
    assert api.reply(one["id"], complete_question_reply(), idempotency_key="k").status_code == 201
    response = api.reply(two["id"], complete_question_reply(), idempotency_key="k")
    assert response.status_code == 409 and response.json()["code"] == "idempotency_key_reused"


def test_a_different_reply_to_an_answered_message_is_409(api: Api, settings: CaseServiceSettings) -> None:
    created = api.created()
    assert api.reply(created["id"], complete_question_reply(), idempotency_key="first").status_code == 201
    response = api.reply(created["id"], complete_question_reply(), idempotency_key="second")
    assert response.status_code == 409 and response.json()["code"] == "already_answered"
    assert stored_reply_count(settings) == 1


@pytest.mark.parametrize("key", [None, "", "has space", "x" * 129, "ümlaut"])
def test_idempotency_key_is_required(api: Api, client: TestClient, key: str | None) -> None:
    created = api.created()
    headers = auth(PORTAL_KEY) | ({"Idempotency-Key": key} if key is not None else {})
    if key is not None and not key.isascii():
        headers["Idempotency-Key"] = key.encode()  # type: ignore[assignment]
    response = client.post(
        f"/api/v1/messages/{created['id']}/reply", files=complete_question_reply().multipart(), headers=headers
    )
    assert response.status_code == 422 and response.json()["code"] == "idempotency_key_missing"


def test_revoked_link_refuses_replies_submitted_afterwards(api: Api, client: TestClient, clock: Clock) -> None:
    created = api.created()
    submitted_before = clock.now
    clock.advance(timedelta(minutes=1))
    client.post(f"/api/v1/messages/{created['id']}/revoke", json={}, headers=auth(KEY_A))
    response = api.reply(created["id"], complete_question_reply(clock.now), idempotency_key="late")
    assert response.status_code == 410 and response.json()["code"] == "link_revoked"
    # Pressed submit before the revocation, delivered after it: accepted.
    assert api.reply(created["id"], complete_question_reply(submitted_before)).status_code == 201


def test_expired_link_refuses_but_late_delivery_of_timely_reply_is_accepted(api: Api, clock: Clock) -> None:
    created = api.created()
    expires = clock.now.fromisoformat(created["expires_at"])
    clock.now = expires + timedelta(days=2)
    response = api.reply(created["id"], complete_question_reply(expires), idempotency_key="too-late")
    assert response.status_code == 410 and response.json()["code"] == "link_expired"
    delivered = api.reply(created["id"], complete_question_reply(expires - timedelta(seconds=1)))
    assert delivered.status_code == 201


def test_submitted_in_the_future_is_refused(api: Api, clock: Clock) -> None:
    created = api.created()
    assert api.reply(created["id"], complete_question_reply(clock.now + timedelta(minutes=6))).status_code == 410
    ok = api.reply(created["id"], complete_question_reply(clock.now + timedelta(minutes=4)), idempotency_key="k2")
    assert ok.status_code == 201  # small clock skew is tolerated


def _with_upload(mutate: Callable[[ReplyDraft], None]) -> ReplyDraft:
    draft = complete_question_reply()
    mutate(draft)
    return draft


@pytest.mark.parametrize(
    "draft",
    [
        _with_upload(lambda d: setattr(d.uploads[0], "sha512", "0" * 128)),
        _with_upload(lambda d: setattr(d.uploads[0], "size", len(d.uploads[0].content) - 1)),
        _with_upload(lambda d: setattr(d.uploads[0], "size", len(d.uploads[0].content) + 1)),
        _with_upload(lambda d: d.uploads.append(Upload("stray", b"not referenced"))),
        _with_upload(lambda d: d.items[0].update(files=["f1", "missing"])),
        _with_upload(lambda d: d.items[1].update(files=["f1"])),  # one file for two items
    ],
    ids=["sha512", "size-smaller", "size-larger", "unreferenced-part", "unknown-key", "referenced-twice"],
)
def test_file_mismatch_is_422_and_leaves_nothing_behind(
    api: Api, settings: CaseServiceSettings, draft: ReplyDraft
) -> None:
    created = api.created()
    response = api.reply(created["id"], draft)
    assert response.status_code == 422 and response.json()["code"] == "file_mismatch", response.text
    assert stored_reply_count(settings) == 0 and stored_files(settings) == []
    assert api.reply(created["id"], complete_question_reply(), idempotency_key="fixed").status_code == 201


def test_declared_file_without_its_part_is_422(api: Api, client: TestClient) -> None:
    created = api.created()
    draft = complete_question_reply()
    parts = draft.multipart()[:-1]  # drop the last file part
    headers = auth(PORTAL_KEY) | {"Idempotency-Key": "k"}
    response = client.post(f"/api/v1/messages/{created['id']}/reply", files=parts, headers=headers)
    assert response.status_code == 422 and response.json()["code"] == "file_mismatch"


@pytest.mark.parametrize(
    "items",
    [
        [{"item_id": "item-1", "status": "provided", "files": ["f1"]}],  # item-2 (required) missing
        [
            {"item_id": "item-1", "status": "provided", "files": ["f1"]},
            {"item_id": "item-2", "status": "not_available", "files": ["f2"], "reason": "x"},
        ],
        [
            {"item_id": "item-1", "status": "provided", "files": ["f1"]},
            {"item_id": "item-2", "status": "not_available", "reason": "  "},
        ],
        [
            {"item_id": "item-1", "status": "provided", "files": ["f1"]},
            {"item_id": "item-9", "status": "provided", "files": ["f2"]},
        ],
    ],
    ids=["required-missing", "not-available-with-files", "not-available-without-reason", "unknown-item"],
)
def test_incomplete_items_are_422(api: Api, items: list[dict[str, Any]]) -> None:
    created = api.created()
    draft = complete_question_reply()
    draft.items = items
    if not any("f2" in i.get("files", []) for i in items):
        draft.uploads = draft.uploads[:1]
    response = api.reply(created["id"], draft)
    assert response.status_code == 422 and response.json()["code"] == "items_incomplete", response.text


def test_required_item_not_available_with_reason_is_complete(api: Api) -> None:
    created = api.created()
    draft = complete_question_reply()
    draft.items[1] = {"item_id": "item-2", "status": "not_available", "reason": "Vertrag folgt nächste Woche"}
    draft.uploads = draft.uploads[:1]
    assert api.reply(created["id"], draft).status_code == 201


def test_extra_documents_are_delivered_with_their_title(api: Api) -> None:
    created = api.created()
    draft = complete_question_reply()
    draft.uploads.append(Upload("x1", b"Meldebescheinigung", name="Meldebescheinigung.pdf"))
    draft.extra["extra_documents"] = [{"code": "registration_certificate", "description": "neu", "files": ["x1"]}]
    assert api.reply(created["id"], draft).status_code == 201
    [extra] = api.replies().json()["replies"][0]["extra_documents"]
    assert extra["title_de"] == "Meldebescheinigung" and extra["files"][0]["name"] == "Meldebescheinigung.pdf"


def test_status_message_takes_no_reply(api: Api) -> None:
    created = api.created(kind="status")
    response = api.reply(created["id"], ReplyDraft())
    assert response.status_code == 422 and response.json()["code"] == "not_answerable"


def test_declaration_must_be_given(api: Api) -> None:
    created = api.created()
    draft = complete_question_reply()
    draft.declaration = False
    response = api.reply(created["id"], draft)
    assert response.status_code == 422 and response.json()["code"] == "declaration_missing"


def test_appointment_needs_an_answer_and_only_there(api: Api) -> None:
    appointment = api.created(kind="appointment")
    response = api.reply(appointment["id"], ReplyDraft())
    assert response.status_code == 422 and response.json()["code"] == "appointment_invalid"
    reschedule = ReplyDraft(extra={"appointment": {"answer": "reschedule", "reason": ""}})
    assert api.reply(appointment["id"], reschedule).json()["code"] == "appointment_invalid"
    confirm = ReplyDraft(extra={"appointment": {"answer": "confirm"}})
    assert api.reply(appointment["id"], confirm).status_code == 201
    assert api.replies().json()["replies"][0]["appointment"]["answer"] == "confirm"

    question = api.created()
    draft = complete_question_reply()
    draft.extra["appointment"] = {"answer": "confirm"}
    assert api.reply(question["id"], draft, idempotency_key="q").json()["code"] == "appointment_invalid"


def test_malformed_reply_json_is_400_and_a_wrong_body_type_422(api: Api, client: TestClient) -> None:
    created = api.created()
    headers = auth(PORTAL_KEY) | {"Idempotency-Key": "k"}
    url = f"/api/v1/messages/{created['id']}/reply"
    bad = client.post(url, files=[("reply", (None, "{not json", "application/json"))], headers=headers)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_json"
    as_json = client.post(url, json=complete_question_reply().body(), headers=headers)
    assert as_json.status_code == 422 and as_json.json()["code"] == "invalid_request"
    # The reply part may also arrive as a file part (some clients send every part with a filename).
    draft = complete_question_reply()
    parts = [("reply", ("reply.json", json.dumps(draft.body()).encode(), "application/json"))] + draft.multipart()[1:]
    assert client.post(url, files=parts, headers=headers).status_code == 201


def test_unknown_message_is_404(api: Api) -> None:
    response = api.reply("0" * 32, complete_question_reply())
    assert response.status_code == 404 and response.json()["code"] == "message_not_found"


# --------------------------------------------------------------------------------------------- size


@pytest.fixture
def small_client(make_settings: Callable[..., CaseServiceSettings], clock: Clock) -> Iterator[TestClient]:
    settings = make_settings(max_reply_bytes=4096, max_file_bytes=1500)
    with TestClient(create_app(settings, clock=clock)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "file_size",
    [
        pytest.param(5000, id="reply-over-its-limit-by-content-length"),
        pytest.param(1600, id="one-file-over-the-file-limit"),
    ],
)
def test_oversize_is_413(small_client: TestClient, file_size: int) -> None:
    api = Api(small_client)
    created = api.created()
    draft = complete_question_reply()
    draft.uploads[1].content = b"x" * file_size
    response = api.reply(created["id"], draft)
    assert response.status_code == 413 and response.json()["code"] == "too_large", response.text


def test_oversize_reply_is_413_when_streamed_without_length(small_client: TestClient) -> None:
    api = Api(small_client)
    created = api.created()
    boundary = "casesvc-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="reply"\r\n\r\n'
        f"{json.dumps(complete_question_reply().body())}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="f1"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(10):
            yield b"y" * 1000  # no Content-Length: chunked; only the running count can stop it

    headers = auth(PORTAL_KEY) | {
        "Idempotency-Key": "stream",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    response = small_client.post(f"/api/v1/messages/{created['id']}/reply", content=body(), headers=headers)
    assert response.status_code == 413 and response.json()["code"] == "too_large", response.text


# ------------------------------------------------------------------------------------------- paging


def test_replies_are_paged_by_cursor_per_authority(api: Api) -> None:
    ids = []
    for n in range(3):
        created = api.created()
        ids.append(api.reply(created["id"], complete_question_reply(), idempotency_key=f"k{n}").json()["reply_id"])
    other = api.created(key=KEY_B)
    api.reply(other["id"], complete_question_reply(), idempotency_key="b")

    first = api.replies(limit=2).json()
    assert [r["id"] for r in first["replies"]] == ids[:2]
    second = api.replies(after=first["next_cursor"], limit=2).json()
    assert [r["id"] for r in second["replies"]] == ids[2:]
    empty = api.replies(after=second["next_cursor"]).json()
    assert empty == {"replies": [], "next_cursor": second["next_cursor"]}
    assert [r["cursor"] for r in first["replies"] + second["replies"]] == sorted(
        r["cursor"] for r in first["replies"] + second["replies"]
    )


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"after": -1}, {"after": "x"}])
def test_replies_paging_parameters_are_checked(client: TestClient, params: dict[str, object]) -> None:
    response = client.get("/api/v1/replies", params=params, headers=auth(KEY_A))
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"


# ------------------------------------------------------------------------------------------ races


def test_two_different_replies_at_once_exactly_one_wins(
    api: Api, settings: CaseServiceSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = api.created()
    db = Database(settings.database_url)
    barrier = threading.Barrier(2, timeout=10)
    original = replies._write_file

    def write_after_both_passed_the_checks(*args: Any) -> Any:
        barrier.wait()  # both requests are past "already answered?" before either stores
        return original(*args)

    monkeypatch.setattr(replies, "_write_file", write_after_both_passed_the_checks)
    outcomes: dict[str, object] = {}

    def deliver(key: str) -> None:
        draft = complete_question_reply()
        body = ReplyIn.model_validate(draft.body())
        parts = {u.key: io.BytesIO(u.content) for u in draft.uploads}
        try:
            outcomes[key] = replies.store_reply(db, settings, created["id"], key, body, parts, utc_now())
        except ServiceError as exc:
            outcomes[key] = exc.code

    threads = [threading.Thread(target=deliver, args=(key,)) for key in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.dispose()
    assert sorted(type(o).__name__ if not isinstance(o, str) else o for o in outcomes.values()) == [
        "ReplyCreated",
        "already_answered",
    ]
    assert stored_reply_count(settings) == 1
    assert len(stored_files(settings)) == 2  # the loser's files were removed
