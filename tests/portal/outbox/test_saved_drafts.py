"""Saved drafts on SQLite and PostgreSQL: versions, conflicts, expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from portal.database import make_engine
from portal.outbox.saved_drafts import DraftConflict, SavedDrafts

NOW = datetime(2026, 12, 7, 14, 2, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=14)


@pytest.fixture(params=["sqlite", "postgresql"])
def drafts(request: pytest.FixtureRequest, database_url: str) -> Iterator[SavedDrafts]:
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else database_url
    engine = make_engine(url)
    yield SavedDrafts(engine)
    engine.dispose()


def _body(text: str = "", *keys: str) -> dict[str, object]:
    """A saved form as far as the store looks into it: its uploads' keys."""
    return {"text": text, "uploads": [{"id": key} for key in keys]}


def test_each_save_is_the_next_version_and_loads_back(drafts: SavedDrafts) -> None:
    assert drafts.load("msg-1") is None and drafts.version("msg-1") == 0
    first = drafts.save("msg-1", _body("a", "k1"), 0, NOW, EXPIRES)
    second = drafts.save("msg-1", _body("ab", "k1", "k2"), first.version, NOW + timedelta(minutes=1), EXPIRES)
    assert (first.version, second.version) == (1, 2)
    loaded = drafts.load("msg-1")
    assert loaded is not None
    assert (loaded.version, loaded.body, loaded.saved_at) == (2, _body("ab", "k1", "k2"), NOW + timedelta(minutes=1))
    assert sorted(drafts.file_keys()) == ["k1", "k2"]


def test_a_save_from_an_older_version_is_refused_with_the_current_one(drafts: SavedDrafts) -> None:
    drafts.save("msg-1", _body("first device"), 0, NOW, EXPIRES)
    # A second browser that also started from nothing must not overwrite the first.
    with pytest.raises(DraftConflict):
        drafts.save("msg-1", _body("second device"), 0, NOW, EXPIRES)
    drafts.save("msg-1", _body("first device, later"), 1, NOW, EXPIRES)
    with pytest.raises(DraftConflict) as conflict:
        drafts.save("msg-1", _body("second device"), 1, NOW, EXPIRES)
    assert conflict.value.current is not None and conflict.value.current.body == _body("first device, later")
    assert drafts.load("msg-1").body == _body("first device, later")  # type: ignore[union-attr]


def test_expired_drafts_go_with_their_file_keys_and_the_rest_stay(drafts: SavedDrafts) -> None:
    drafts.save("old", _body("", "k-old"), 0, NOW, NOW + timedelta(days=1))
    drafts.save("live", _body("", "k-live"), 0, NOW, EXPIRES)
    assert sorted(drafts.message_ids()) == ["live", "old"]
    assert drafts.purge_expired(NOW + timedelta(days=2)) == ["k-old"]
    assert drafts.load("old") is None and drafts.load("live") is not None
    assert drafts.file_keys() == ["k-live"]
    drafts.forget("live")
    assert drafts.load("live") is None and drafts.file_keys() == []
