"""What every request handler needs: settings, database, key ring and the clock."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from casesvc.db import Database
from casesvc.service import Caller
from casesvc.settings import CaseServiceSettings


def utc_now() -> datetime:
    return datetime.now(UTC)


class KeyRing:
    """Maps a presented bearer key to its caller, comparing against every key in constant time."""

    def __init__(self, settings: CaseServiceSettings) -> None:
        self._entries: list[tuple[bytes, Caller]] = [(settings.portal_key.get_secret_value().encode(), Caller(None))]
        self._entries += [(key.encode(), Caller(authority)) for key, authority in settings.authority_keys.items()]

    def identify(self, presented: str) -> Caller | None:
        given = presented.encode("utf-8", "surrogateescape")
        found: Caller | None = None
        # No early exit: the time taken does not tell which key (or how many) came close.
        for key, caller in self._entries:
            if hmac.compare_digest(key, given) and found is None:
                found = caller
        return found


@dataclass
class AppContext:
    settings: CaseServiceSettings
    db: Database
    keys: KeyRing
    clock: Callable[[], datetime] = field(default=utc_now)

    def now(self) -> datetime:
        return self.clock()
