"""The README's layout table and the tree agree: every package and top-level module of the portal
is in the table, and every path the table names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _table_paths() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return {path for row in rows for path in re.findall(r"`([^`\s]+)`", row.split(" | ")[0])}


def test_every_path_in_the_table_exists() -> None:
    missing = sorted(p for p in _table_paths() if not (ROOT / p).exists())
    assert not missing, f"the README's layout table names paths that do not exist: {missing}"


def test_every_part_of_the_portal_is_in_the_table() -> None:
    portal = ROOT / "portal"
    parts = {f"portal/{p.name}/" for p in portal.iterdir() if (p / "__init__.py").exists()}
    parts |= {f"portal/{p.name}" for p in portal.glob("*.py") if p.name != "__init__.py"}
    absent = sorted(parts - _table_paths())
    assert not absent, f"the README's layout table does not say what these hold: {absent}"
