"""Which administrative terms occur in the authority's German words.

The request page offers the glossary (``locales/glossary/<lang>.json``) for exactly these terms,
so an applicant reading the German original can look up what a word means in their language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Term id → a pattern for the German word and its inflected forms (case-insensitive).
TERMS: dict[str, re.Pattern[str]] = {
    term: re.compile(pattern, re.IGNORECASE)
    for term, pattern in {
        "auslaenderbehoerde": r"ausländerbehörde",
        "aufenthaltstitel": r"aufenthaltstitel",
        "aufenthaltserlaubnis": r"aufenthaltserlaubnis",
        "blaue_karte": r"blaue[nm]? karte",
        "niederlassungserlaubnis": r"niederlassungserlaubnis",
        "fiktionsbescheinigung": r"fiktionsbescheinigung",
        "frist": r"\bfrist",
        "vorgangsnummer": r"vorgangsnummer",
        "nachweis": r"nachweis",
        "anhoerung": r"anhörung",
        "stellungnahme": r"stellungnahme",
        "bescheid": r"\bbescheid(e|es|s)?\b",
        "antrag": r"\bantrag|\banträge",
        "meldebescheinigung": r"meldebescheinigung",
        "verpflichtungserklaerung": r"verpflichtungserklärung",
        "sperrkonto": r"sperrkonto",
        "beglaubigte_uebersetzung": r"beglaubigte[nr]? übersetzung",
        "vorsprache": r"vorsprache",
        "lebensunterhalt": r"lebensunterhalt",
    }.items()
}


def terms_in(texts: Iterable[str]) -> list[str]:
    """Ids of the terms found in any of ``texts``, in glossary order."""
    joined = "\n".join(texts)
    return [term for term, pattern in TERMS.items() if pattern.search(joined)]
