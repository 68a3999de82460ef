"""What a reply link is: its token's format, its path as the guard and the head script read it,
and ``open_link`` against the real reference case service for every outcome."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from portal import links, routes
from portal.client import CaseServiceClient
from portal.domain import errors
from portal.domain.message import LinkState, MessageKind
from portal.storage import LocalStorage
from tests.portal.conftest import CreateMessage, make_reply
from tests.support import messages
from tests.support.case_service import free_port

# ---------------------------------------------------------------- the token's format


@pytest.mark.parametrize(
    "token",
    [
        "A" * 16,
        "z" * 128,
        secrets.token_urlsafe(32),  # what the case service issues: 43 characters
        "abc-DEF_123-ghi_456",
        "-" * 20,
        "_" * 20,
    ],
)
def test_well_formed_tokens(token: str) -> None:
    assert links.is_token(token)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "A" * 15,  # one too short
        "A" * 129,  # one too long
        "A" * 42 + "=",  # base64 padding
        "A" * 42 + "+",
        "A" * 42 + "/",
        "A" * 42 + ".",
        "A" * 21 + " " + "A" * 21,
        "A" * 43 + "\n",  # a trailing newline, which "$" alone would let through
        "\n" + "A" * 43,
        "Ä" * 20,
        "A" * 40 + "%41",
        "not-a-token!",
    ],
)
def test_malformed_tokens(token: str) -> None:
    assert not links.is_token(token)


# ---------------------------------------------------------------- the link's path


@pytest.mark.parametrize(
    ("path", "token"),
    [
        ("/r/" + "A" * 43, "A" * 43),
        ("/r/abc", "abc"),  # malformed, still a link: the reply page says it is not complete
        ("/r/abc/", "abc"),
        ("/r/", None),
        ("/r", None),
        ("/r/a/b", None),
        ("/r/abc//", None),
        ("//r/abc", None),
        ("/reply", None),
        ("/rx/abc", None),
        ("/staff/r/abc", None),
    ],
)
def test_the_token_in_a_path(path: str, token: str | None) -> None:
    assert links.token_in_path(path) == token


def test_the_paths_come_from_the_routes() -> None:
    assert links.token_in_path(routes.LINK_PREFIX + "A" * 43) == "A" * 43
    assert links.CLEAR == f'history.replaceState(null,"","{routes.REPLY}");'


@pytest.mark.parametrize(("fragment", "token"), [("t=" + "A" * 43, "A" * 43), ("t=", ""), ("main", ""), ("", "")])
def test_the_handed_over_token(fragment: str, token: str) -> None:
    assert links.handed_over_token(fragment) == token


def test_the_head_script_runs_the_python_pattern() -> None:
    found = re.search(r"new RegExp\((\"[^\"]*\")\)", links.HANDOFF)
    assert found is not None
    assert json.loads(found.group(1)) == links.LINK_PATH.pattern


SCRIPT_PATHS = ["/r/" + "A" * 43, "/r/abc/", "/r/abc", "/r/", "/r/a/b", "/r/abc//", "/reply", "/", "/help", "/rx/abc"]


def _run_in_node(script: str, pathname: str, nonce: str | None = None) -> str | None:
    """Runs ``script`` in Node with the browser's ``location``, ``history`` and a document holding
    the first response's ``nonce`` (if any); the address it put into the history, if any."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node is not installed")
    program = (
        f"var location={{pathname:{json.dumps(pathname)}}};var replaced=null;"
        "var history={replaceState:function(s,t,url){replaced=url;}};"
        f"var nonce={json.dumps(nonce)};"
        "var document={documentElement:{},getElementById:function(){return null;},"
        "querySelector:function(q){return q.indexOf('meta')===0&&nonce!==null?{content:nonce}:null;}};"
        "function MutationObserver(){this.observe=function(){};this.disconnect=function(){};}"
        f"{script}\nconsole.log(JSON.stringify(replaced));"
    )
    done = subprocess.run([node, "-e", program], capture_output=True, text=True, timeout=30, check=True)
    result: str | None = json.loads(done.stdout)
    return result


def test_the_head_script_hands_over_exactly_what_the_guard_serves() -> None:
    for path in SCRIPT_PATHS:
        token = links.token_in_path(path)
        expected = None if token is None else f"{routes.REPLY}#{links.FRAGMENT_PREFIX}{token}"
        assert _run_in_node(links.HANDOFF, path) == expected, path
        if token is not None:
            assert links.handed_over_token(expected.split("#", 1)[1]) == token


def test_the_head_script_hands_over_the_nonce_of_the_first_response() -> None:
    token = "A" * 43
    handed = _run_in_node(links.HANDOFF, "/r/" + token, nonce="n0nce-value")
    assert handed == f"{routes.REPLY}#{links.FRAGMENT_PREFIX}{token}{links.NONCE_SEPARATOR}n0nce-value"
    assert links.handed_over(handed.split("#", 1)[1]) == (token, "n0nce-value")
    assert links.handed_over("main") == ("", "")


def test_the_clearing_script_leaves_the_reply_page() -> None:
    assert _run_in_node(links.CLEAR, "/reply") == routes.REPLY


# ---------------------------------------------------------------- open_link against the case service


async def test_an_open_link_shows_its_request(client: CaseServiceClient, create_message: CreateMessage) -> None:
    message_id, token = await create_message()
    opened = await links.open_link(client, token)
    assert opened.message.id == message_id and opened.message.kind is MessageKind.question
    assert opened.message.link_state is LinkState.open and opened.message.answered_at is None
    # Opened again (the re-check at each step): the same request.
    assert (await links.open_link(client, token)).message == opened.message


async def test_a_malformed_token_is_refused_without_asking() -> None:
    # Nothing listens on this port: a request would be CaseServiceUnavailable.
    async with CaseServiceClient(f"http://127.0.0.1:{free_port()}", "k" * 32, timeout=1.0) as nowhere:
        with pytest.raises(errors.LinkMalformed):
            await links.open_link(nowhere, "abc")
        with pytest.raises(errors.CaseServiceUnavailable):
            await links.open_link(nowhere, "A" * 43)


async def test_an_unknown_token(client: CaseServiceClient) -> None:
    with pytest.raises(errors.LinkUnknown):
        await links.open_link(client, secrets.token_urlsafe(32))


async def test_an_expired_link(client: CaseServiceClient, case_service: Any, create_message: CreateMessage) -> None:
    message_id, token = await create_message()
    messages.expire_in_store(case_service, message_id)
    with pytest.raises(errors.LinkExpired):
        await links.open_link(client, token)


async def test_a_revoked_link(client: CaseServiceClient, case_service: Any, create_message: CreateMessage) -> None:
    message_id, token = await create_message()
    await links.open_link(client, token)
    messages.revoke(case_service, message_id)
    with pytest.raises(errors.LinkRevoked):
        await links.open_link(client, token)


async def test_the_re_check_refuses_alike_and_asks_only_for_the_link(
    client: CaseServiceClient, case_service: Any, create_message: CreateMessage
) -> None:
    message_id, token = await create_message()
    assert (await links.check_link(client, token)).message_id == message_id
    with pytest.raises(errors.LinkMalformed):
        await links.check_link(client, "abc")
    # The message itself is not fetched: a re-check costs one request, whatever it finds.
    paths: list[str] = []
    counting = CaseServiceClient(case_service.url, case_service.portal_key, timeout=5.0)
    counting._http.event_hooks["request"].append(lambda request: _record(paths, request))
    async with counting:
        await links.check_link(counting, token)
    assert len(paths) == 1 and "/links/" in paths[0] and message_id not in paths[0]
    messages.revoke(case_service, message_id)
    with pytest.raises(errors.LinkRevoked):
        await links.check_link(client, token)


async def _record(paths: list[str], request: httpx.Request) -> None:
    paths.append(request.url.path)


async def test_an_answered_link_says_when(
    client: CaseServiceClient, create_message: CreateMessage, tmp_path: Path
) -> None:
    message_id, token = await create_message()
    reply = make_reply(tmp_path, n_files=1, size=1000)
    await client.deliver_reply(message_id, reply, "idem-answered", LocalStorage(tmp_path))
    with pytest.raises(errors.LinkAnswered) as caught:
        await links.open_link(client, token)
    answered_at = (await client.get_message(message_id)).answered_at
    assert answered_at is not None and answered_at.tzinfo is not None
    assert caught.value.answered_at == answered_at
    assert caught.value.params == {"answered_at": answered_at}


async def test_a_refused_portal_key_is_for_now(case_service: Any, create_message: CreateMessage) -> None:
    _, token = await create_message()
    async with CaseServiceClient(case_service.url, "wrong-key-" + "x" * 30, timeout=5.0) as refused:
        with pytest.raises(errors.CaseServiceUnavailable):
            await links.open_link(refused, token)
