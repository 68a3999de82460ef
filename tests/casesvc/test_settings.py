from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from casesvc.settings import CaseServiceSettings, parse_authority_keys

KEY1 = "k" * 20
KEY2 = "m" * 20


def test_authority_keys_as_pairs_and_as_json() -> None:
    assert parse_authority_keys(f"abh-potsdam:{KEY1}, abh-cottbus:{KEY2}") == {KEY1: "abh-potsdam", KEY2: "abh-cottbus"}
    assert parse_authority_keys(f'{{"{KEY1}": "abh-potsdam", "{KEY2}": "abh-potsdam"}}') == {
        KEY1: "abh-potsdam",
        KEY2: "abh-potsdam",
    }


@pytest.mark.parametrize(
    "raw", ["", "abh-potsdam", "abh-potsdam:short", f"abh-a:{KEY1},abh-b:{KEY1}", "[1]", f":{KEY1}"]
)
def test_bad_authority_keys_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_authority_keys(raw)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("CASESVC_PORTAL_KEY", "p" * 20)
    monkeypatch.setenv("CASESVC_AUTHORITY_KEYS", f"abh-potsdam:{KEY1}")
    monkeypatch.setenv("CASESVC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CASESVC_GRACE_DAYS", "7")
    monkeypatch.setenv("CASESVC_MAX_JSON_BYTES", "65536")
    settings = CaseServiceSettings()
    assert settings.max_json_bytes == 65536 and settings.max_reply_bytes == 150 * 1024 * 1024
    assert settings.authority_keys == {KEY1: "abh-potsdam"}
    assert settings.grace_days == 7
    assert settings.database_url == f"sqlite:///{tmp_path}/casesvc.sqlite3"
    assert KEY1 not in repr(settings) and "p" * 20 not in repr(settings)


def test_link_that_could_exceed_255_characters_is_refused_at_startup(
    make_settings: Callable[..., CaseServiceSettings],
) -> None:
    base = "https://portal.example.de/" + "x" * (255 - len("https://portal.example.de/") - len("/r/") - 43)
    assert make_settings(portal_base_url=base).portal_base_url == base
    with pytest.raises(ValidationError, match="255"):
        make_settings(portal_base_url=base + "y")


@pytest.mark.parametrize(
    "overrides",
    [
        {"portal_key": "short"},
        {"portal_key": KEY1, "authority_keys": {KEY1: "abh-potsdam"}},
        {"portal_base_url": "ftp://portal.example.de"},
        {"portal_base_url": "https://portal.example.de/?x=1"},
        {"timezone": "Mars/Olympus"},
        {"max_json_bytes": 100},
        {"max_reply_bytes": 0},
    ],
)
def test_unsafe_or_broken_settings_are_refused(
    make_settings: Callable[..., CaseServiceSettings], overrides: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        make_settings(**overrides)
