"""Where an accepted upload's bytes rest until the case service has them: one interface, two backends.

Intake writes every new file into a local work folder (``work_dir``, never served) and checks it
there; once accepted, :meth:`FileStorage.keep` makes it stored under its key (the upload's id, 32
hex digits). Everything after that (the draft, merging, the checks before the commit, delivery,
retention) names files by key and reads them through the storage, never by a path:

- :class:`LocalStorage` (the embedded default): the work folder *is* the storage; one instance.
- :class:`DatabaseStorage`: the bytes in the portal's database (``stored_files`` and
  ``stored_file_chunks``, 1 MiB per row), which every instance shares; PostgreSQL when scaled out.
  The work folder then only holds files being received and short-lived private copies for readers
  that need a path (the sandboxed parsers), deleted when they are done.

:meth:`FileStorage.delete` is the one way a stored file goes (draft, delivery, operator, retention).
"""

from __future__ import annotations

import contextlib
import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol, cast

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, MetaData, String, Table, delete, select
from sqlalchemy.engine import Engine

from portal.database import UtcDateTime
from portal.intake.files import delete_stored, open_private

__all__ = ["DatabaseStorage", "FileStorage", "LocalStorage", "StorageKeyError", "make_storage", "valid_key"]

CHUNK = 1024 * 1024
_KEY = re.compile(r"[0-9a-f]{32}")


class StorageKeyError(ValueError):
    """A key that is not a storage key (a path, a traversal attempt): never looked up."""


def valid_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise StorageKeyError("not a storage key")
    return key


class FileStorage(Protocol):
    @property
    def work_dir(self) -> Path:
        """Where intake creates new files (private, outside every served path)."""
        ...

    def keep(self, key: str) -> None:
        """The accepted file ``work_dir/key`` becomes stored under ``key``."""
        ...

    def open(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """The stored bytes, for reading; OSError when the file is gone."""
        ...

    def paths(self, keys: Sequence[str]) -> contextlib.AbstractContextManager[list[Path]]:
        """Readable paths of the stored files, valid inside the ``with`` block; OSError when one is gone."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, keys: Iterable[str]) -> None:
        """Deletes stored files; a file already gone is no error."""
        ...

    def purge(self, keep: Iterable[str], older_than: datetime) -> int:
        """Deletes what no one refers to (not in ``keep``) and was stored before ``older_than``,
        and work files left behind (a crash mid-intake); returns how many files went (the local
        folder cannot tell the two apart, the database counts its own)."""
        ...


class LocalStorage:
    """The files in one folder of this machine: the embedded default for a single instance."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    @property
    def work_dir(self) -> Path:
        return self._folder

    def _path(self, key: str) -> Path:
        return self._folder / valid_key(key)

    def keep(self, key: str) -> None:
        if not self._path(key).is_file():
            raise FileNotFoundError("no such work file")

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        with self._path(key).open("rb") as handle:
            yield handle

    @contextlib.contextmanager
    def paths(self, keys: Sequence[str]) -> Iterator[list[Path]]:
        paths = [self._path(key) for key in keys]
        for path in paths:
            if not path.is_file():
                raise FileNotFoundError("a stored file is gone")
        yield paths

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, keys: Iterable[str]) -> None:
        delete_stored(self._path(key) for key in keys)

    def purge(self, keep: Iterable[str], older_than: datetime) -> int:
        if not self._folder.is_dir():
            return 0
        kept = set(keep)
        cutoff = older_than.timestamp()
        # Everything but the files still referred to: a stored file's half-written replacement
        # (``files.temporary``) and a crashed intake's work file are orphans as well.
        orphans = [p for p in self._folder.rglob("*") if p.name not in kept and _older(p, cutoff)]
        delete_stored(orphans)
        _remove_empty_folders(self._folder)
        return sum(not path.exists() for path in orphans)


metadata = MetaData()

stored_files = Table(
    "stored_files",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("stored_at", UtcDateTime, nullable=False),
)

stored_file_chunks = Table(
    "stored_file_chunks",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)


class DatabaseStorage:
    """The files in the portal's database, so that every instance reads what any one received."""

    def __init__(self, engine: Engine, work_dir: Path, clock: _Clock) -> None:
        self.engine = engine
        self._work = work_dir
        self._now = clock
        metadata.create_all(engine)

    @property
    def work_dir(self) -> Path:
        return self._work

    def keep(self, key: str) -> None:
        source = self._work / valid_key(key)
        size = 0
        # One transaction: a file is stored whole or not at all.
        with self.engine.begin() as conn, source.open("rb") as handle:
            conn.execute(delete(stored_file_chunks).where(stored_file_chunks.c.key == key))
            conn.execute(delete(stored_files).where(stored_files.c.key == key))
            seq = 0
            while chunk := handle.read(CHUNK):
                conn.execute(stored_file_chunks.insert().values(key=key, seq=seq, data=chunk))
                size += len(chunk)
                seq += 1
            conn.execute(stored_files.insert().values(key=key, size=size, stored_at=self._now()))
        delete_stored([source])

    def _copy_to(self, key: str, target: BinaryIO) -> None:
        with self.engine.connect() as conn:
            size = conn.execute(select(stored_files.c.size).where(stored_files.c.key == valid_key(key))).scalar()
            if size is None:
                raise FileNotFoundError("a stored file is gone")
            seq = copied = 0
            # Chunk by chunk, so a large file never sits in memory whole.
            while True:
                row = conn.execute(
                    select(stored_file_chunks.c.data).where(
                        (stored_file_chunks.c.key == key) & (stored_file_chunks.c.seq == seq)
                    )
                ).first()
                if row is None:
                    break
                target.write(row.data)
                copied += len(row.data)
                seq += 1
        if copied != size:  # deleted while being read: never hand on a part of a file
            raise FileNotFoundError("a stored file is gone")

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        # An unnamed file in the work folder: gone with its handle, whatever happens.
        with tempfile.TemporaryFile(dir=self._work) as raw:
            handle = cast(BinaryIO, raw)
            self._copy_to(key, handle)
            handle.seek(0)
            yield handle

    @contextlib.contextmanager
    def paths(self, keys: Sequence[str]) -> Iterator[list[Path]]:
        copies: list[Path] = []
        try:
            for key in keys:
                # A private copy under a fresh random name (``.read`` marks it as a copy).
                path = self._work / f"{secrets.token_hex(16)}.read"
                copies.append(path)
                with open_private(path) as handle:
                    self._copy_to(key, handle)
            yield copies
        finally:
            delete_stored(copies)

    def exists(self, key: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(select(stored_files.c.key).where(stored_files.c.key == valid_key(key))).first() is not None
            )

    def delete(self, keys: Iterable[str]) -> None:
        doomed = [valid_key(key) for key in keys]
        if not doomed:
            return
        with self.engine.begin() as conn:
            conn.execute(delete(stored_file_chunks).where(stored_file_chunks.c.key.in_(doomed)))
            conn.execute(delete(stored_files).where(stored_files.c.key.in_(doomed)))

    def purge(self, keep: Iterable[str], older_than: datetime) -> int:
        kept = set(keep)
        with self.engine.connect() as conn:
            old = [
                row.key for row in conn.execute(select(stored_files.c.key).where(stored_files.c.stored_at < older_than))
            ]
        doomed = [key for key in old if key not in kept]
        self.delete(doomed)
        # Work files live seconds (received, checked, kept) and copies a block: any older one
        # was left by a crash.
        if self._work.is_dir():
            cutoff = older_than.timestamp()
            delete_stored(p for p in self._work.rglob("*") if _older(p, cutoff))
            _remove_empty_folders(self._work)
        return len(doomed)


class _Clock(Protocol):
    def __call__(self) -> datetime: ...


def make_storage(kind: str, engine: Engine, folder: Path, clock: _Clock) -> FileStorage:
    """The storage the settings name: ``local`` (``folder``) or ``database`` (``engine``'s)."""
    if kind == "database":
        return DatabaseStorage(engine, folder, clock)
    if kind == "local":
        return LocalStorage(folder)
    raise ValueError("unknown file storage")


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.is_file() and path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def _remove_empty_folders(root: Path) -> None:
    # Deepest first, never the root itself; an upload may land in one meanwhile: then it stays.
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            with contextlib.suppress(OSError):
                folder.rmdir()
