"""Fixtures for portal tests that talk to the real reference case service over HTTP."""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from portal.client import CaseServiceClient
from portal.domain.outgoing import ItemAnswer, OutgoingFile, OutgoingReply
from portal.outbox.store import PortalStore
from tests.fixtures.corpus import build_corpus
from tests.support import messages

AUTHORITY = "abh-potsdam"


@pytest.fixture(scope="module")
def case_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # Imported here so the tests of this folder that need no case service never depend on it.
    from tests.support.case_service import run_case_service

    with run_case_service(tmp_path_factory.mktemp("casesvc")) as service:
        yield service


@pytest.fixture
async def client(case_service: Any) -> AsyncIterator[CaseServiceClient]:
    """The portal's client of the reference case service."""
    async with CaseServiceClient(case_service.url, case_service.portal_key, timeout=5.0) as c:
        yield c


def authority_client(case_service: Any, authority: str = AUTHORITY) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=case_service.url,
        headers={"Authorization": f"Bearer {case_service.authority_keys[authority]}"},
        timeout=10,
        trust_env=False,
    )


# The portal suites' message (``tests.support.messages`` builds it): one required document and one
# optional, for an applicant who reads English; its reference names the files of ``make_reply``.
REFERENCE = "ABH-2026-0042"
MESSAGE = {
    "reference": REFERENCE,
    "applicant": "Amina Test",
    "language": "en",
    "deadline_in_days": 14,
    "items": (
        {"code": "employment_contract", "required": True, "note": "Mit Unterschrift"},
        {"code": "payslips", "required": False},
    ),
}

CreateMessage = Callable[..., Awaitable[tuple[str, str]]]


@pytest.fixture
def create_message(case_service: Any) -> CreateMessage:
    """POST a message as the authority; returns (message id, reply token)."""

    async def create(kind: str = "question", **overrides: Any) -> tuple[str, str]:
        async with authority_client(case_service) as http:
            message = messages.message_in(kind, **{**MESSAGE, **overrides})
            response = await http.post("/api/v1/messages", json=message)
        assert response.status_code == 201, response.text
        created = response.json()
        return created["id"], created["reply_link"].rsplit("/", 1)[1]

    return create


def make_reply(folder: Path, *, item_id: str = "item-1", n_files: int = 2, size: int = 300_000) -> OutgoingReply:
    """A valid reply for the question of ``MESSAGE``, its files written under ``folder`` (a local
    file storage's folder: each file's name is its storage key)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: list[OutgoingFile] = []
    for i in range(1, n_files + 1):
        data = b"%PDF-1.7\n" + os.urandom(size)
        key = secrets.token_hex(16)
        (folder / key).write_bytes(data)
        files.append(
            OutgoingFile(
                key=f"f{i}",
                name=f"Arbeitsvertrag_{REFERENCE}_{i}.pdf",
                media_type="application/pdf",
                size=len(data),
                sha512=hashlib.sha512(data).hexdigest(),
                stored_as=key,
            )
        )
    return OutgoingReply(
        submitted_at=datetime.now(UTC),
        language="en",
        text="Anbei der Arbeitsvertrag.",
        items=(
            ItemAnswer(item_id=item_id, status="provided", files=tuple(f.key for f in files)),
            ItemAnswer(item_id="item-2", status="not_available", reason="Noch nicht erhalten"),
        ),
        declaration=True,
        files=tuple(files),
    )


async def replies_for(case_service: Any, message_id: str) -> list[dict[str, Any]]:
    """Every reply the authority can collect for ``message_id``."""
    found: list[dict[str, Any]] = []
    after = 0
    async with authority_client(case_service) as http:
        while True:
            response = await http.get("/api/v1/replies", params={"after": after})
            assert response.status_code == 200, response.text
            page = response.json()
            found.extend(r for r in page["replies"] if r["message_id"] == message_id)
            if not page["replies"]:
                return found
            after = page["next_cursor"]


async def file_bytes(case_service: Any, reply_id: str, file_id: str) -> bytes:
    async with authority_client(case_service) as http:
        response = await http.get(f"/api/v1/replies/{reply_id}/files/{file_id}")
    assert response.status_code == 200, response.text
    return response.content


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The portal's database on SQLite, in a folder not made yet (the engine makes it)."""
    return f"sqlite:///{tmp_path / 'db' / 'portal.sqlite3'}"


@pytest.fixture
def store(database_url: str) -> Iterator[PortalStore]:
    """The portal's outbox store on SQLite, its tables made."""
    s = PortalStore(database_url)
    s.create_all()
    yield s
    s.dispose()


PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL (scale-out mode), dropped afterwards."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    pytest.importorskip("psycopg")
    admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"portal_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sqlalchemy.exc.OperationalError:
        admin.dispose()
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is not reachable; the scale-out tests need it running")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Read-only samples (tests copy a sample before changing it); see tests/fixtures/README.md."""
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    d = tmp_path / "files"
    d.mkdir()
    return d
