"""A request for more time: taken as a structured field of the reply, stored with it, handed to
the authority and named in the staff list. The message's deadline is 2026-03-03."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from casesvc.schemas import MAX_EXTENSION_DAYS
from tests.casesvc.conftest import Api
from tests.casesvc.helpers import AUTHORITY_A, PORTAL_KEY, Clock, ReplyDraft, auth, complete_question_reply

DEADLINE = date(2026, 3, 3)


def more_time(until: date = date(2026, 3, 31), reason: str = "Der Arbeitgeber stellt den Vertrag erst aus") -> Any:
    return {"until": until.isoformat(), "reason": reason}


def alone(**request: Any) -> ReplyDraft:
    """More time asked, nothing else: every requested item stays open."""
    return ReplyDraft(items=[], uploads=[], extra={"extension_request": more_time(**request), "text": ""})


def test_more_time_alone_is_taken_and_reaches_the_authority(api: Api) -> None:
    created = api.created()
    response = api.reply(created["id"], alone())
    assert response.status_code == 201, response.text
    [reply] = api.replies().json()["replies"]
    assert reply["extension_request"] == {"until": "2026-03-31", "reason": more_time()["reason"]}
    assert reply["items"] == []


def test_more_time_with_the_documents_that_are_ready(api: Api) -> None:
    created = api.created()
    draft = complete_question_reply()
    draft.items = draft.items[:1]  # item-2 (required) and item-3 stay open
    draft.uploads = draft.uploads[:1]
    draft.extra["extension_request"] = more_time()
    assert api.reply(created["id"], draft).status_code == 201
    [reply] = api.replies().json()["replies"]
    assert [i["item_id"] for i in reply["items"]] == ["item-1"]
    assert reply["extension_request"]["until"] == "2026-03-31"


def test_a_reply_without_it_says_null_and_keeps_the_old_rules(api: Api) -> None:
    created = api.created()
    assert api.reply(created["id"], complete_question_reply()).status_code == 201
    assert api.replies().json()["replies"][0]["extension_request"] is None
    other = api.created()
    draft = complete_question_reply()
    draft.items = draft.items[:1]
    draft.uploads = draft.uploads[:1]
    response = api.reply(other["id"], draft, idempotency_key="key-2")
    assert response.status_code == 422 and response.json()["code"] == "items_incomplete"


@pytest.mark.parametrize(
    "until",
    [DEADLINE, DEADLINE - timedelta(days=1), DEADLINE + timedelta(days=MAX_EXTENSION_DAYS + 1)],
    ids=["on-the-deadline", "before-the-deadline", "too-far"],
)
def test_a_date_not_after_the_deadline_or_too_far_is_422(api: Api, until: date) -> None:
    created = api.created()
    response = api.reply(created["id"], alone(until=until))
    assert response.status_code == 422 and response.json()["code"] == "extension_invalid", response.text


def test_the_last_day_allowed_is_taken(api: Api) -> None:
    created = api.created()
    assert api.reply(created["id"], alone(until=DEADLINE + timedelta(days=MAX_EXTENSION_DAYS))).status_code == 201


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001], ids=["empty", "blank", "too-long"])
def test_a_reason_is_required_and_bounded(api: Api, reason: str) -> None:
    created = api.created()
    response = api.reply(created["id"], alone(reason=reason))
    assert response.status_code == 422, response.text


def test_an_appointment_takes_no_request_for_more_time(api: Api) -> None:
    created = api.created(kind="appointment")
    draft = ReplyDraft(extra={"appointment": {"answer": "confirm"}, "extension_request": more_time()})
    response = api.reply(created["id"], draft)
    assert response.status_code == 422 and response.json()["code"] == "extension_invalid"


def test_a_late_delivery_is_judged_by_the_deadline_not_by_today(api: Api, clock: Clock) -> None:
    # Submitted while the link was open, delivered after the requested date itself has passed.
    created = api.created()
    clock.advance(timedelta(days=35))  # 2026-03-17, after the deadline, before the link expires
    submitted = clock.now
    clock.advance(timedelta(days=20))
    draft = alone(until=date(2026, 3, 10))
    draft.submitted_at = submitted
    assert api.reply(created["id"], draft).status_code == 201


def test_the_staff_list_says_until_when_more_time_was_asked(api: Api, client: TestClient) -> None:
    asked, plain = api.created(), api.created()
    assert api.reply(asked["id"], alone()).status_code == 201
    assert api.reply(plain["id"], complete_question_reply(), idempotency_key="key-2").status_code == 201
    listed = client.get(f"/api/v1/staff/{AUTHORITY_A}/messages", headers=auth(PORTAL_KEY)).json()
    until = {entry["id"]: entry["extension_requested_until"] for entry in listed}
    assert until == {asked["id"]: "2026-03-31", plain["id"]: None}
