"""Schemathesis against the COMMITTED OpenAPI document: the service answers what the contract says.

Every operation of openapi/case-service.json gets at most 25 generated examples per generation
phase (valid and invalid data), seeded and derandomized so a run is repeatable, each request bounded
by a 10 s timeout. Every answer must be: no server error, a documented status code and content type,
a body matching the documented schema, documented headers, invalid data refused, a missing
credential refused. About half of the valid examples use the ids of messages, replies and files
that really exist, so the 200 answers are checked too, not only the 404s.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis import checks as st_checks
from starlette.types import ASGIApp, Receive, Scope, Send

from casesvc.app import create_app
from casesvc.settings import CaseServiceSettings
from tests.casesvc.conftest import Api
from tests.casesvc.helpers import AUTHORITY_A, KEY_A, PORTAL_KEY, Clock, auth, complete_question_reply

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "case-service.json"
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260210,
        "base-url": "http://testserver",
        "request-timeout": 10,
        # No example database: nothing is written to the checkout, and every run starts equal.
        "generation": {"max-examples": 25, "deterministic": True, "database": "none"},
    }
)
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
    st_checks.response_headers_conformance,
    st_checks.negative_data_rejection,
    st_checks.ignored_auth,
]


class CurrentApp:
    """The ASGI app schemathesis calls: forwards to the service of the running test.

    Schemathesis binds an app when the operations are collected, before any fixture exists; the
    service needs a fresh data directory per test. The service's lifespan is run by the fixture's
    TestClient, so this wrapper answers schemathesis's own lifespan messages itself.
    """

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert self.app is not None, "the service fixture is not active"
        await self.app(scope, receive, send)


CURRENT = CurrentApp()
KNOWN_IDS: dict[str, str] = {}
schema = schemathesis.openapi.from_path(COMMITTED, config=CONFIG)
schema.app = CURRENT
turns = itertools.count()


@pytest.fixture
def service(settings: CaseServiceSettings, clock: Clock) -> Iterator[None]:
    application = create_app(settings, clock=clock)
    with TestClient(application) as client:
        api = Api(client)
        answered = api.created()
        assert api.reply(answered["id"], complete_question_reply()).status_code == 201
        reply = api.replies().json()["replies"][0]
        KNOWN_IDS.update(
            message_id=api.created(kind="appointment")["id"],
            reply_id=reply["id"],
            file_id=reply["items"][0]["files"][0]["id"],
            authority_id=AUTHORITY_A,
        )
        CURRENT.app = application
        try:
            yield
        finally:
            CURRENT.app = None
            KNOWN_IDS.clear()


@schema.parametrize()
# One service per operation, shared by that operation's examples.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_service_answers_as_the_committed_document_says(case: Any, service: None) -> None:
    turn = next(turns)
    tags = set(case.operation.definition.raw.get("tags", []))
    # The authority face with an authority key, the portal and staff faces with the portal key; an
    # operation of both faces (a message) is tried with each in turn.
    key = KEY_A if "authority" in tags and not ("portal" in tags and turn % 2) else PORTAL_KEY
    if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE and turn % 2 == 0:
        for name in case.path_parameters or {}:
            if name in KNOWN_IDS:
                case.path_parameters[name] = KNOWN_IDS[name]
    case.call_and_validate(headers=auth(key), checks=CHECKS)
