"""The checks before a reply is committed: files on disk, whole, unchanged, within the limits."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from portal.domain.outgoing import OutgoingFile, OutgoingReply
from portal.intake.limits import Limits
from portal.outbox.commit_checks import files_fit, files_intact

LIMITS = Limits(max_file_bytes=1000, max_files_per_item=5, max_files_per_reply=3, max_reply_bytes=2000)


def _reply(*files: OutgoingFile) -> OutgoingReply:
    return OutgoingReply(submitted_at=datetime.now(UTC), language="de", declaration=True, files=files)


def _file(folder: Path, key: str, data: bytes) -> OutgoingFile:
    path = folder / key
    path.write_bytes(data)
    return _declared(key, len(data), hashlib.sha512(data).hexdigest(), path)


def _declared(key: str, size: int, sha512: str = "0" * 128, path: Path = Path("/nonexistent")) -> OutgoingFile:
    return OutgoingFile(key=key, name=f"{key}.pdf", media_type="application/pdf", size=size, sha512=sha512, path=path)


def test_whole_files_pass(tmp_path: Path) -> None:
    reply = _reply(_file(tmp_path, "f1", b"a" * 10), _file(tmp_path, "f2", b"b" * 20))
    assert files_intact(reply) is None
    assert files_fit(reply, LIMITS) is None


def test_a_file_gone_changed_or_cut_is_found(tmp_path: Path) -> None:
    file = _file(tmp_path, "f1", b"a" * 10)
    file.path.write_bytes(b"b" * 10)  # same size, other bytes
    assert files_intact(_reply(file)) == "upload_missing"
    file.path.write_bytes(b"a" * 9)
    assert files_intact(_reply(file)) == "upload_missing"
    file.path.unlink()
    assert files_intact(_reply(file)) == "upload_missing"


def test_limits() -> None:
    assert files_fit(_reply(*(_declared(f"f{i}", 10) for i in range(4))), LIMITS) == "too_many_files_reply"
    assert files_fit(_reply(_declared("f1", 1001)), LIMITS) == "reply_too_large"
    assert files_fit(_reply(*(_declared(f"f{i}", 900) for i in range(3))), LIMITS) == "reply_too_large"
