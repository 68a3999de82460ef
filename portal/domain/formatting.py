"""Dates, times, sizes and deadlines in the applicant's language (Babel/CLDR, no English in code).

``locale`` is the portal's language code (``de``, ``en``, ``ar``, ``pt-BR``, ``de_DE``). An
unknown code formats in German, the language of the authority and of the portal's default page.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_timedelta
from babel.dates import format_time as babel_format_time
from babel.numbers import format_decimal
from babel.units import format_unit

from portal.domain.clock import BERLIN
from portal.domain.i18n import cldr_locale

# No-break space: "1,2 MB" must not wrap between number and unit on a narrow phone screen.
_NBSP = "\u00a0"


@lru_cache(maxsize=64)
def _locale(code: str) -> Locale:
    # Our language codes (plain German, simplified Chinese) map to CLDR locales in one place.
    return cldr_locale(code)


def _in_zone(dt: datetime, tz: tzinfo) -> datetime:
    # The contract sends offsets; a naive value can only be one of ours, and ours are UTC.
    aware = dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    return aware.astimezone(tz)


def format_date_long(d: date, locale: str) -> str:
    """``12. März 2026`` / ``March 12, 2026``."""
    return format_date(d, "long", locale=_locale(locale))


def format_time(dt: datetime, locale: str, tz: tzinfo = BERLIN) -> str:
    """The wall-clock time at the authority: ``14:30`` / ``2:30 PM``."""
    return babel_format_time(_in_zone(dt, tz), "short", locale=_locale(locale))


def format_datetime(dt: datetime, locale: str, tz: tzinfo = BERLIN) -> str:
    """Long date and short time at the authority, joined the locale's way: ``12. März 2026, 14:30``.

    Seconds and the zone name are left out: every time the portal shows is the authority's.
    """
    loc = _locale(locale)
    local = _in_zone(dt, tz)
    pattern = str(loc.datetime_formats.get("long", "{1} {0}"))
    # CLDR's "long" date-time glue may quote literal words ('um'); we glue a long date to a short
    # time, so take the medium glue when the long one has literals.
    if "'" in pattern:
        pattern = str(loc.datetime_formats.get("medium", "{1} {0}"))
    return pattern.replace("{1}", format_date(local.date(), "long", locale=loc)).replace(
        "{0}", babel_format_time(local, "short", locale=loc)
    )


_UNITS = (("digital-megabyte", 1_000_000), ("digital-kilobyte", 1_000))


def format_file_size(n: int, locale: str) -> str:
    """Decimal units in the locale's words and digits, one optional fraction digit:
    ``830 Byte``, ``12,5 kB``, ``1,2 MB``, ``1,2 МБ``.

    Decimal (not 1024) so that the limit "10 MB" in the text and a file's size agree.
    """
    loc = _locale(locale)
    for unit, factor in _UNITS:
        # Compare after rounding, so 999 950 bytes reads "1 MB" and not "1.000 kB".
        if round(n / factor, 1) >= 1:
            return _keep_together(format_unit(round(n / factor, 1), unit, length="short", format="#,##0.#", locale=loc))
    return _keep_together(format_unit(n, "digital-byte", length="short", format="#,##0", locale=loc))


def _keep_together(text: str) -> str:
    # A size never breaks between number and unit on a narrow screen.
    return text.replace(" ", _NBSP)


def days_left(deadline: date, today: date) -> int:
    """Whole days until ``deadline``: 0 on the day itself, negative once it has passed."""
    return (deadline - today).days


def format_days_left(deadline: date, today: date, locale: str) -> str:
    """``in 5 Tagen`` / ``in 5 days``, or ``vor 2 Tagen`` / ``2 days ago`` once passed.

    Always in days (a deadline in 10 days must not read "in 1 week"). On the day itself CLDR has
    no relative phrase ("in 0 days" is wrong), so the caller checks :func:`days_left` first and
    uses its own locale keys for 0 (and usually for negative values too).
    """
    # A threshold above any real day count keeps Babel from switching to weeks or months.
    delta = timedelta(days=days_left(deadline, today))
    return format_timedelta(delta, granularity="day", threshold=100_000, add_direction=True, locale=_locale(locale))


def format_number(n: int, locale: str) -> str:
    """A whole number in the locale's digits and grouping (Arabic-Indic digits in ``ar``, ...)."""
    return format_decimal(n, "#,##0", locale=_locale(locale))


def format_in_minutes(minutes: int, locale: str) -> str:
    """``in 5 Minuten`` / ``خلال 5 دقائق`` / ``خلال دقيقتين``: a time from now in whole minutes.

    CLDR's relative-time phrase picks the word for the number by the language's plural rules
    (Arabic's dual and its forms for 3–10 and 11–99, Russian's three forms), so a sentence never
    carries a fixed word for "minutes" beside a number.
    """
    # The threshold keeps Babel from rounding 90 minutes to "in 2 hours".
    return format_timedelta(
        timedelta(minutes=minutes), granularity="minute", threshold=100_000, add_direction=True, locale=_locale(locale)
    )
