"""The checks before a reply is committed: files stored, whole, unchanged, within the limits."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from portal.domain.outgoing import OutgoingFile, OutgoingReply
from portal.intake.limits import Limits
from portal.outbox.commit_checks import files_fit, files_intact
from portal.storage import LocalStorage

LIMITS = Limits(max_file_bytes=1000, max_files_per_item=5, max_files_per_reply=3, max_reply_bytes=2000)


def _reply(*files: OutgoingFile) -> OutgoingReply:
    return OutgoingReply(submitted_at=datetime.now(UTC), language="de", declaration=True, files=files)


def _file(folder: Path, key: str, data: bytes) -> OutgoingFile:
    stored_as = key * 16  # "f1" -> a 32-digit storage key
    (folder / stored_as).write_bytes(data)
    return _declared(key, len(data), hashlib.sha512(data).hexdigest(), stored_as)


def _declared(key: str, size: int, sha512: str = "0" * 128, stored_as: str = "e" * 32) -> OutgoingFile:
    return OutgoingFile(
        key=key, name=f"{key}.pdf", media_type="application/pdf", size=size, sha512=sha512, stored_as=stored_as
    )


def test_whole_files_pass(tmp_path: Path) -> None:
    reply = _reply(_file(tmp_path, "f1", b"a" * 10), _file(tmp_path, "f2", b"b" * 20))
    assert files_intact(reply, LocalStorage(tmp_path)) is None
    assert files_fit(reply, LIMITS) is None


def test_a_file_gone_changed_or_cut_is_found(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    file = _file(tmp_path, "f1", b"a" * 10)
    path = tmp_path / file.stored_as
    path.write_bytes(b"b" * 10)  # same size, other bytes
    assert files_intact(_reply(file), storage) == "upload_missing"
    path.write_bytes(b"a" * 9)
    assert files_intact(_reply(file), storage) == "upload_missing"
    path.unlink()
    assert files_intact(_reply(file), storage) == "upload_missing"


def test_limits() -> None:
    assert files_fit(_reply(*(_declared(f"f{i}", 10) for i in range(4))), LIMITS) == "too_many_files_reply"
    assert files_fit(_reply(_declared("f1", 1001)), LIMITS) == "reply_too_large"
    assert files_fit(_reply(*(_declared(f"f{i}", 900) for i in range(3))), LIMITS) == "reply_too_large"
