"""The portal's clock: instants in UTC, calendar days at the authority (Berlin).

Deadlines, "today" and every time the portal shows are the authority's, whatever zone the
applicant's device or the server is in; instants are stored and compared as aware UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def now() -> datetime:
    """This instant, aware, in UTC."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date at the authority."""
    return datetime.now(BERLIN).date()
