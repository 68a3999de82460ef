from __future__ import annotations

import re

from portal.domain import catalogue
from portal.domain.catalogue import CATALOGUE, EXTRA_CODES, ItemCode


def test_every_code_has_an_entry() -> None:
    # The codes themselves are the contract's: tests/portal/test_contract_drift.py.
    assert set(CATALOGUE) == set(ItemCode)


def test_titles_are_the_authoritys_words() -> None:
    assert catalogue.entry("passport").title_de == "Gültiger Reisepass oder Passersatz"
    assert catalogue.entry("payslips").title_de == "Lohn- und Gehaltsabrechnungen der letzten drei Monate"
    assert catalogue.entry("other").title_de == "Sonstiger Nachweis"
    assert all(e.title_de for e in CATALOGUE.values())


def test_file_stems_are_ascii_unique_and_without_separators() -> None:
    stems = [e.file_stem for e in CATALOGUE.values()]
    assert all(re.fullmatch(r"[A-Za-z0-9-]+", s) for s in stems), stems
    assert len(set(stems)) == len(stems)
    assert catalogue.file_stem("health_insurance") == "Krankenversicherung"
    assert catalogue.file_stem("employment_contract") == "Arbeitsvertrag"
    assert catalogue.file_stem("payslips") == "Gehaltsabrechnungen"
    assert catalogue.file_stem("passport") == "Reisepass"
    assert catalogue.file_stem("declaration_of_commitment") == "Verpflichtungserklaerung"


def test_only_the_biometric_photo_is_not_uploadable() -> None:
    assert [e.code for e in CATALOGUE.values() if not e.uploadable] == [ItemCode.biometric_photo]
    assert ItemCode.biometric_photo not in EXTRA_CODES
    assert set(EXTRA_CODES) == set(ItemCode) - {ItemCode.biometric_photo}
    assert EXTRA_CODES[-1] == ItemCode.other


def test_an_unknown_code_falls_back_to_other() -> None:
    assert catalogue.entry("spaceship_licence").code == ItemCode.other
    assert catalogue.is_known("cv")
    assert not catalogue.is_known("spaceship_licence")
