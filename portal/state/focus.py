"""Moving the keyboard focus after an event: to a new step's heading, an error summary, a field.

WCAG 2.4.3 (focus order) and 3.3.1 (error identification): after the page changes under the
person, focus goes where the change is, so a screen reader reads it and the keyboard continues
there. The focus waits a moment for React to have drawn the element it moves to.
"""

from __future__ import annotations

import json
from typing import Literal

import reflex as rx
from reflex.event import EventSpec

Scroll = Literal["none", "top", "into_view"]

_SCROLL = {
    "none": "",
    # A new step: the page starts at its top, as a new page would.
    "top": "window.scrollTo(0,0);",
    # A field named in the error summary: it may sit below the fold.
    "into_view": "e.scrollIntoView();",
}


def focus_script(element_id: str, scroll: Scroll = "none", delay_ms: int = 50) -> str:
    """The script that focuses ``element_id`` (if it is on the page) after ``delay_ms``."""
    # JSON quoting: the id may come from the browser (an error-summary link names its field).
    return (
        f"setTimeout(()=>{{const e=document.getElementById({json.dumps(element_id)});"
        f"if(e){{e.focus();{_SCROLL[scroll]}}}}},{delay_ms})"
    )


def focus(element_id: str, scroll: Scroll = "none", delay_ms: int = 50) -> EventSpec:
    """An event handler's answer that focuses ``element_id``; see :func:`focus_script`."""
    return rx.call_script(focus_script(element_id, scroll, delay_ms))
