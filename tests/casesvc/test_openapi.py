from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from casesvc.app import create_app
from casesvc.cli import openapi_document
from casesvc.settings import CaseServiceSettings

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "case-service.json"
HOW_TO_FIX = (
    "the committed OpenAPI document is stale; regenerate: python -m casesvc openapi > openapi/case-service.json"
)


def test_committed_openapi_matches_the_app(settings: CaseServiceSettings) -> None:
    generated = json.loads(json.dumps(create_app(settings).openapi()))
    assert json.loads(COMMITTED.read_text(encoding="utf-8")) == generated, HOW_TO_FIX


def test_committed_openapi_is_byte_identical_to_the_cli_output() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == openapi_document(), HOW_TO_FIX


def test_openapi_documents_both_faces_and_the_multipart_reply() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert document["info"] == {
        "title": "Rückkanal case service",
        "version": "1.0.0",
        "description": document["info"]["description"],
    }
    assert {
        "/api/v1/messages",
        "/api/v1/messages/{message_id}",
        "/api/v1/messages/{message_id}/revoke",
        "/api/v1/messages/{message_id}/reply",
        "/api/v1/replies",
        "/api/v1/replies/{reply_id}/files/{file_id}",
        "/api/v1/links/resolve",
        "/health",
    } <= set(document["paths"])
    body = document["paths"]["/api/v1/messages/{message_id}/reply"]["post"]["requestBody"]
    reply_ref = body["content"]["multipart/form-data"]["schema"]["properties"]["reply"]["$ref"]
    assert reply_ref == "#/components/schemas/ReplyIn" and "ReplyIn" in document["components"]["schemas"]
    # Every error answer is documented as a Problem, never as FastAPI's default validation error.
    assert "HTTPValidationError" not in document["components"]["schemas"]


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]


def test_openapi_documents_every_answer_the_guard_and_the_parser_give() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    for path, method, operation in _operations(document):
        responses = set(operation["responses"])
        assert "413" in responses, (method, path)  # any request may carry an oversize body
        if path != "/health":
            assert operation["security"] == [{"HTTPBearer": []}], (method, path)
            assert {"401", "403", "422"} <= responses, (method, path)
        body = operation.get("requestBody", {}).get("content", {})
        if body:
            # Malformed JSON (or a malformed JSON part of the reply) is 400, a broken rule 422.
            assert {"400", "422"} <= responses, (method, path)


def test_openapi_marks_the_idempotency_key_required() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    reply = document["paths"]["/api/v1/messages/{message_id}/reply"]["post"]
    (header,) = [p for p in reply["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and header["required"] is True
    assert header["schema"]["type"] == "string" and header["schema"]["pattern"] == "^[A-Za-z0-9_-]{1,128}$"
    file_answer = document["paths"]["/api/v1/replies/{reply_id}/files/{file_id}"]["get"]["responses"]["200"]
    assert set(file_answer["content"]) == {"*/*"}  # served with the file's own media type
