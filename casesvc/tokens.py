"""Reply tokens and link expiry.

A token is 32 random bytes (256 bits) in URL-safe base64: 43 characters, so the whole link stays far
below BundID's 255 characters. Only its SHA-256 is stored: a leaked database does not open any link,
and a fast unsalted hash is enough because the input has full entropy (nobody can guess through it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TOKEN_BYTES = 32
TOKEN_CHARS = 43  # len(secrets.token_urlsafe(TOKEN_BYTES))
REPLY_PATH = "/r/"


def mint_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_hash(stored: str, computed: str) -> bool:
    """Constant-time comparison, so a near-miss answers no faster than a total miss."""
    return hmac.compare_digest(stored.encode("ascii"), computed.encode("ascii"))


def reply_link(portal_base_url: str, token: str) -> str:
    return f"{portal_base_url.rstrip('/')}{REPLY_PATH}{token}"


def deadline_expiry(deadline: date, grace_days: int, zone: ZoneInfo) -> datetime:
    """End of the deadline day in the authority's zone, plus the grace period, in UTC.

    "End of day" is the first instant of the following day: a reply at 23:59:59 local time still counts.
    """
    last_day = deadline + timedelta(days=grace_days)
    return datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)


def info_expiry(sent_at: datetime, info_link_days: int) -> datetime:
    """Messages without a deadline (status, not responsible) stay readable for a fixed period.

    Counted in exact days of 24 hours (in UTC), whatever zone ``sent_at`` carries.
    """
    return sent_at.astimezone(UTC) + timedelta(days=info_link_days)
