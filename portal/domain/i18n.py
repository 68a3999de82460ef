"""The locale catalogue: every text a person reads lives in ``locales/<lang>.json``.

Files are nested JSON; keys are flattened with dots (``{"link": {"expired": ...}}`` → ``link.expired``).
Values are whole sentences with named placeholders (``{date}``) filled by :func:`translate`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from string import Formatter

from babel import Locale, UnknownLocaleError
from babel.core import negotiate_locale

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
REFERENCE_LANGUAGE = "de"
# Languages whose script runs right to left; the page's dir attribute follows this.
RTL_LANGUAGES = frozenset({"ar", "fa"})
# Our codes that are not plain BCP 47 / CLDR codes: plain German is German to the browser, to
# screen readers and to Babel; Chinese is the simplified script.
HTML_LANG = {"de-simple": "de", "zh": "zh-Hans"}
CLDR_LOCALE = {"de-simple": "de", "zh": "zh_Hans"}


# The cookie that keeps the language a person picked on this device (only its code), for their
# next link; written by the page (portal.state.language), read there and by the 429 page.
LANGUAGE_COOKIE = "rk_lang"

# First strong isolate ... pop directional isolate (Unicode's bidirectional algorithm, UAX #9).
FSI, PDI = "\u2068", "\u2069"


def isolate(value: str) -> str:
    """A value (a file name) for a sentence, isolated from the sentence's direction.

    Inside right-to-left text the digits and brackets of "2024 (1).pdf" would otherwise take the
    sentence's direction and show scrambled; isolated, the name reads as it was written. Pages
    use ``<bdi>`` for the same; this is for the sentences the server builds.
    """
    return f"{FSI}{value}{PDI}"


def html_lang(lang: str) -> str:
    """The value for ``<html lang>``."""
    return HTML_LANG.get(lang, lang)


def cldr_locale(lang: str) -> Locale:
    """The Babel locale for dates, numbers and plurals of one of our languages (German if unknown)."""
    try:
        return Locale.parse(CLDR_LOCALE.get(lang, lang).replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(REFERENCE_LANGUAGE)


def _flatten(tree: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        elif isinstance(value, str):
            flat[name] = value
        else:
            raise ValueError(f"locale value for {name} is not text")
    return flat


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All texts of one language, flattened. Unknown languages fall back to the reference."""
    path = LOCALES_DIR / f"{lang}.json"
    if not path.is_file():
        path = LOCALES_DIR / f"{REFERENCE_LANGUAGE}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold an object")
    return _flatten(data)


@cache
def glossary(lang: str) -> dict[str, dict[str, str]]:
    """Administrative terms: German term id → {term, explanation} in ``lang`` (``locales/glossary``)."""
    path = LOCALES_DIR / "glossary" / f"{lang}.json"
    if not path.is_file():
        path = LOCALES_DIR / "glossary" / f"{REFERENCE_LANGUAGE}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold an object")
    return {str(k): {"term": str(v["term"]), "explanation": str(v["explanation"])} for k, v in data.items()}


def available_languages() -> list[str]:
    """Codes of every locale file, reference language first."""
    codes = sorted(p.stem for p in LOCALES_DIR.glob("*.json"))
    return sorted(codes, key=lambda c: (c != REFERENCE_LANGUAGE, c))


def placeholders(text: str) -> set[str]:
    """Named placeholders used in one text."""
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def translate(lang: str, key: str, **params: object) -> str:
    """The text for ``key`` in ``lang`` with its placeholders filled.

    A key missing in ``lang`` falls back to German; one missing everywhere returns the key itself,
    which the locale tests forbid, so it never reaches a person unnoticed.
    """
    text = catalogue(lang).get(key) or catalogue(REFERENCE_LANGUAGE).get(key)
    if text is None:
        # Returned as it is: a key is never a format string.
        return key
    if not params:
        return text
    return fill(text, params)


class _KeepMissing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(text: str, params: Mapping[str, object]) -> str:
    """Fill the named placeholders that ``params`` knows; leave the others for a later fill.

    ``text`` must be a catalogue text, never a value: values go into placeholders once, so one
    that looks like a placeholder (a file named ``{0}.txt``) is shown as it is.
    """
    return text.format_map(_KeepMissing({k: str(v) for k, v in params.items()}))


def translate_count(lang: str, key: str, count: int, **params: object) -> str:
    """A text that depends on a number: ``key.one``, ``key.few``, ... chosen by CLDR's plural rules."""
    form = cldr_locale(lang).plural_form(count)
    texts = catalogue(lang)
    chosen = f"{key}.{form}" if f"{key}.{form}" in texts else f"{key}.other"
    return translate(lang, chosen, count=count, **params)


# Sections the server puts into sentences itself (the presenter, the handlers' messages): no page
# reads them from its texts, so they are not sent to every browser. Half the catalogue, and most of
# what a link's first answer over the websocket carries.
SERVER_SIDE_SECTIONS = ("catalogue.", "error.", "static.")


def page_texts(lang: str, params: Mapping[str, object]) -> dict[str, str]:
    """The texts a page gets, with the portal-wide placeholders (limits and the like) filled."""
    return {
        key: fill(text, params) if "{" in text else text
        for key, text in catalogue(lang).items()
        if not key.startswith(SERVER_SIDE_SECTIONS)
    }


def text_direction(lang: str) -> str:
    return "rtl" if lang in RTL_LANGUAGES else "ltr"


def pick_language(chosen: str | None, recorded: str | None, accept_language: str | None, supported: list[str]) -> str:
    """The language a page opens in, first match wins (README, "Languages"):

    1. ``chosen``: what the person picked on a page of this portal on this device (a cookie);
    2. ``recorded``: the case's language, as the authority recorded it (``None``: not known);
    3. the browser's ``Accept-Language``, negotiated against ``supported``;
    4. German.

    A code outside ``supported`` (a case recorded in Tigrinya, a stale cookie) counts as none.
    """
    for given in (chosen, recorded):
        found = negotiate(given.strip().lower() if given else "", supported)
        if found:
            return found
    return negotiate(accept_language or "", supported) or REFERENCE_LANGUAGE


def negotiate(accept_language: str, supported: list[str]) -> str | None:
    """The first supported language of an ``Accept-Language`` value (or a single tag), by weight.

    Babel's ``negotiate_locale`` matches a tag exactly or by its language (``ar-EG`` → ``ar``,
    ``zh-Hans-CN`` → ``zh``); without Babel's aliases, which map to territories we do not use.
    """
    found = negotiate_locale(_parse_accept_language(accept_language), supported, sep="-", aliases={})
    return found.lower() if found else None


def _parse_accept_language(header: str) -> list[str]:
    """The tags of an ``Accept-Language`` value, lower case, the most wanted first (q=0 dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        fields = part.strip().split(";")
        tag = fields[0].strip().lower()[:35]
        if not tag or tag == "*":
            continue
        quality = 1.0
        for extra in fields[1:]:
            name, _, value = extra.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]
