"""Builders for the case-service tests: replies, multipart parts, credentials, a clock.

Messages come from :mod:`tests.support.messages`, built on the clock's day (``TODAY``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

PORTAL_KEY = "portal-key-0123456789abcdef"
KEY_A = "potsdam-key-0123456789abcdef"
KEY_B = "cottbus-key-0123456789abcdef"
AUTHORITY_A = "abh-potsdam"
AUTHORITY_B = "abh-cottbus"
# A fixed "now" in winter (CET, UTC+1), far from DST switches unless a test moves the clock.
START = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
TODAY = START.date()


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Upload:
    key: str
    content: bytes
    name: str = "Nachweis.pdf"
    media_type: str = "application/pdf"
    sha512: str | None = None  # None: the real digest
    size: int | None = None  # None: the real size

    def meta(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "original_name": "IMG_0789.jpg",
            "media_type": self.media_type,
            "size": self.size if self.size is not None else len(self.content),
            "pages": 1,
            "sha512": self.sha512 or hashlib.sha512(self.content).hexdigest(),
        }


@dataclass
class ReplyDraft:
    submitted_at: datetime = START
    items: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    declaration: bool = True

    def body(self) -> dict[str, Any]:
        reply: dict[str, Any] = {
            "submitted_at": self.submitted_at.isoformat(),
            "language": "en",
            "text": "Anbei die Unterlagen.",
            "items": self.items,
            "declaration": self.declaration,
            "files": [upload.meta() for upload in self.uploads],
        }
        reply.update(self.extra)
        return reply

    def multipart(self) -> list[tuple[str, tuple[str | None, bytes | str, str]]]:
        parts: list[tuple[str, tuple[str | None, bytes | str, str]]] = [
            ("reply", (None, json.dumps(self.body()), "application/json"))
        ]
        parts += [(u.key, ("upload.bin", u.content, u.media_type)) for u in self.uploads]
        return parts


def complete_question_reply(submitted_at: datetime = START) -> ReplyDraft:
    """Both required items provided, the optional one not available with a reason."""
    insurance = Upload("f1", b"%PDF-1.7 Krankenversicherung " * 50, name="Krankenversicherung_ABH-P-2026-004217.pdf")
    contract = Upload("f2", b"%PDF-1.7 Arbeitsvertrag " * 80, name="Arbeitsvertrag_ABH-P-2026-004217.pdf")
    return ReplyDraft(
        submitted_at=submitted_at,
        items=[
            {"item_id": "item-1", "status": "provided", "files": ["f1"]},
            {"item_id": "item-2", "status": "provided", "files": ["f2"]},
            {
                "item_id": "item-3",
                "status": "not_available",
                "reason": "Job started this month",
                "expected_date": date(2026, 3, 31).isoformat(),
            },
        ],
        uploads=[insurance, contract],
    )
