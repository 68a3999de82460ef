"""The receipt travels with a reply as a file of its own: stored, listed and served like the others."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from fastapi.testclient import TestClient

from casesvc.settings import CaseServiceSettings
from tests.casesvc.conftest import Api
from tests.casesvc.helpers import KEY_A, PORTAL_KEY, ReplyDraft, Upload, auth, complete_question_reply
from tests.casesvc.test_replies import stored_files

RECEIPT = Upload("receipt", b"%PDF-1.7 Eingangsbestaetigung " * 40, name="Eingangsbestaetigung_RK-ABCD-EFGH.pdf")


def _send(client: TestClient, message_id: str, draft: ReplyDraft, receipt: Upload, **meta: Any) -> Any:
    draft.extra["receipt"] = {**receipt.meta(), "original_name": "", **meta}
    parts = [*draft.multipart(), (receipt.key, (receipt.name, receipt.content, receipt.media_type))]
    headers = auth(PORTAL_KEY) | {"Idempotency-Key": "receipt-1"}
    return client.post(f"/api/v1/messages/{message_id}/reply", files=parts, headers=headers)


def test_the_receipt_is_stored_listed_and_served_byte_for_byte(api: Api, client: TestClient) -> None:
    created = api.created()
    response = _send(client, created["id"], complete_question_reply(), RECEIPT)
    assert response.status_code == 201, response.text
    [reply] = api.replies().json()["replies"]
    receipt = reply["receipt"]
    assert receipt["name"] == RECEIPT.name and receipt["media_type"] == "application/pdf"
    assert receipt["sha512"] == hashlib.sha512(RECEIPT.content).hexdigest()
    # Not one of the applicant's documents: no item lists it.
    listed = [f["id"] for item in reply["items"] for f in item["files"]]
    assert receipt["id"] not in listed
    fetched = client.get(f"/api/v1/replies/{reply['id']}/files/{receipt['id']}", headers=auth(KEY_A))
    assert fetched.status_code == 200 and fetched.content == RECEIPT.content


def test_a_reply_without_a_receipt_lists_none(api: Api) -> None:
    created = api.created()
    assert api.reply(created["id"], complete_question_reply()).status_code == 201
    assert api.replies().json()["replies"][0]["receipt"] is None


@pytest.mark.parametrize(
    ("receipt", "meta"),
    [
        (Upload("receipt", b"not a pdf", media_type="text/plain"), {}),
        (RECEIPT, {"sha512": "0" * 128}),
        (Upload("f1", RECEIPT.content), {}),  # the key of an applicant's file
    ],
    ids=["not-a-pdf", "hash", "key-taken"],
)
def test_a_receipt_that_does_not_fit_refuses_the_reply(
    api: Api, client: TestClient, settings: CaseServiceSettings, receipt: Upload, meta: dict[str, Any]
) -> None:
    created = api.created()
    response = _send(client, created["id"], complete_question_reply(), receipt, **meta)
    assert response.status_code == 422 and response.json()["code"] == "file_mismatch", response.text
    assert stored_files(settings) == []
