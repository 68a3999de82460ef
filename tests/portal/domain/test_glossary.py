"""Terms are found in the authority's words, inflected forms included, and nothing else."""

from __future__ import annotations

from portal.domain import i18n
from portal.domain.glossary import TERMS, terms_in


def test_every_pattern_has_a_glossary_entry() -> None:
    assert set(TERMS) == set(i18n.glossary("de"))


def test_inflected_forms_are_found() -> None:
    text = "Ihr Antrag auf Erteilung einer Blauen Karte EU; bitte reichen Sie die Nachweise bis zur Frist ein."
    assert terms_in([text]) == ["blaue_karte", "frist", "nachweis", "antrag"]


def test_lookalikes_are_not_terms() -> None:
    assert "bescheid" not in terms_in(["Bitte senden Sie die Meldebescheinigung; wir sind bescheiden."])
    assert terms_in(["Guten Tag"]) == []


def test_each_german_term_matches_its_own_pattern() -> None:
    for term, entry in i18n.glossary("de").items():
        assert term in terms_in([entry["term"]]), term
