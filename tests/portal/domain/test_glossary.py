"""Terms are found in the authority's words, inflected forms included, and nothing else; the
interface uses each language's glossary terms."""

from __future__ import annotations

import re

import pytest

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


# ---------------------------------------------------------------- the interface uses the glossary's terms

# Texts of the interface that name a glossary term in the form the glossary writes it (a label, a
# title; not inflected in any language): there every language must use its glossary's term, so a
# fix to the glossary or to the page cannot leave the other behind. locales/README.md says how to
# add one.
TERMS_IN_THE_INTERFACE: dict[str, tuple[str, ...]] = {
    "anhoerung": ("kind.intent_to_refuse",),
    "vorgangsnummer": ("request.reference", "staff.reference"),
}


def _gloss(term_id: str) -> re.Pattern[str]:
    """The German term in brackets after a translation, "(Anhörung)" or Chinese "（Anhörung）"."""
    german = i18n.glossary(i18n.REFERENCE_LANGUAGE)[term_id]["term"]
    return re.compile(r"\s*[(（]" + re.escape(german) + r"[)）]")


def _forms(term_id: str, lang: str) -> list[str]:
    """How a text may write the term: as the glossary does, or without its German gloss."""
    term = i18n.glossary(lang)[term_id]["term"]
    bare = _gloss(term_id).sub("", term).strip()
    return [term.casefold()] if bare == term else [term.casefold(), bare.casefold()]


def test_the_listed_texts_really_name_their_term_in_german() -> None:
    german = i18n.catalogue(i18n.REFERENCE_LANGUAGE)
    for term_id, keys in TERMS_IN_THE_INTERFACE.items():
        assert term_id in TERMS
        for key in keys:
            assert TERMS[term_id].search(german[key]), f"{key} does not name {term_id}"


@pytest.mark.parametrize("lang", i18n.available_languages())
def test_the_interface_names_each_term_as_the_glossary_does(lang: str) -> None:
    texts = i18n.catalogue(lang)
    drifted = [
        f"{key}: {texts[key]!r} lacks {i18n.glossary(lang)[term_id]['term']!r}"
        for term_id, keys in TERMS_IN_THE_INTERFACE.items()
        for key in keys
        if not any(form in texts[key].casefold() for form in _forms(term_id, lang))
    ]
    assert drifted == []


@pytest.mark.parametrize("lang", i18n.available_languages())
def test_a_german_term_in_brackets_follows_the_glossarys_translation(lang: str) -> None:
    """Wherever a text glosses a German term, "… (Anhörung)", the words before the gloss are the
    glossary's term, if the glossary itself writes the term with that gloss."""
    drifted = []
    for term_id, entry in i18n.glossary(lang).items():
        gloss, term = _gloss(term_id), entry["term"].casefold()
        if not gloss.search(entry["term"]):
            continue
        for key, text in i18n.catalogue(lang).items():
            for found in gloss.finditer(text):
                if not text[: found.end()].casefold().endswith(term):
                    drifted.append(f"{key}: {text[max(0, found.start() - 40) : found.end()]!r} is not {term!r}")
    assert drifted == []
