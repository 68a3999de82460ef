from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from casesvc.cli import main
from casesvc.context import utc_now
from casesvc.db import Database
from casesvc.service import PORTAL, get_message, resolve
from casesvc.settings import CaseServiceSettings
from tests.casesvc.helpers import KEY_A, PORTAL_KEY
from tests.support.messages import message_in
from tests.support.processes import ROOT, run_module


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "CASESVC_DATA_DIR": str(tmp_path / "data"),
        "CASESVC_PORTAL_KEY": PORTAL_KEY,
        "CASESVC_AUTHORITY_KEYS": f"abh-potsdam:{KEY_A}",
        "CASESVC_PORTAL_BASE_URL": "https://portal.example.de",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_seed_demo_prints_one_open_link_per_kind(env: dict[str, str]) -> None:
    process = run_module("casesvc", "seed-demo", env=os.environ | env)
    assert process.returncode == 0, process.stderr
    lines = process.stdout.strip().splitlines()
    kinds = [line.split("\t")[0] for line in lines]
    assert kinds == ["question", "appointment", "intent_to_refuse", "status", "not_responsible"]
    settings = CaseServiceSettings()
    db = Database(settings.database_url)
    try:
        for line in lines:
            link = line.split("\t")[1]
            assert link.startswith("https://portal.example.de/r/") and len(link) <= 255
            resolved = resolve(db, link.rsplit("/", 1)[1], utc_now())
            assert resolved.state == "open"
            # Relative dates: a month from now every demo link still works.
            assert resolved.expires_at > utc_now() + timedelta(days=20)
        question_id = resolve(db, lines[0].split("\t")[1].rsplit("/", 1)[1], utc_now()).message_id
        question = get_message(db, question_id, PORTAL, utc_now())
        assert [entry.kind for entry in question.history] == ["status"]
        assert question.authority.name == "Landeshauptstadt Potsdam, Ausländerbehörde"
    finally:
        db.dispose()


def test_create_message_prints_the_link(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "message.json"
    path.write_text(json.dumps(message_in(kind="status")), encoding="utf-8")
    assert main(["create-message", str(path), "--authority", "abh-cottbus"]) == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://portal.example.de/r/")
    settings = CaseServiceSettings()
    db = Database(settings.database_url)
    try:
        resolved = resolve(db, link.rsplit("/", 1)[1], utc_now())
        assert get_message(db, resolved.message_id, PORTAL, utc_now()).case.reference == "ABH-P-2026-004217"
    finally:
        db.dispose()


def test_create_message_accepts_a_demo_file(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    demo = ROOT / "casesvc" / "demo" / "03-intent_to_refuse.json"
    assert main(["create-message", str(demo), "--authority", "abh-potsdam"]) == 0
    assert capsys.readouterr().out.startswith("https://portal.example.de/r/")


def test_create_message_reports_a_bad_file(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(message_in(kind="status", deadline="2026-03-03")), encoding="utf-8")
    assert main(["create-message", str(path), "--authority", "abh-potsdam"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "cannot read" in captured.err


def test_missing_configuration_is_reported(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seed-demo"]) == 2
    assert "CASESVC_" in capsys.readouterr().err


def test_openapi_command_needs_no_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["info"]["title"] == "Rückkanal case service"
