"""Server-side texts: values go into placeholders once and are never format strings themselves."""

from __future__ import annotations

import pytest

from portal.state.language import LanguageState
from portal.state.reply import ReplyState


@pytest.mark.parametrize(
    "name",
    ["{operator_name:>20000000}.txt", "{0}.txt", "{name}{name}.pdf", "{max_size!r:>99}.png", "{__class__}.jpg"],
)
def test_a_file_name_that_looks_like_a_placeholder_is_shown_as_it_is(make_state, name: str) -> None:
    state = make_state(ReplyState)
    text = state._tr("upload.removed", name=name)
    assert name in text
    assert len(text) < 200


def test_portal_values_are_still_filled(make_state) -> None:
    state = make_state(ReplyState)
    text = state._tr("error.file_too_large", name="scan.pdf")
    assert "scan.pdf" in text and "{max_size}" not in text


def test_plural_texts_fill_once_too(make_state) -> None:
    state = make_state(ReplyState)
    assert "{count}" not in state._tr_count("upload.added", 3)


def test_an_unknown_key_is_never_formatted(make_state) -> None:
    state = make_state(LanguageState)
    assert state._tr("{operator_name:>1000000000}") == "{operator_name:>1000000000}"
