"""The receipt made before the commit, delivered with the reply, and the same document at the authority.

Against the real reference case service: the receipt rendered for a reply names each file's
SHA-512, and that is the SHA-512 of the bytes the authority fetches; the receipt itself arrives as
the reply's receipt, byte for byte the applicant's copy.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from pypdf import PdfReader

from portal.client import CaseServiceClient
from portal.domain import clock
from portal.intake.limits import DEFAULT_LIMITS
from portal.outbox import receipt_file
from portal.outbox.delivery import RetryPolicy, deliver_due
from portal.outbox.entries import ReferenceTaken, new_reference
from portal.outbox.receipts import Receipts
from portal.outbox.store import PortalStore
from portal.settings import PortalSettings
from portal.storage import FileStorage, make_storage
from tests.portal.conftest import CreateMessage, file_bytes, make_reply, replies_for


@pytest.fixture
def settings(tmp_path: Path, case_service: Any) -> PortalSettings:
    return PortalSettings(
        data_dir=tmp_path / "portal",
        case_service_url=case_service.url,
        case_service_key=SecretStr(case_service.portal_key),
        request_timeout_seconds=5.0,
    )


@pytest.fixture
def store(settings: PortalSettings) -> Iterator[PortalStore]:
    s = PortalStore(settings.effective_database_url)
    s.create_all()
    yield s
    s.dispose()


@pytest.fixture(params=["local", "database"])
def files(request: pytest.FixtureRequest, settings: PortalSettings, store: PortalStore) -> FileStorage:
    settings.files_dir.mkdir(parents=True, exist_ok=True)
    return make_storage(request.param, store.engine, settings.files_dir, clock.now)


@pytest.fixture
async def portal_client(settings: PortalSettings) -> AsyncIterator[CaseServiceClient]:
    key = settings.case_service_key.get_secret_value()
    async with CaseServiceClient(settings.case_service_url, key, timeout=settings.request_timeout_seconds) as c:
        yield c


async def test_the_hashes_on_the_receipt_are_those_of_the_bytes_the_authority_fetches(
    case_service: Any,
    create_message: CreateMessage,
    store: PortalStore,
    files: FileStorage,
    settings: PortalSettings,
    portal_client: CaseServiceClient,
) -> None:
    message_id, _ = await create_message()
    message = await portal_client.get_message(message_id)
    reply = make_reply(files.work_dir, n_files=2, size=50_000)
    for file in reply.files:
        files.keep(file.stored_as)
    now = datetime.now(UTC)
    reference = new_reference()
    prepared = receipt_file.prepare(message, reply, reference, now, files, settings.receipt_fonts_dir, DEFAULT_LIMITS)
    entry = store.enqueue(message_id, prepared.reply, f"receipt-{secrets.token_hex(4)}", now, reference, prepared.kept)
    assert entry.reference == reference and entry.held_reply().receipt is not None

    # The applicant's copy waits beside the outbox entry, until the link expires.
    receipts = Receipts(store.engine)
    kept = receipts.get(message_id, now)
    assert kept is not None and kept.pdf == prepared.kept.pdf and kept.reference == reference
    assert receipts.get(message_id, message.expires_at) is None

    policy = RetryPolicy(initial_seconds=1.0, max_seconds=5.0, poll_seconds=5.0)
    report = await deliver_due(store, files, portal_client, policy, now=now)
    assert report.delivered == (entry.reference,)
    assert not files.exists(prepared.reply.receipt.stored_as)  # delivered: the portal keeps no copy there
    assert receipts.get(message_id, now) is not None  # but the applicant's copy stays

    [delivered] = await replies_for(case_service, message_id)
    receipt = delivered["receipt"]
    fetched_receipt = await file_bytes(case_service, delivered["id"], receipt["id"])
    assert fetched_receipt == kept.pdf and receipt["name"] == f"Eingangsbestaetigung_{reference}.pdf"
    text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(fetched_receipt)).pages)
    flat = text.replace("\n", "")
    fetched = [file for item in delivered["items"] for file in item["files"]]
    assert len(fetched) == 2
    for file in fetched:
        data = await file_bytes(case_service, delivered["id"], file["id"])
        assert hashlib.sha512(data).hexdigest() in flat
        assert file["name"] in flat


def test_a_reference_taken_already_is_refused_and_nothing_is_kept(
    store: PortalStore, files: FileStorage, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    first = make_reply(tmp_path / "a", n_files=1, size=10)
    taken = store.enqueue("m-1", first, "key-1", now).reference
    kept = receipt_file.KeptReceipt("x.pdf", b"%PDF-", now + timedelta(days=1))
    with pytest.raises(ReferenceTaken):
        store.enqueue("m-2", make_reply(tmp_path / "b", n_files=1, size=10), "key-2", now, taken, kept)
    assert store.by_message("m-2") is None
    assert Receipts(store.engine).get("m-2", now) is None


def test_receipts_are_purged_when_their_link_expires(store: PortalStore, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    kept = receipt_file.KeptReceipt("Eingangsbestaetigung_RK.pdf", b"%PDF-1.7", now + timedelta(hours=1))
    store.enqueue("m-3", make_reply(tmp_path, n_files=1, size=10), "key-3", now, receipt=kept)
    receipts = Receipts(store.engine)
    assert receipts.exists("m-3", now)
    assert receipts.purge_expired(now) == 0
    assert receipts.purge_expired(now + timedelta(hours=2)) == 1
    assert not receipts.exists("m-3", now)


async def test_a_receipt_job_that_fails_leaves_no_file(
    create_message: CreateMessage, files: FileStorage, portal_client: CaseServiceClient, tmp_path: Path
) -> None:
    message_id, _ = await create_message()
    message = await portal_client.get_message(message_id)
    reply = make_reply(files.work_dir, n_files=1, size=1_000)
    before = set(files.work_dir.iterdir())
    with pytest.raises(Exception):  # noqa: B017 (the sandbox's refusal; the caller refuses on any)
        receipt_file.prepare(message, reply, new_reference(), datetime.now(UTC), files, tmp_path, DEFAULT_LIMITS)
    assert set(files.work_dir.iterdir()) == before
