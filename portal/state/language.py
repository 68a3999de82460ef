"""The language of the session: which catalogue the page shows, and the document's lang/dir."""

from __future__ import annotations

import json
import math
import time

import reflex as rx
from reflex.event import EventSpec

from portal.domain import formatting, i18n
from portal.runtime import settings
from portal.state.focus import focus


def _language_options() -> list[dict[str, str]]:
    # Each language is listed in its own name and script (the `language.name` key of its file).
    return [
        {"code": code, "name": i18n.translate(code, "language.name")}
        for code in settings().languages
        if code in i18n.available_languages()
    ]


def _session_timer_script() -> str:
    """Shows the session warning before the idle expiry; any interaction starts the count anew.

    Installed once per page load. Interactions that reach the server renew the session there
    too; the warning's button sends an event for the applicant who only reads.
    """
    s = settings()
    warn_after_ms = max(0, s.session_timeout_seconds - s.session_warning_seconds) * 1000
    return (
        "(function(){if(window.__rkSessionReset){window.__rkSessionReset();return;}let t;"
        "const show=()=>{const w=document.getElementById('session-warning');"
        "if(w&&w.hidden){w.hidden=false;const b=document.getElementById('session-extend');if(b){b.focus();}}};"
        f"const reset=()=>{{clearTimeout(t);t=setTimeout(show,{warn_after_ms});}};"
        "['click','keydown','input','change'].forEach(e=>document.addEventListener(e,reset,true));"
        "window.__rkSessionReset=reset;reset();})();"
    )


# The applicant's own pick of language, kept on their device for their next link (README,
# "Languages"). Functional: it holds only the language code, is sent to no one else and is
# written only when the person picks a language, so it needs no consent; the privacy page says so.
LANGUAGE_COOKIE_MAX_AGE = 180 * 24 * 3600


def _language_cookie() -> rx.Cookie:
    # Secure over HTTPS: the public address is the one the browser sees (behind a TLS proxy too).
    return rx.Cookie(
        "",
        name=i18n.LANGUAGE_COOKIE,
        path="/",
        max_age=LANGUAGE_COOKIE_MAX_AGE,
        same_site="lax",
        secure=settings().public_url.startswith("https://"),
    )


def _text_params(lang: str) -> dict[str, object]:
    """The portal-wide values the texts name (limits, the operator's details), formatted for `lang`."""
    s = settings()
    return {
        "max_size": formatting.format_file_size(s.max_file_bytes, lang),
        "max_files": s.max_files_per_item,
        "max_text": s.max_text_chars,
        "in_minutes": formatting.format_in_minutes(math.ceil(s.session_warning_seconds / 60), lang),
        "retention_hours": formatting.format_number(int(s.upload_retention_hours), lang),
        "operator_name": s.operator_name,
        "operator_address": s.operator_address,
        "operator_email": s.operator_email,
        "operator_phone": s.operator_phone,
        "accessibility_email": s.accessibility_email,
        "dpo_contact": s.dpo_contact,
        "arbitration_body": s.arbitration_body,
    }


class LanguageState(rx.State):
    """Base state of every page. Texts of the current language travel as one dict."""

    lang: str = i18n.REFERENCE_LANGUAGE
    dir: str = "ltr"
    # Filled as page_texts fills them, so the prerendered pages show no placeholders and a German
    # session does not get the same texts sent again (less work before the first paint).
    t: dict[str, str] = i18n.page_texts(i18n.REFERENCE_LANGUAGE, _text_params(i18n.REFERENCE_LANGUAGE))
    languages: list[dict[str, str]] = _language_options()
    # True once the applicant (or staff) picked a language; the case's preference no longer wins.
    _chosen: bool = False
    # The language an applicant picked on an earlier visit on this device ("" if none).
    picked_language: str = _language_cookie()
    # Written by keep_alive so the state is saved, which renews its idle expiry.
    alive_at: int = 0

    def _apply_language(self, lang: str) -> list[EventSpec]:
        supported = [o["code"] for o in self.languages]
        if lang not in supported:
            lang = i18n.REFERENCE_LANGUAGE
        # Assigning marks a var for sending; the catalogue is large, so only when it changes.
        if lang != self.lang:
            self.lang = lang
            self.dir = i18n.text_direction(lang)
        texts = i18n.page_texts(lang, self._text_params())
        if texts != self.t:
            self.t = texts
        return [self._document_attributes()]

    def _text_params(self) -> dict[str, object]:
        return _text_params(self.lang)

    def _tr(self, key: str, **params: object) -> str:
        """One text of the current language, server side (errors, announcements).

        Private, so no browser can call it. The portal-wide values and the caller's values go
        into the placeholders in one pass: a value (a file name, say) is never itself formatted.
        """
        return i18n.translate(self.lang, key, **{**self._text_params(), **params})

    def _tr_count(self, key: str, count: int, **params: object) -> str:
        return i18n.translate_count(self.lang, key, count, **{**self._text_params(), **params})

    def _tr_wait(self, minutes: int) -> str:
        """How long to wait before trying again (a refused attempt), as a sentence."""
        return self._tr_count("limit.wait_minutes", minutes, minutes=formatting.format_number(minutes, self.lang))

    def _document_attributes(self) -> EventSpec:
        # The document root cannot be stateful in Reflex, so lang/dir follow the choice by script.
        return rx.call_script(
            f"document.documentElement.lang={json.dumps(i18n.html_lang(self.lang))};"
            f"document.documentElement.dir={json.dumps(self.dir)};"
            f"document.title={json.dumps(self.t.get('app.title', ''))};" + _session_timer_script()
        )

    @rx.event
    def keep_alive(self) -> EventSpec:
        """The applicant chose to stay: any event renews the session's idle expiry."""
        self.alive_at = int(time.time())
        return rx.call_script(
            "const w=document.getElementById('session-warning');if(w){w.hidden=true;}"
            "if(window.__rkSessionReset){window.__rkSessionReset();}"
        )

    def _pick_initial(self, recorded: str | None, *, remembered: bool = True) -> list[EventSpec]:
        """The language of a first page: the pick of this session, else of this device (unless
        ``remembered`` is off: the staff area), else the case's ``recorded`` one, the browser's, German."""
        if self._chosen:
            return self._apply_language(self.lang)
        accept = self.router.headers.accept_language
        supported = [o["code"] for o in self.languages]
        picked = self.picked_language if remembered else None
        return self._apply_language(i18n.pick_language(picked, recorded, accept, supported))

    @rx.event
    def change_language(self, lang: str) -> list[EventSpec]:
        specs = self._change_language(lang)
        self._remember_language()
        return specs

    def _remember_language(self) -> None:
        """The applicant's pick is kept on the device for their next link (the cookie above)."""
        if self.picked_language != self.lang:
            self.picked_language = self.lang

    def _change_language(self, lang: str) -> list[EventSpec]:
        """The person's own choice of language (the states that add to the switch call this)."""
        self._chosen = True
        return [*self._apply_language(lang), self.refocus_language_select()]

    @staticmethod
    def refocus_language_select() -> EventSpec:
        # The header is rebuilt for a new language (a layout shift), which drops the focus of
        # the select the person just used; give it back so the keyboard stays where it was.
        return focus("language-select")

    @rx.event
    def start(self) -> list[EventSpec]:
        return self._pick_initial(None)
