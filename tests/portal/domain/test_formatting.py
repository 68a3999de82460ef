from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from portal.domain import formatting as f
from portal.domain import i18n

NBSP = "\u00a0"


def test_long_date() -> None:
    d = date(2026, 3, 12)
    assert f.format_date_long(d, "de") == "12. März 2026"
    assert f.format_date_long(d, "en") == "March 12, 2026"
    assert f.format_date_long(d, "ar") == "12 مارس 2026"


def test_datetime_is_shown_at_the_authority() -> None:
    winter = datetime(2026, 3, 12, 13, 30, tzinfo=UTC)  # 14:30 CET
    summer = datetime(2026, 7, 1, 8, 5, tzinfo=timezone(timedelta(hours=-4)))  # 14:05 CEST
    assert f.format_datetime(winter, "de") == "12. März 2026, 14:30"
    assert f.format_datetime(summer, "de") == "1. Juli 2026, 14:05"
    assert f.format_datetime(winter, "en") == "March 12, 2026, 2:30\u202fPM"
    ar = f.format_datetime(winter, "ar")
    assert ar.startswith("12 مارس 2026") and "2:30" in ar
    assert f.format_datetime(winter, "en", tz=UTC).endswith("1:30\u202fPM")
    assert f.format_time(winter, "de") == "14:30"


def test_naive_datetime_is_taken_as_utc() -> None:
    assert f.format_datetime(datetime(2026, 3, 12, 13, 30), "de") == "12. März 2026, 14:30"


@pytest.mark.parametrize(
    ("n", "locale", "expected"),
    [
        (830, "de", "830 Byte"),
        (12_500, "de", "12,5 kB"),
        (1_234_567, "de", "1,2 MB"),
        (1_234_567, "en", "1.2 MB"),
        (1_234_567, "ar", "1.2 م.ب"),
        (1_234_567, "ru", "1,2 МБ"),
        (1_234_567, "zh", "1.2 MB"),
        (10_000_000, "de", "10 MB"),
        (999_950, "de", "1 MB"),  # rounds up into the next unit rather than "1.000 kB"
        (1_234_567_890, "de", "1.234,6 MB"),
    ],
)
def test_file_size(n: int, locale: str, expected: str) -> None:
    assert f.format_file_size(n, locale) == expected.replace(" ", NBSP)


def test_days_left() -> None:
    today = date(2026, 3, 12)
    assert f.days_left(date(2026, 3, 17), today) == 5
    assert f.days_left(today, today) == 0
    assert f.days_left(date(2026, 3, 10), today) == -2


def test_format_days_left_counts_days_only() -> None:
    today = date(2026, 3, 12)
    assert f.format_days_left(date(2026, 3, 17), today, "de") == "in 5 Tagen"
    assert f.format_days_left(date(2026, 3, 17), today, "en") == "in 5 days"
    assert f.format_days_left(date(2026, 3, 13), today, "de") == "in 1 Tag"
    assert f.format_days_left(date(2026, 3, 22), today, "en") == "in 10 days"  # not "in 1 week"
    assert f.format_days_left(date(2026, 3, 10), today, "de") == "vor 2 Tagen"
    assert f.format_days_left(date(2026, 3, 17), today, "ar") == "خلال 5 أيام"


def test_locale_codes_are_parsed_loosely_and_fall_back_to_german() -> None:
    d = date(2026, 3, 12)
    assert f.format_date_long(d, "de-DE") == "12. März 2026"
    assert f.format_date_long(d, "pt-BR") == "12 de março de 2026"
    assert f.format_date_long(d, "xx-nonsense") == "12. März 2026"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("de", "in 5 Tagen"),
        ("de-simple", "in 5 Tagen"),
        ("en", "in 5 days"),
        ("ar", "خلال 5 أيام"),
        ("fa", "5 روز دیگر"),
        ("tr", "5 gün sonra"),
        ("uk", "через 5 днів"),
        ("ru", "через 5 дней"),
        ("fr", "dans 5 jours"),
        ("es", "dentro de 5 días"),
        ("vi", "sau 5 ngày nữa"),
        ("zh", "5天后"),
        ("sq", "pas 5 ditësh"),
    ],
)
def test_deadline_in_every_language(locale: str, expected: str) -> None:
    today = date(2026, 12, 6)
    assert f.format_days_left(date(2026, 12, 11), today, locale) == expected


def test_plural_forms_of_a_deadline() -> None:
    today = date(2026, 12, 6)
    assert f.format_days_left(date(2026, 12, 7), today, "ru") == "через 1 день"
    assert f.format_days_left(date(2026, 12, 8), today, "ru") == "через 2 дня"
    assert f.format_days_left(date(2026, 12, 7), today, "de") == "in 1 Tag"


def test_minutes_from_now_take_the_word_each_number_needs() -> None:
    """No fixed word beside the number: Arabic's one, two, 3–10, 11–99 and 100 each differ."""
    arabic = [f.format_in_minutes(n, "ar") for n in (1, 2, 5, 11, 100)]
    assert arabic == ["خلال دقيقة واحدة", "خلال دقيقتين", "خلال 5 دقائق", "خلال 11 دقيقة", "خلال 100 دقيقة"]
    assert [f.format_in_minutes(n, "ru") for n in (1, 3, 5)] == ["через 1 минуту", "через 3 минуты", "через 5 минут"]
    assert (f.format_in_minutes(1, "de"), f.format_in_minutes(5, "de-simple")) == ("in 1 Minute", "in 5 Minuten")
    # Whole minutes however many: 90 minutes is not rounded to "in 2 hours".
    assert f.format_in_minutes(90, "en") == "in 90 minutes"


def test_the_session_warning_counts_minutes_the_languages_way() -> None:
    """The page's text gets "in N minutes" from CLDR, not a number beside a fixed word."""
    for lang, n in (("ar", 2), ("ar", 5), ("de", 1), ("ru", 3)):
        phrase = f.format_in_minutes(n, lang)
        text = i18n.fill(i18n.catalogue(lang)["session.warning_body"], {"in_minutes": phrase})
        assert phrase in text and "{" not in text
