"""Asking for more time: the applicant's request to move a question's or a hearing's deadline.

A request, not a new deadline: the deadline stands until the authority answers it. It may come
alone (the requested items stay open) or with what is ready. Validators are one rule each and
return an error code (locale key ``error.<code>``) or None, like those of :mod:`portal.domain.draft`.

Codes: extension_date_missing, extension_date_not_future, extension_date_not_after_deadline,
extension_date_too_far, extension_reason_missing, extension_reason_too_long.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

# How far past the deadline the applicant may ask; the case service refuses anything later
# (casesvc.schemas.MAX_EXTENSION_DAYS, held equal by the contract drift test). A reply deadline
# is a matter of weeks: more than about three months is no longer "more time" but something to
# settle with the caseworker, and it would keep a case open beyond any planning.
MAX_EXTENSION_DAYS = 90
# The contract's bound of the reason (casesvc.schemas MEDIUM).
MAX_EXTENSION_REASON_CHARS = 2_000


@dataclass
class ExtensionDraft:
    until: date | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Window:
    """The dates the applicant may ask for: from ``earliest`` to ``latest``, both included."""

    earliest: date
    latest: date


def window(today: date, deadline: date | None) -> Window:
    """After today and after the deadline; at most :data:`MAX_EXTENSION_DAYS` after the deadline
    (after today when the message has none, which the contract allows for no kind that asks)."""
    anchor = deadline if deadline is not None and deadline >= today else today
    last = (deadline if deadline is not None else today) + timedelta(days=MAX_EXTENSION_DAYS)
    return Window(earliest=anchor + timedelta(days=1), latest=last)


def extension_date_missing(request: ExtensionDraft, today: date, deadline: date | None) -> str | None:
    return "extension_date_missing" if request.until is None else None


def extension_date_not_future(request: ExtensionDraft, today: date, deadline: date | None) -> str | None:
    return "extension_date_not_future" if request.until is not None and request.until <= today else None


def extension_date_not_after_deadline(request: ExtensionDraft, today: date, deadline: date | None) -> str | None:
    # A date already refused as not in the future needs no second message.
    until = request.until
    refused = until is not None and deadline is not None and today < until <= deadline
    return "extension_date_not_after_deadline" if refused else None


def extension_date_too_far(request: ExtensionDraft, today: date, deadline: date | None) -> str | None:
    until = request.until
    return "extension_date_too_far" if until is not None and until > window(today, deadline).latest else None


def extension_reason_missing(request: ExtensionDraft, today: date, deadline: date | None) -> str | None:
    return "extension_reason_missing" if not request.reason.strip() else None


def extension_reason_too_long(request: ExtensionDraft, today: date, deadline: date | None) -> str | None:
    too_long = len(request.reason.strip()) > MAX_EXTENSION_REASON_CHARS
    return "extension_reason_too_long" if too_long else None


EXTENSION_RULES: tuple[Callable[[ExtensionDraft, date, date | None], str | None], ...] = (
    extension_date_missing,
    extension_date_not_future,
    extension_date_not_after_deadline,
    extension_date_too_far,
    extension_reason_missing,
    extension_reason_too_long,
)


def extension_problems(request: ExtensionDraft, today: date, deadline: date | None) -> list[str]:
    """The codes of every rule the request breaks, in the order the page shows its fields."""
    return [code for rule in EXTENSION_RULES if (code := rule(request, today, deadline))]
