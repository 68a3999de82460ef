"""Command line: serve, create-message, seed-demo, openapi."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from casesvc.app import create_app
from casesvc.context import utc_now
from casesvc.db import Database
from casesvc.demo import DEMO_AUTHORITY, load_message_file, seed_demo
from casesvc.errors import ServiceError
from casesvc.service import create_message
from casesvc.settings import CaseServiceSettings


def openapi_document() -> str:
    """The OpenAPI JSON exactly as committed in openapi/case-service.json."""
    # The document does not depend on configuration; placeholder keys keep it independent of the env.
    with tempfile.TemporaryDirectory() as tmp:
        settings = CaseServiceSettings(
            portal_key="openapi-placeholder-portal",
            authority_keys={"openapi-placeholder-authority": "placeholder"},
            data_dir=Path(tmp),
            database_url="sqlite://",
        )
        schema = create_app(settings).openapi()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _open_database(settings: CaseServiceSettings) -> Database:
    settings.files_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    db.create_all()
    return db


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m casesvc", description="Rückkanal reference case service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8100)
    create = commands.add_parser("create-message", help="create a message from a JSON file, print its reply link")
    create.add_argument("file", type=Path)
    create.add_argument("--authority", required=True, help="authority id, e.g. abh-potsdam")
    seed = commands.add_parser("seed-demo", help="create the demo messages, print '<kind>\\t<reply_link>' each")
    seed.add_argument("--authority", default=DEMO_AUTHORITY)
    commands.add_parser("openapi", help="print the OpenAPI document")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "openapi":
        sys.stdout.write(openapi_document())
        return 0
    try:
        settings = CaseServiceSettings()  # required values come from CASESVC_*
    except ValidationError as exc:
        print(f"casesvc: invalid configuration (CASESVC_* variables):\n{exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        import uvicorn

        uvicorn.run(create_app(settings), host=args.host, port=args.port)
        return 0
    db = _open_database(settings)
    try:
        now = utc_now()
        if args.command == "create-message":
            try:
                message = load_message_file(args.file, now, settings)
                created = create_message(db, settings, args.authority, message, now)
            except (OSError, ValueError) as exc:  # ValidationError and JSONDecodeError are ValueErrors
                print(f"casesvc: cannot read {args.file}: {exc}", file=sys.stderr)
                return 1
            except ServiceError as exc:
                print(f"casesvc: refused ({exc.code}): {exc.detail}", file=sys.stderr)
                return 1
            print(created.reply_link)
        else:
            for kind, created in seed_demo(db, settings, now, args.authority):
                print(f"{kind.value}\t{created.reply_link}")
    finally:
        db.dispose()
    return 0
