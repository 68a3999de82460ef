"""What the staff pages show, in the staff member's language. Plain Python, no Reflex."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from portal.domain import formatting
from portal.domain.i18n import available_languages, translate
from portal.domain.message import MessageSummaryView
from portal.domain.staff_status import StaffStatus, StatusLine, more_time_until, status_of
from portal.outbox.entries import OutboxEntry
from portal.presenter import days_left_text, format_when

_OPEN = (StaffStatus.OPEN, StaffStatus.DRAFT_STARTED)


@dataclasses.dataclass
class StaffRow:
    id: str = ""
    subject: str = ""
    reference: str = ""
    applicant: str = ""
    language: str = ""
    kind: str = ""
    sent: str = ""
    deadline: str = ""
    days_left: str = ""
    status: str = ""  # a StaffStatus code, for styling and tests
    status_text: str = ""  # the status with its time, e.g. "Beantwortet am 3. Dezember 2026, 10:15"
    last_opened: str = ""
    more_time: str = ""  # "more time asked until ...", or empty


def status_text(line: StatusLine, lang: str) -> str:
    key = f"staff.state.{line.status.value}"
    if line.since is None:
        return translate(lang, key)
    return translate(lang, key + "_since", when=format_when(line.since, lang))


def staff_row(
    summary: MessageSummaryView,
    outbox_entry: OutboxEntry | None,
    draft_started: datetime | None,
    lang: str,
    today: date,
) -> StaffRow:
    line = status_of(summary, outbox_entry, draft_started)
    until = more_time_until(summary, outbox_entry.reply if outbox_entry is not None else None)
    return StaffRow(
        id=summary.id,
        subject=summary.subject,
        reference=summary.case_reference,
        applicant=summary.applicant_name,
        language=_language_name(summary.preferred_language, lang),
        kind=translate(lang, f"kind.{summary.kind.value}"),
        sent=format_when(summary.sent_at, lang),
        deadline=formatting.format_date_long(summary.deadline, lang) if summary.deadline else "",
        # Days left matter only while the applicant can still answer.
        days_left=days_left_text(summary.deadline, today, lang) if line.status in _OPEN else "",
        status=line.status.value,
        status_text=status_text(line, lang),
        last_opened=format_when(summary.last_opened_at, lang) or translate(lang, "staff.never_opened"),
        more_time=translate(lang, "extension.staff_until", date=formatting.format_date_long(until, lang))
        if until is not None
        else "",
    )


def _language_name(code: str | None, lang: str) -> str:
    if not code:
        return translate(lang, "staff.language_unknown")
    # A language without a locale file would fall back to German's name: show the code instead.
    if code in available_languages():
        return translate(code, "language.name")
    return code


def staff_rows(
    summaries: Sequence[MessageSummaryView],
    outbox: Mapping[str, OutboxEntry],
    drafts: Mapping[str, datetime],
    lang: str,
    today: date,
) -> list[StaffRow]:
    return [staff_row(s, outbox.get(s.id), drafts.get(s.id), lang, today) for s in summaries]
