"""Private upload files: created new (never following or reusing a path), readable by the portal only."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

__all__ = ["delete_stored", "open_private", "rewrite", "temporary"]

# O_EXCL: never reuse or follow an existing path; 0o600: only the portal reads uploads.
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def open_private(path: Path) -> BinaryIO:
    return os.fdopen(os.open(path, _FLAGS, 0o600), "wb")


def temporary(path: Path) -> Path:
    """Where :func:`rewrite` writes the new content of ``path`` before it replaces it."""
    return path.with_name(path.name + ".new")


def rewrite(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Replace ``path`` by what ``write`` writes, atomically: a reader sees the old or the new file."""
    tmp = temporary(path)
    try:
        with open_private(tmp) as fh:
            write(fh)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def delete_stored(paths: Iterable[Path]) -> None:
    """Delete stored upload files (and any half-written replacement of one); the one place that
    does, whoever no longer needs them: the draft, the delivery, the operator, the retention purge.
    A file already gone is no error, and a failure to delete one does not stop the others."""
    for path in paths:
        for candidate in (path, temporary(path)):
            with contextlib.suppress(OSError):
                candidate.unlink(missing_ok=True)
