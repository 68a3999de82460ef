"""The applicant's uploads in the real state tree: the limit per link and the guard's refusal."""

from __future__ import annotations

from typing import Any

from portal.state.reply import ReplyState
from tests.portal.state.conftest import tab, verified


async def test_the_upload_limit_per_link_shows_a_translated_refusal(configure: Any) -> None:
    configure(uploads_per_link=2)
    state = tab(ReplyState)
    verified(state)
    assert await state._count_upload() is None
    assert await state._count_upload() is None
    assert await state._count_upload() is not None
    assert state.upload_errors == [
        "Sie haben in kurzer Zeit sehr viele Dateien hochgeladen. Das Hochladen ist darum kurz angehalten. "
        "Bitte warten Sie 10 Minuten und versuchen Sie es dann noch einmal."
    ]
    # Another link has its own count.
    other = tab(ReplyState)
    verified(other)
    other._token = "U" * 43
    assert await other._count_upload() is None


async def test_the_guards_upload_refusal_is_shown_only_for_its_own_code(configure: Any) -> None:
    configure()
    state = tab(ReplyState)
    state.upload_refused("too_many_uploads", 3)
    assert state.upload_errors == []  # no verified link: nothing to say
    verified(state)
    state.upload_refused("link_expired", 3)
    assert state.upload_errors == []
    state.upload_refused("too_many_uploads", 3)
    assert state.upload_errors[0].endswith("Bitte warten Sie 3 Minuten und versuchen Sie es dann noch einmal.")
