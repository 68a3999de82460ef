"""The one script that moves the focus: to the named element, scrolled as asked, quoted safely."""

from __future__ import annotations

import json
import re

from portal.state.focus import focus, focus_script


def _quoted_id(script: str) -> str:
    found = re.search(r"getElementById\((\".*?(?<!\\)\")\)", script)
    assert found is not None, script
    return json.loads(found.group(1))


def test_the_script_focuses_the_element_after_a_moment() -> None:
    script = focus_script("step-heading", scroll="top")
    assert _quoted_id(script) == "step-heading"
    assert "e.focus();window.scrollTo(0,0);" in script and script.endswith(",50)")
    assert "scroll" not in focus_script("error-summary")
    assert "e.scrollIntoView();" in focus_script("item-1", scroll="into_view", delay_ms=80)
    assert focus_script("item-1", delay_ms=80).endswith(",80)")


def test_an_id_from_the_browser_stays_a_string() -> None:
    hostile = "x');alert(1);('\"</script>"
    assert _quoted_id(focus_script(hostile)) == hostile


def test_the_handlers_answer_runs_the_script() -> None:
    spec = focus("language-select")
    assert focus_script("language-select") in str(spec.args)
