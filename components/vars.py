"""The kinds of Var the components take.

A page hands a component its state's vars as read on the state's class: Reflex Vars, typed here by
what they hold. Mypy itself types such a read as the var's Python value (``dict[str, str]``), so
the pages are checked without that (see the mypy overrides in pyproject.toml).
"""

from __future__ import annotations

from typing import TypeAlias

from reflex.vars import ObjectVar

# The texts of the page's language, by key (``LanguageState.t``); ``t["key"]`` is a StringVar.
Texts: TypeAlias = ObjectVar[dict[str, str]]
