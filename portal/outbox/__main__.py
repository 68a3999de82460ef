"""``python -m portal.outbox list | retry REFERENCE | resolve REFERENCE``

A reply the case service refused for good stays in the outbox as "rejected", with its files, and
the portal alerts (an ERROR log line, the ``/_metrics`` gauges). The operator then either fixes
the cause and sends it again (``retry``: back to delivery, attempts from zero), or hands the
reply to the authority another way and closes it (``resolve``: its files are deleted, storage
limitation). ``list`` shows the rejected entries with the storage keys of their files (with the local
storage, the file names under ``PORTAL_DATA_DIR/files``).
Nothing else is printed: no reply text, no file names. Errors print a code and exit 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from portal.domain import clock
from portal.domain.outgoing import OutboxState
from portal.outbox.store import PortalStore
from portal.settings import get_settings
from portal.storage import make_storage


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal.outbox", description="Rejected replies in the outbox.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the rejected replies and where their files are")
    for name, text in (
        ("retry", "send a rejected reply again"),
        ("resolve", "close a rejected reply, delete its files"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("reference", help="the outbox reference, e.g. RK-ABCD-EFGH")
    args = parser.parse_args(argv)

    settings = get_settings()
    store = PortalStore(settings.effective_database_url)
    try:
        store.create_all()
        if args.command == "list":
            for rejected in store.in_state(OutboxState.rejected, limit=1000):
                print(
                    f"{rejected.reference}\tmessage={rejected.message_id}\tcode={rejected.last_error_code}"
                    f"\treceived={rejected.created_at.isoformat(timespec='seconds')}"
                )
                for file in rejected.held_reply().attached:
                    print(f"\t{file.stored_as}")
            return 0
        if args.command == "retry":
            entry = store.requeue(args.reference, clock.now())
        else:
            entry = store.mark_resolved(args.reference)
            if entry is not None:
                make_storage(settings.file_storage, store.engine, settings.files_dir, clock.now).delete(
                    f.stored_as for f in entry.held_reply().attached
                )
        if entry is None:
            print("error: not_rejected", file=sys.stderr)
            return 1
        print(f"{args.command}: {entry.reference} ({entry.state.value})")
        return 0
    finally:
        store.dispose()


if __name__ == "__main__":
    sys.exit(main())
