"""An uploaded file's names: the applicant's cleaned to be safe to show, the caseworker's predictable."""

from __future__ import annotations

import unicodedata

import pytest

from portal.domain.uploads import caseworker_name, clean_original_name
from tests.fixtures.corpus import HOSTILE_NAMES


@pytest.mark.parametrize(("raw", "clean"), sorted(HOSTILE_NAMES.items()))
def test_clean_original_name(raw: str, clean: str) -> None:
    assert clean_original_name(raw) == clean


def test_clean_original_name_truncates_but_keeps_the_extension() -> None:
    name = clean_original_name("Kontoauszug " * 20 + ".pdf")
    assert len(name) <= 120 and name.endswith(".pdf")
    assert len(clean_original_name("x" * 300)) == 120


def test_clean_original_name_composes_umlauts() -> None:
    decomposed = unicodedata.normalize("NFD", "Gehaltsabrechnung_März.pdf")
    assert clean_original_name(decomposed) == "Gehaltsabrechnung_März.pdf"


def test_clean_original_name_is_idempotent() -> None:
    for raw in HOSTILE_NAMES:
        once = clean_original_name(raw)
        assert clean_original_name(once) == once


def test_caseworker_name() -> None:
    assert caseworker_name("employment_contract", "ABH-P-2026-004217", 1, "pdf") == (
        "Arbeitsvertrag_ABH-P-2026-004217_1.pdf"
    )
    assert caseworker_name("payslips", "ABH/P 2026 (neu)", 3, ".JPG") == "Gehaltsabrechnungen_ABH-P-2026-neu_3.jpg"
    assert caseworker_name("passport", "", 2, "png") == "Reisepass_2.png"
    assert caseworker_name("spaceship_licence", "A-1", 1, "pdf") == "Nachweis_A-1_1.pdf"


def test_caseworker_name_is_bounded() -> None:
    name = caseworker_name("employment_declaration", "R" * 500, 12, "pdf")
    assert len(name) <= 200
    assert name.startswith("Erklaerung-Beschaeftigungsverhaeltnis_RRR") and name.endswith("_12.pdf")
