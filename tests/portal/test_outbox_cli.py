"""``python -m portal.outbox`` as the operator runs it: a subprocess on the portal's database."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from portal.domain.outgoing import OutboxState
from portal.outbox.store import PortalStore
from portal.settings import PortalSettings
from tests.portal.conftest import make_reply
from tests.support.processes import run_portal_command


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_portal_command(data_dir, "portal.outbox", *args)


def test_list_retry_and_resolve(tmp_path: Path) -> None:
    settings = PortalSettings(data_dir=tmp_path / "data")
    store = PortalStore(settings.effective_database_url)
    store.create_all()
    now = datetime.now(UTC)
    entries = []
    for name in ("a", "b"):
        reply = make_reply(settings.files_dir, n_files=1, size=100)
        entry = store.enqueue(f"msg-{name}", reply, f"key-{name}", now)
        store.claim_due(now, 60, 1)
        store.mark_rejected(entry.id, "link_revoked")
        entries.append(entry)
    first, second = entries

    listed = _run(settings.data_dir, "list")
    assert listed.returncode == 0, listed.stderr
    assert f"{first.reference}\tmessage=msg-a\tcode=link_revoked" in listed.stdout
    assert second.reply.files[0].stored_as in listed.stdout
    # No reply content and no file names the applicant gave.
    assert "Arbeitsvertrag" not in listed.stdout and "Anbei" not in listed.stdout

    retried = _run(settings.data_dir, "retry", first.reference)
    assert retried.returncode == 0, retried.stderr
    assert store.get(first.reference).state is OutboxState.pending  # type: ignore[union-attr]
    assert (settings.files_dir / first.reply.files[0].stored_as).exists()

    resolved = _run(settings.data_dir, "resolve", second.reference.lower())
    assert resolved.returncode == 0, resolved.stderr
    assert store.get(second.reference).state is OutboxState.resolved  # type: ignore[union-attr]
    assert not (settings.files_dir / second.reply.files[0].stored_as).exists()

    again = _run(settings.data_dir, "resolve", first.reference)  # pending now: not the operator's
    assert again.returncode == 1 and again.stderr.strip() == "error: not_rejected"
    assert (settings.files_dir / first.reply.files[0].stored_as).exists()
    store.dispose()
