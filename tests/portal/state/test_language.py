"""Server-side texts: values go into placeholders once and are never format strings themselves; the
language a link opens in: the person's own pick on the device, the case's, the browser's, German."""

from __future__ import annotations

import pytest
from reflex.istate.data import HeaderData, RouterData, SessionData

from portal.state.language import LANGUAGE_COOKIE_MAX_AGE, LanguageState, _language_cookie
from portal.state.reply import ReplyState
from tests.portal.state.conftest import substate


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


# ---------------------------------------------------------------- which language a link opens in


async def _open(token: str, accept_language: str, picked: str = "") -> ReplyState:
    """A new tab that opens the reply link in a browser asking for ``accept_language``, on a
    device whose language cookie holds ``picked``."""
    state = substate(ReplyState)
    headers = HeaderData(accept_language=accept_language)
    state.router = RouterData(session=SessionData(client_token="tab-1", client_ip="127.0.0.1"), headers=headers)
    state.picked_language = picked
    state._token = token
    await state._verify_and_show()
    assert state.phase == "ready", state.error_code
    return state


async def test_a_case_without_a_language_opens_in_the_browsers(portal_runtime, create_message) -> None:
    _, token = await create_message("intent_to_refuse", language=None)
    state = await _open(token, "ar-EG,ar;q=0.9,de;q=0.5")
    assert (state.lang, state.dir) == ("ar", "rtl")
    assert (await _open(token, "ja, tlh;q=0.4")).lang == "de"


async def test_the_cases_language_comes_before_the_browsers(portal_runtime, create_message) -> None:
    _, token = await create_message("question", language="fa")
    assert (await _open(token, "en")).lang == "fa"


async def test_a_pick_is_kept_for_the_next_link_and_comes_first(portal_runtime, create_message) -> None:
    _, token = await create_message("question", language="ar")
    state = await _open(token, "ar")
    assert state.picked_language == ""  # nothing is written until the person picks
    state.switch_language("en")
    assert state.picked_language == "en"
    # The next link on this device: its cookie holds the pick, which outranks case and browser.
    _, other = await create_message("question", language="ar")
    assert (await _open(other, "ar", picked=state.picked_language)).lang == "en"
    # A code the portal does not offer (an old or altered cookie) counts as no pick.
    assert (await _open(other, "en", picked="xx")).lang == "ar"


@pytest.mark.parametrize(("public_url", "secure"), [("https://portal.example", True), ("http://127.0.0.1:3000", False)])
def test_the_language_cookie_is_secure_over_https(configure, public_url: str, secure: bool) -> None:
    configure(public_url=public_url)
    cookie = _language_cookie()
    assert (cookie.name, cookie.secure, cookie.same_site, cookie.path) == ("rk_lang", secure, "lax", "/")
    assert cookie.max_age == LANGUAGE_COOKIE_MAX_AGE == 180 * 24 * 3600
