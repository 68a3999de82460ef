"""Both file storages behave alike: the local folder, and the database on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal.database import make_engine
from portal.intake.files import open_private
from portal.storage import CHUNK, DatabaseStorage, FileStorage, LocalStorage, StorageKeyError, make_storage

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["local", "database-sqlite", "database-postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FileStorage]:
    work = tmp_path / "files"
    work.mkdir()
    if request.param == "local":
        yield LocalStorage(work)
        return
    url = (
        request.getfixturevalue("pg_url")
        if request.param == "database-postgresql"
        else f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    )
    engine = make_engine(url)
    try:
        yield make_storage("database", engine, work, lambda: NOW)
    finally:
        engine.dispose()


def _put(storage: FileStorage, data: bytes) -> str:
    key = secrets.token_hex(16)
    with open_private(storage.work_dir / key) as handle:  # as intake writes it
        handle.write(data)
    storage.keep(key)
    return key


def test_a_kept_file_reads_back_whole(storage: FileStorage) -> None:
    # Over two chunks, so the database keeps several rows of it.
    data = os.urandom(2 * CHUNK + 123)
    key = _put(storage, data)
    assert storage.exists(key)
    with storage.open(key) as handle:
        assert hashlib.sha512(handle.read()).digest() == hashlib.sha512(data).digest()
    with storage.paths([key, key]) as paths:
        assert [p.read_bytes() == data for p in paths] == [True, True]
        assert all(p.stat().st_mode & 0o077 == 0 for p in paths)  # private to the portal
    if isinstance(storage, DatabaseStorage):
        # The shared storage leaves nothing on this machine: no work file, no reader's copy.
        assert list(storage.work_dir.iterdir()) == []


def test_a_deleted_file_is_gone_for_every_reader(storage: FileStorage) -> None:
    key = _put(storage, b"%PDF-1.7 x")
    storage.delete([key])
    storage.delete([key])  # gone already: no error
    assert not storage.exists(key)
    with pytest.raises(OSError), storage.open(key):
        pass
    with pytest.raises(OSError), storage.paths([key]):
        pass


def test_keys_are_never_paths(storage: FileStorage) -> None:
    for bad in ("../portal.sqlite3", "/etc/passwd", "A" * 32, "", "0" * 31):
        with pytest.raises(StorageKeyError):
            storage.exists(bad)
    with pytest.raises(StorageKeyError):
        storage.keep("../x")


def test_a_work_file_that_is_not_there_cannot_be_kept(storage: FileStorage) -> None:
    with pytest.raises(OSError):
        storage.keep(secrets.token_hex(16))


def test_purge_deletes_old_unreferenced_files_and_keeps_the_rest(storage: FileStorage) -> None:
    kept, orphan = _put(storage, b"a"), _put(storage, b"b")
    stray = storage.work_dir / secrets.token_hex(16)  # a crashed intake's work file
    stray.write_bytes(b"half")
    long_ago = (NOW - timedelta(days=3)).timestamp()
    for path in storage.work_dir.iterdir():
        os.utime(path, (long_ago, long_ago))
    # Nothing is old yet at a cutoff before it was stored.
    assert storage.purge([kept], NOW - timedelta(days=10)) == 0
    assert storage.exists(orphan)
    later = max(datetime.now(UTC), NOW) + timedelta(days=2)
    # In the local folder a stray work file and a stored file are both files there.
    assert storage.purge([kept], later) == (2 if isinstance(storage, LocalStorage) else 1)
    assert storage.exists(kept) and not storage.exists(orphan) and not stray.exists()


def test_the_settings_name_the_storage(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert isinstance(make_storage("local", engine, tmp_path, lambda: NOW), LocalStorage)
    assert isinstance(make_storage("database", engine, tmp_path, lambda: NOW), DatabaseStorage)
    with pytest.raises(ValueError, match="unknown"):
        make_storage("s3", engine, tmp_path, lambda: NOW)
    engine.dispose()
