"""``python -m portal.staff create-user`` as the operator runs it: a subprocess, password on stdin."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from portal.staff.accounts import StaffAccounts
from tests.support.processes import run_portal_command

PASSWORD = "ein langes Passwort 42"


def _run(tmp_path: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_portal_command(tmp_path / "data", "portal.staff", "create-user", *args, stdin=stdin)


def test_created_user_signs_in(tmp_path: Path) -> None:
    result = _run(
        tmp_path, PASSWORD + "\n", "--username", "m.muster", "--authority", "abh-potsdam", "--display-name", "Max"
    )
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert "m.muster" in result.stdout
    accounts = StaffAccounts(f"sqlite:///{tmp_path / 'data' / 'portal.sqlite3'}")
    user = accounts.verify("m.muster", PASSWORD, datetime.now(UTC))
    assert (user.authority_id, user.display_name) == ("abh-potsdam", "Max")
    accounts.dispose()

    again = _run(tmp_path, PASSWORD + "\n", "--username", "m.muster", "--authority", "abh-potsdam")
    assert again.returncode == 1 and again.stderr.strip() == "error: staff_user_exists"


@pytest.mark.parametrize(
    ("stdin", "args", "code"),
    [
        ("kurz\n", ("--username", "a", "--authority", "abh-potsdam"), "password_too_short"),
        ("", ("--username", "a", "--authority", "abh-potsdam"), "password_too_short"),
        (PASSWORD + "\n", ("--username", "a b", "--authority", "abh-potsdam"), "username_invalid"),
        (PASSWORD + "\n", ("--username", "a", "--authority", "ABH"), "authority_invalid"),
    ],
)
def test_refusals_print_their_code(tmp_path: Path, stdin: str, args: tuple[str, ...], code: str) -> None:
    result = _run(tmp_path, stdin, *args)
    assert result.returncode == 1 and result.stderr.strip() == f"error: {code}"
    assert result.stdout == ""


def test_password_is_not_accepted_as_an_argument(tmp_path: Path) -> None:
    result = _run(tmp_path, "", "--username", "a", "--authority", "abh-potsdam", "--password", PASSWORD)
    assert result.returncode == 2  # argparse: unknown argument
