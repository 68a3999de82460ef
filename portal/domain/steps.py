"""The steps of a reply, in page order, and how the applicant moves between them.

A question or a hearing (``intent_to_refuse``) asks for documents: one step per requested item
(one screen each, phones first), then the free text, further documents and the review. Asking
for more time adds its own step right after the overview (the date and the reason), for as long
as the request stands. An appointment is confirmed or moved on a step of its own. A message that
takes no reply (a status note, ``not_responsible``) has only its overview. After the review comes :data:`DONE`, which is
no step of the walk: nothing leads back from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.domain.message import ANSWERABLE_KINDS, MessageKind


@dataclass(frozen=True, slots=True)
class Step:
    """One screen of the reply: its name and, on an ``item`` step, which requested item (from 0)."""

    name: str
    index: int = 0


OVERVIEW = Step("overview")
TEXT = Step("text")
EXTRAS = Step("extras")
APPOINTMENT = Step("appointment")
EXTENSION = Step("extension")
REVIEW = Step("review")
DONE = Step("done")

# Error-summary anchors that have a step of their own (draft.Problem.field); an item's problems
# are anchored at its id, and everything else (further documents, the declaration, a file gone
# at submission) is shown on the review.
_FIELD_STEPS = {"text": TEXT, "appointment": APPOINTMENT, "extension": EXTENSION}
# As plain strings: a kind arrives as the page's string as well as a MessageKind.
_ANSWERABLE = frozenset(kind.value for kind in ANSWERABLE_KINDS)


def item(index: int) -> Step:
    return Step("item", index)


def steps_for(kind: str, item_count: int, more_time: bool = False) -> tuple[Step, ...]:
    """Every step of a reply to a message of ``kind`` with ``item_count`` requested items; with
    the step of the request for more time while one stands (``more_time``, a question or hearing)."""
    if kind == MessageKind.appointment.value:
        return (OVERVIEW, APPOINTMENT, REVIEW)
    if kind not in _ANSWERABLE:
        return (OVERVIEW,)
    asked = (EXTENSION,) if more_time else ()
    return (OVERVIEW, *asked, *(item(i) for i in range(item_count)), TEXT, EXTRAS, REVIEW)


def move(steps: Sequence[Step], here: Step, delta: int) -> Step:
    """``delta`` steps on from ``here``, clamped to the first and last step. A position that is not
    one of ``steps`` (the confirmation after submitting) stays where it is."""
    if here not in steps:
        return here
    position = steps.index(here) + delta
    return steps[max(0, min(len(steps) - 1, position))]


def step_for_field(field: str, item_ids: Sequence[str]) -> Step:
    """The step that holds the field a problem is anchored at (the error summary's "fix" link)."""
    if field in item_ids:
        return item(list(item_ids).index(field))
    return _FIELD_STEPS.get(field, REVIEW)
