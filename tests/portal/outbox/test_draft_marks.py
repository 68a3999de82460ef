"""Draft marks: only the first start counts, forgetting and purging work, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal.database import make_engine
from portal.outbox.draft_marks import DraftMarks

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _exercise(marks: DraftMarks) -> None:
    assert marks.started([]) == {}
    marks.mark("m1", T0)
    marks.mark("m1", T0 + timedelta(hours=2))  # a second start keeps the first time
    marks.mark("m2", T0 + timedelta(days=2))
    assert marks.started(["m1", "m2", "m3", "m1"]) == {"m1": T0, "m2": T0 + timedelta(days=2)}
    marks.forget("m2")
    assert marks.started(["m2"]) == {}
    marks.mark("m3", T0 + timedelta(days=3))
    marks.mark("m4", T0)
    # m4's draft is still saved: its mark stays however old.
    assert marks.purge(T0 + timedelta(days=1), keep=["m4"]) == 1
    assert set(marks.started(["m1", "m3", "m4"])) == {"m3", "m4"}
    assert marks.purge(T0 + timedelta(days=1)) == 1
    assert set(marks.started(["m1", "m3", "m4"])) == {"m3"}


def test_marks_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    try:
        _exercise(DraftMarks(engine))
    finally:
        engine.dispose()


def test_marks_on_postgresql(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        _exercise(DraftMarks(engine))
    finally:
        engine.dispose()


def test_the_time_is_kept_in_utc(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    try:
        marks = DraftMarks(engine)
        marks.mark("m1", T0)
        assert marks.started(["m1"])["m1"].tzinfo is not None
    finally:
        engine.dispose()


@pytest.mark.parametrize("count", [1, 60])
def test_many_ids_at_once(tmp_path: Path, count: int) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    try:
        marks = DraftMarks(engine)
        for i in range(count):
            marks.mark(f"m{i}", T0)
        assert len(marks.started([f"m{i}" for i in range(count)])) == count
    finally:
        engine.dispose()
