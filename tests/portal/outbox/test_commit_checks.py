"""The checks before a reply is committed: files on disk, whole, unchanged, within the limits."""

from __future__ import annotations

import hashlib
from pathlib import Path

from portal.intake.limits import Limits
from portal.outbox.commit_checks import files_fit, files_intact
from portal.outbox.store import OutgoingFile

LIMITS = Limits(max_file_bytes=1000, max_files_per_item=5, max_files_per_reply=3, max_reply_bytes=2000)


def _file(folder: Path, key: str, data: bytes) -> tuple[dict[str, object], OutgoingFile]:
    path = folder / key
    path.write_bytes(data)
    meta = {"key": key, "size": len(data), "sha512": hashlib.sha512(data).hexdigest()}
    return meta, OutgoingFile(key=key, path=path, media_type="application/pdf", name=f"{key}.pdf")


def test_whole_files_pass(tmp_path: Path) -> None:
    (m1, o1), (m2, o2) = _file(tmp_path, "f1", b"a" * 10), _file(tmp_path, "f2", b"b" * 20)
    assert files_intact([m1, m2], [o1, o2]) is None
    assert files_fit([m1, m2], LIMITS) is None


def test_a_file_gone_changed_or_cut_is_found(tmp_path: Path) -> None:
    meta, out = _file(tmp_path, "f1", b"a" * 10)
    out.path.write_bytes(b"b" * 10)  # same size, other bytes
    assert files_intact([meta], [out]) == "upload_missing"
    out.path.write_bytes(b"a" * 9)
    assert files_intact([meta], [out]) == "upload_missing"
    out.path.unlink()
    assert files_intact([meta], [out]) == "upload_missing"


def test_a_file_not_declared_is_found(tmp_path: Path) -> None:
    _, out = _file(tmp_path, "f1", b"a")
    assert files_intact([], [out]) == "upload_missing"


def test_limits(tmp_path: Path) -> None:
    metas = [{"key": f"f{i}", "size": 10, "sha512": "0" * 128} for i in range(4)]
    assert files_fit(metas, LIMITS) == "too_many_files_reply"
    assert files_fit([{"key": "f1", "size": 1001, "sha512": "0" * 128}], LIMITS) == "reply_too_large"
    assert files_fit([{"key": f"f{i}", "size": 900, "sha512": "0"} for i in range(3)], LIMITS) == "reply_too_large"
