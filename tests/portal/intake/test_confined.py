"""The portal's side of the sandbox: answers are checked like any input, steps skip what is not theirs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from portal.domain.errors import IntakeError
from portal.intake import confined, sandbox
from portal.intake.inspection import Inspection
from portal.intake.limits import Limits

GOOD = {"media_type": "image/jpeg", "extension": "jpg", "pages": 1, "notes": ["image_converted_jpeg"]}


def test_an_inspection_round_trips() -> None:
    found = Inspection("application/pdf", "pdf", 3, ("pdf_javascript_removed",))
    assert confined.inspection_from(confined.to_json(found)) == found


@pytest.mark.parametrize(
    "answer",
    [
        None,
        "image/jpeg",
        {**GOOD, "pages": -1},
        {**GOOD, "pages": True},
        {**GOOD, "pages": "1"},
        {**GOOD, "media_type": ""},
        {**GOOD, "media_type": "x" * 101},
        {**GOOD, "notes": "image_converted_jpeg"},
        {**GOOD, "notes": [7]},
        {k: v for k, v in GOOD.items() if k != "extension"},
    ],
)
def test_an_answer_that_is_not_an_inspection_refuses_the_file(answer: Any) -> None:
    with pytest.raises(IntakeError) as refused:
        confined.inspection_from(answer)
    assert refused.value.code == "file_too_complex"


def test_limits_round_trip() -> None:
    limits = Limits(max_file_bytes=123, sandbox_seconds=1.5, sandbox_jobs=1)
    assert confined.limits_from(confined.to_json(limits)) == limits


def test_a_step_runs_no_job_for_other_types(corpus: dict[str, Path]) -> None:
    step = confined.ConfinedStep("sanitise_pdf", frozenset({"application/pdf"}))
    found = Inspection("image/jpeg", "jpg", 1)
    before = len(sandbox.recent_usage())
    assert step(corpus["photo.jpg"], found, Limits()) is found
    assert len(sandbox.recent_usage()) == before


def test_describe_gives_hints_and_a_jpeg_thumbnail(corpus: dict[str, Path]) -> None:
    hints, thumbnail = confined.describe(corpus["photo.jpg"], "image/jpeg", Limits())
    assert hints == ("photo_small",) and thumbnail is not None and thumbnail.startswith(b"\xff\xd8")
    assert confined.describe(corpus["notes.txt"], "text/plain", Limits()) == ((), None)
