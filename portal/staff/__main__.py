"""``python -m portal.staff create-user --username U --authority abh-potsdam [--display-name N]``

Creates a local staff account in the portal's database (``PORTAL_DATABASE_URL`` or the SQLite
file under ``PORTAL_DATA_DIR``). The password is read from the terminal (asked twice) or, when
stdin is not a terminal, from its first line: never from the command line, where ``ps`` and the
shell history would keep it. Nothing secret is printed; errors print their code and exit 1.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from typing import TextIO

from portal.domain.errors import PortalError, StaffAuthError
from portal.settings import get_settings
from portal.staff.accounts import StaffAccounts, check_password_policy


def read_password(stdin: TextIO) -> str:
    if stdin.isatty():
        password = getpass.getpass("Password: ")
        check_password_policy(password)  # say so before asking again
        if getpass.getpass("Repeat password: ") != password:
            raise StaffAuthError("password_mismatch")
        return password
    # Only the line ending is removed: spaces may be part of a passphrase.
    return stdin.readline().removesuffix("\n").removesuffix("\r")


def main(argv: Sequence[str] | None = None, stdin: TextIO = sys.stdin) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal.staff", description="Staff accounts of the portal.")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="create a local staff account (password from stdin)")
    create.add_argument("--username", required=True)
    create.add_argument("--authority", required=True, help="authority id, e.g. abh-potsdam")
    create.add_argument("--display-name", default="")
    args = parser.parse_args(argv)

    accounts = StaffAccounts.from_settings(get_settings())
    try:
        accounts.create_all()
        user = accounts.create(args.username, args.authority, read_password(stdin), args.display_name)
    except PortalError as error:
        print(f"error: {error.code}", file=sys.stderr)
        return 1
    finally:
        accounts.dispose()
    print(f"created: {user.username} ({user.authority_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
