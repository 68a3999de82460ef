"""The steps of a reply for every kind of message, moving through them, and the error summary's targets."""

from __future__ import annotations

import pytest

from portal.domain import steps
from portal.domain.message import MessageKind
from portal.domain.steps import APPOINTMENT, DONE, EXTENSION, EXTRAS, OVERVIEW, REVIEW, TEXT, Step, item

ITEM_IDS = ["item-1", "item-2", "item-3"]


def walk(path: tuple[Step, ...], move: str) -> list[Step]:
    """Every position reached by pressing next (or back) from the first (or last) step until it stays."""
    here = path[0] if move == "next" else path[-1]
    seen = [here]
    while (there := steps.move(path, here, +1 if move == "next" else -1)) != here:
        seen.append(there)
        here = there
    return seen


def test_every_kind_has_its_steps() -> None:
    expected = {
        MessageKind.question: (OVERVIEW, item(0), item(1), item(2), TEXT, EXTRAS, REVIEW),
        MessageKind.intent_to_refuse: (OVERVIEW, item(0), item(1), item(2), TEXT, EXTRAS, REVIEW),
        MessageKind.appointment: (OVERVIEW, APPOINTMENT, REVIEW),
        # No reply: the overview is all there is.
        MessageKind.status: (OVERVIEW,),
        MessageKind.not_responsible: (OVERVIEW,),
    }
    assert set(expected) == set(MessageKind)
    for kind, path in expected.items():
        assert steps.steps_for(kind, 3) == path, kind
        # The kind as the message's plain string, as well as the enum.
        assert steps.steps_for(kind.value, 3) == path, kind


def test_an_appointment_has_no_item_steps_even_with_items() -> None:
    assert steps.steps_for("appointment", 2) == steps.steps_for("appointment", 0)


def test_a_question_without_items_goes_from_the_overview_to_the_text() -> None:
    assert steps.steps_for("question", 0) == (OVERVIEW, TEXT, EXTRAS, REVIEW)


@pytest.mark.parametrize("kind", list(MessageKind))
def test_next_and_back_walk_every_step_in_order_and_stop_at_the_ends(kind: MessageKind) -> None:
    path = steps.steps_for(kind, 2)
    assert walk(path, "next") == list(path)
    assert walk(path, "back") == list(reversed(path))
    assert steps.move(path, path[0], -1) == path[0]
    assert steps.move(path, path[-1], +1) == path[-1]


def test_a_move_by_more_than_one_is_clamped() -> None:
    path = steps.steps_for("question", 1)
    assert steps.move(path, item(0), 10) == REVIEW
    assert steps.move(path, TEXT, -10) == OVERVIEW
    assert steps.move(path, TEXT, 0) == TEXT


def test_nothing_leads_on_or_back_from_a_position_outside_the_steps() -> None:
    path = steps.steps_for("question", 2)
    assert steps.move(path, DONE, +1) == DONE
    assert steps.move(path, DONE, -1) == DONE
    # An item the message does not have, or a step of another kind, stays put too.
    assert steps.move(path, item(5), +1) == item(5)
    assert steps.move(steps.steps_for("appointment", 0), TEXT, -1) == TEXT


def test_a_step_is_a_value() -> None:
    assert Step("item", 1) == item(1) and Step("review") == REVIEW == Step("review", 0)
    assert len({item(1), Step("item", 1), REVIEW}) == 2
    with pytest.raises(AttributeError):
        REVIEW.name = "text"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "target"),
    [
        ("item-1", item(0)),
        ("item-3", item(2)),
        ("text", TEXT),
        ("appointment", APPOINTMENT),
        ("extension", EXTENSION),
        # Further documents, the declaration and a file gone at submission are shown on the review.
        ("extras", REVIEW),
        ("declaration", REVIEW),
        ("review", REVIEW),
        # An item this message does not have, or anything else a browser may send.
        ("item-9", REVIEW),
        ("", REVIEW),
        ("overview", REVIEW),
    ],
)
def test_a_problem_leads_to_the_step_of_its_field(field: str, target: Step) -> None:
    assert steps.step_for_field(field, ITEM_IDS) == target


def test_an_item_problem_without_items_leads_to_the_review() -> None:
    assert steps.step_for_field("item-1", []) == REVIEW


@pytest.mark.parametrize("kind", ["question", "intent_to_refuse"])
def test_asking_for_more_time_adds_its_step_after_the_overview(kind: str) -> None:
    assert steps.steps_for(kind, 1, more_time=True) == (OVERVIEW, EXTENSION, item(0), TEXT, EXTRAS, REVIEW)
    assert steps.steps_for(kind, 1) == (OVERVIEW, item(0), TEXT, EXTRAS, REVIEW)


def test_an_appointment_has_no_step_for_more_time() -> None:
    assert steps.steps_for("appointment", 0, more_time=True) == (OVERVIEW, APPOINTMENT, REVIEW)
