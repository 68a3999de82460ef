"""The locale catalogue: complete files, matching placeholders, language choice, plurals."""

from __future__ import annotations

import pytest

from portal.domain import i18n

LANGS = [lang for lang in i18n.available_languages() if lang != i18n.REFERENCE_LANGUAGE]
# Texts that are rightly the same in English and another language (names, abbreviations).
SAME_AS_ENGLISH_OK = {"filetype.pdf", "language.label"}


@pytest.mark.parametrize("lang", LANGS)
def test_every_locale_has_exactly_the_german_keys(lang: str) -> None:
    reference = i18n.catalogue(i18n.REFERENCE_LANGUAGE)
    texts = i18n.catalogue(lang)
    assert set(texts) - set(reference) == set(), "keys German does not have"
    assert set(reference) - set(texts) == set(), "keys missing against German"


@pytest.mark.parametrize("lang", [i18n.REFERENCE_LANGUAGE, *LANGS])
def test_no_empty_text_and_same_placeholders(lang: str) -> None:
    reference = i18n.catalogue(i18n.REFERENCE_LANGUAGE)
    for key, text in i18n.catalogue(lang).items():
        assert text.strip(), f"{lang}: {key} is empty"
        assert i18n.placeholders(text) == i18n.placeholders(reference[key]), f"{lang}: {key} placeholders differ"


def test_pick_language_order() -> None:
    supported = ["de", "en", "ar"]
    assert i18n.pick_language("ar", "en-US,en;q=0.9", supported) == "ar"
    assert i18n.pick_language("ti", "fr;q=0.9, en-GB;q=0.8", supported) == "en"
    assert i18n.pick_language(None, "xx, *;q=0.1", supported) == "de"
    assert i18n.pick_language(None, "en;q=0, ar;q=0.5", supported) == "ar"
    assert i18n.pick_language(None, None, supported) == "de"


def test_plural_forms_follow_cldr() -> None:
    assert i18n.translate_count("de", "upload.added", 1) == "1 Datei wurde hinzugefügt."
    assert i18n.translate_count("de", "upload.added", 3) == "3 Dateien wurden hinzugefügt."


def test_fill_keeps_unknown_placeholders_for_later() -> None:
    assert i18n.fill("{name} is {max_size}", {"max_size": "10 MB"}) == "{name} is 10 MB"


def test_direction() -> None:
    assert i18n.text_direction("ar") == "rtl"
    assert i18n.text_direction("fa") == "rtl"
    assert i18n.text_direction("de") == "ltr"


def test_missing_key_falls_back_to_the_key_itself() -> None:
    assert i18n.translate("de", "no.such.key") == "no.such.key"
