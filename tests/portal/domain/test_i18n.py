"""The locale catalogue: complete files, matching placeholders, language choice, plurals."""

from __future__ import annotations

import pytest

from portal.domain import i18n

LANGS = [lang for lang in i18n.available_languages() if lang != i18n.REFERENCE_LANGUAGE]
# Texts that may rightly stay as in English (a short, explicit list: abbreviations and names).
SAME_AS_ENGLISH_OK = {"filetype.pdf", "deadline.left"}
PLURAL_FORMS = {"zero", "one", "two", "few", "many", "other"}


def _normalised(keys: set[str]) -> set[str]:
    """Plural objects differ by language (CLDR categories): compare them by their parent key."""
    return {k.rsplit(".", 1)[0] + ".<plural>" if k.rsplit(".", 1)[-1] in PLURAL_FORMS else k for k in keys}


def _reference_key(key: str, reference: dict[str, str]) -> str:
    if key in reference:
        return key
    parent = key.rsplit(".", 1)[0]
    return f"{parent}.other"


@pytest.mark.parametrize("lang", LANGS)
def test_every_locale_has_exactly_the_german_keys(lang: str) -> None:
    reference = i18n.catalogue(i18n.REFERENCE_LANGUAGE)
    texts = i18n.catalogue(lang)
    assert _normalised(set(texts)) - _normalised(set(reference)) == set(), "keys German does not have"
    assert _normalised(set(reference)) - _normalised(set(texts)) == set(), "keys missing against German"


@pytest.mark.parametrize("lang", [i18n.REFERENCE_LANGUAGE, *LANGS])
def test_every_count_has_the_plural_forms_of_its_language(lang: str) -> None:
    """Each text that depends on a number has exactly the categories CLDR's rules (through Babel)
    choose from in this language: Arabic six, Russian four, German two, Chinese one."""
    needed = {*i18n.cldr_locale(lang).plural_form.tags, "other"}
    forms: dict[str, set[str]] = {}
    for key in i18n.catalogue(lang):
        parent, _, form = key.rpartition(".")
        if form in PLURAL_FORMS:
            forms.setdefault(parent, set()).add(form)
    assert forms, "no plural texts found"
    wrong = {parent: sorted(found) for parent, found in forms.items() if found != needed}
    assert not wrong, f"{lang} needs {sorted(needed)}"


@pytest.mark.parametrize("lang", [i18n.REFERENCE_LANGUAGE, *LANGS])
def test_no_empty_text_and_same_placeholders(lang: str) -> None:
    reference = i18n.catalogue(i18n.REFERENCE_LANGUAGE)
    for key, text in i18n.catalogue(lang).items():
        assert text.strip(), f"{lang}: {key} is empty"
        expected = i18n.placeholders(reference[_reference_key(key, reference)])
        assert i18n.placeholders(text) == expected, f"{lang}: {key} placeholders differ"


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != "en"])
def test_nothing_left_in_english(lang: str) -> None:
    english = i18n.catalogue("en")
    same = {k for k, v in i18n.catalogue(lang).items() if english.get(k) == v and len(v) > 3}
    assert same - SAME_AS_ENGLISH_OK == set()


@pytest.mark.parametrize("lang", i18n.available_languages())
def test_glossary_matches_the_german_terms(lang: str) -> None:
    german = i18n.glossary(i18n.REFERENCE_LANGUAGE)
    terms = i18n.glossary(lang)
    assert set(terms) == set(german)
    assert all(entry["term"].strip() and entry["explanation"].strip() for entry in terms.values())


def test_pick_language_order() -> None:
    """The device's own pick, then the case's recorded language, then the browser, then German."""
    supported = ["de", "en", "ar"]
    assert i18n.pick_language("en", "ar", "ar", supported) == "en"
    assert i18n.pick_language(None, "ar", "en-US,en;q=0.9", supported) == "ar"
    assert i18n.pick_language("", None, "ar", supported) == "ar"
    assert i18n.pick_language(None, "ti", "fr;q=0.9, en-GB;q=0.8", supported) == "en"
    assert i18n.pick_language("xx", None, "xx, *;q=0.1", supported) == "de"
    assert i18n.pick_language(None, None, "en;q=0, ar;q=0.5", supported) == "ar"
    assert i18n.pick_language(None, None, None, supported) == "de"


def test_a_case_without_a_language_lets_the_browser_choose() -> None:
    supported = i18n.available_languages()
    assert i18n.pick_language(None, None, "ar-EG,ar;q=0.9,en;q=0.8", supported) == "ar"
    assert i18n.pick_language(None, None, "fa-IR", supported) == "fa"


def test_negotiation_matches_tags_and_their_language() -> None:
    supported = i18n.available_languages()
    assert i18n.negotiate("zh-Hans-CN,zh;q=0.9", supported) == "zh"
    assert i18n.negotiate("pt-BR, uk-UA;q=0.7, ru;q=0.8", supported) == "ru"
    assert i18n.negotiate("DE-simple", supported) == "de-simple"
    assert i18n.negotiate("de-AT", supported) == "de"
    # Weights decide, not the order; q=0 means "not this one"; junk counts as nothing.
    assert i18n.negotiate("en;q=0.2, tr;q=0.9", supported) == "tr"
    assert i18n.negotiate("ar;q=0, fr;q=0.1", supported) == "fr"
    assert i18n.negotiate("tlh, x-klingon;q=0.5, *", supported) is None
    assert i18n.negotiate("", supported) is None
    assert i18n.negotiate("en;q=abc, es", supported) == "es"


def test_plural_forms_follow_cldr() -> None:
    assert i18n.translate_count("de", "upload.added", 1) == "1 Datei wurde hinzugefügt."
    assert i18n.translate_count("de", "upload.added", 3) == "3 Dateien wurden hinzugefügt."
    files = [i18n.translate_count("ru", "review.extra_files", n, title="Паспорт") for n in (1, 3, 5)]
    assert files == ["Паспорт: 1 файл", "Паспорт: 3 файла", "Паспорт: 5 файлов"]
    arabic = [i18n.translate_count("ar", "review.extra_files", n, title="جواز").split()[-1] for n in (2, 3, 11, 100)]
    assert arabic == ["ملفان", "ملفات", "ملفًا", "ملف"]  # two, few, many, other


def test_fill_keeps_unknown_placeholders_for_later() -> None:
    assert i18n.fill("{name} is {max_size}", {"max_size": "10 MB"}) == "{name} is 10 MB"


def test_direction() -> None:
    assert i18n.text_direction("ar") == "rtl"
    assert i18n.text_direction("fa") == "rtl"
    assert i18n.text_direction("de") == "ltr"


def test_missing_key_falls_back_to_the_key_itself() -> None:
    assert i18n.translate("de", "no.such.key") == "no.such.key"


def test_pages_get_every_text_they_name_and_not_the_servers_own() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    sources = [*root.glob("components/*.py"), *root.glob("portal/pages/*.py")]
    named = {
        match
        for source in sources
        for match in re.findall(r"""\bt\[f?["']([a-z_][a-z0-9_.]*)""", source.read_text(encoding="utf-8"))
    }
    assert len(named) > 50  # the pattern finds the pages' texts at all
    texts = i18n.page_texts("de", {})
    # A literal key, or the fixed start of a composed one ("link." + code + "_title").
    named.discard("key")  # components/vars.py's comment: ``t["key"]``
    missing = sorted(k for k in named if k not in texts and not any(t.startswith(k) for t in texts))
    assert missing == []
    assert not any(k.startswith(i18n.SERVER_SIDE_SECTIONS) for k in texts)
    assert not any(k.startswith(i18n.SERVER_SIDE_SECTIONS) for k in named)


def test_a_file_name_keeps_its_own_direction_in_a_sentence() -> None:
    sentence = i18n.translate("ar", "upload.removed", name=i18n.isolate("2024 (1).pdf"))
    assert "\u20682024 (1).pdf\u2069" in sentence
