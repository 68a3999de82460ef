from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from casesvc.app import create_app
from casesvc.settings import CaseServiceSettings
from tests.casesvc.helpers import (
    AUTHORITY_A,
    AUTHORITY_B,
    KEY_A,
    KEY_B,
    PORTAL_KEY,
    TODAY,
    Clock,
    ReplyDraft,
    auth,
)
from tests.support.messages import message_in


@pytest.fixture(autouse=True)
def _no_casesvc_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The developer's CASESVC_* variables must not change what these tests see.
    import os

    for name in list(os.environ):
        if name.startswith("CASESVC_"):
            monkeypatch.delenv(name)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., CaseServiceSettings]:
    def make(**overrides: Any) -> CaseServiceSettings:
        values: dict[str, Any] = {
            "portal_key": PORTAL_KEY,
            "authority_keys": {KEY_A: AUTHORITY_A, KEY_B: AUTHORITY_B},
            "data_dir": tmp_path / "data",
            "portal_base_url": "https://portal.example.de",
        }
        values.update(overrides)
        return CaseServiceSettings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., CaseServiceSettings]) -> CaseServiceSettings:
    return make_settings()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(settings: CaseServiceSettings, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock)) as test_client:
        yield test_client


class Api:
    """Short calls for the tests; each returns the raw response so status codes stay visible."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def create(self, key: str = KEY_A, **kw: Any) -> Any:
        """A message built on the clock's first day, for an applicant who reads English."""
        message = message_in(**{"today": TODAY, "language": "en", **kw})
        return self.client.post("/api/v1/messages", json=message, headers=auth(key))

    def created(self, key: str = KEY_A, **kw: Any) -> dict[str, Any]:
        response = self.create(key, **kw)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def resolve(self, link: str, key: str = PORTAL_KEY) -> Any:
        return self.client.post("/api/v1/links/resolve", json={"token": link.rsplit("/", 1)[1]}, headers=auth(key))

    def reply(self, message_id: str, draft: ReplyDraft, idempotency_key: str = "key-1", key: str = PORTAL_KEY) -> Any:
        headers = auth(key) | {"Idempotency-Key": idempotency_key}
        return self.client.post(f"/api/v1/messages/{message_id}/reply", files=draft.multipart(), headers=headers)

    def replies(self, key: str = KEY_A, after: int = 0, limit: int = 50) -> Any:
        return self.client.get("/api/v1/replies", params={"after": after, "limit": limit}, headers=auth(key))


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)
