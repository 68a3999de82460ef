"""The hand-over of a link opened by its page's first response to the websocket that follows.

When ``/r/<token>`` is answered, the server opens the link (``portal.links.open_link``) to put the
request into that very HTML. The page's load event then hands the token to the server over the
websocket, which would open the link a second time: the case service would count the applicant's
"last opened" twice and fetch again what the page already shows. So the first response keeps its
outcome here under a nonce: random (256 bits), kept only as its SHA-256, good once, for a short
time, and only together with the same token from the same client address. Whoever holds a nonce
without the token gets nothing; whoever holds the token gets no more than the token gives anyway.
A nonce that is missing, used, expired or does not fit is no error: the session opens the link as
without it.

Kept in the process's memory: a backend that did not answer the link (another instance behind a
load balancer, a restart) simply finds nothing and opens the link itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

Outcome = TypeVar("Outcome")

# Long enough for a slow phone to load the app and open its websocket; short enough that a nonce
# found later (a copied page, a history entry) is long dead.
LIFETIME_SECONDS = 120.0
# Bounds the memory a flood of link openings can take (each is rate-limited before this anyway).
MAX_ENTRIES = 10_000


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


@dataclass(frozen=True, slots=True)
class _Entry(Generic[Outcome]):
    token: bytes
    client: str
    expires: float
    outcome: Outcome


class Handovers(Generic[Outcome]):
    """Outcomes of link openings kept for the websocket of the same page load."""

    def __init__(self, lifetime: float = LIFETIME_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.lifetime = lifetime
        self.clock = clock
        self._entries: OrderedDict[bytes, _Entry[Outcome]] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, token: str, client: str, outcome: Outcome) -> str:
        """Keeps ``outcome`` of opening ``token`` for ``client``; the nonce the page hands over."""
        nonce = secrets.token_urlsafe(32)
        entry = _Entry(_digest(token), client, self.clock() + self.lifetime, outcome)
        with self._lock:
            self._drop_expired()
            while len(self._entries) >= MAX_ENTRIES:
                self._entries.popitem(last=False)
            self._entries[_digest(nonce)] = entry
        return nonce

    def redeem(self, nonce: str, token: str, client: str) -> Outcome | None:
        """The outcome kept under ``nonce``, once: None when there is none, it expired, or the
        token or client address differ. Any attempt uses the nonce up."""
        if not nonce:
            return None
        with self._lock:
            entry = self._entries.pop(_digest(nonce), None)
        if entry is None or entry.expires <= self.clock():
            return None
        if not hmac.compare_digest(entry.token, _digest(token)) or entry.client != client:
            return None
        return entry.outcome

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _drop_expired(self) -> None:
        now = self.clock()
        # Entries are in the order issued, all with the same lifetime: the oldest expire first.
        while self._entries:
            first = next(iter(self._entries.values()))
            if first.expires > now:
                break
            self._entries.popitem(last=False)
