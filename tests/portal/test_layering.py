"""The portal's layers, read from the source: the domain stays plain rules, and no modules of the
portal import each other in a circle.

Both checks walk the syntax tree of every file under ``portal/``; nothing is imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parents[2] / "portal"

# What the domain must never reach for: the settings and the process's resources (values are
# passed in), the case-service client, the outbox and the other outer layers, the database, HTTP
# and the web framework.
FORBIDDEN_IN_DOMAIN = (
    "portal.settings",
    "portal.runtime",
    "portal.client",
    "portal.outbox",
    "portal.protection",
    "portal.staff",
    "portal.state",
    "portal.pages",
    "portal.server",
    "portal.presenter",
    # Intake produces uploads (portal.domain.uploads); the rules never parse one.
    "portal.intake",
    "components",
    "pydantic_settings",
    "sqlalchemy",
    "httpx",
    "reflex",
)

# Intake's private-file helpers import nothing of the portal: a draft's files are deleted with them.
ALLOWED_IN_DOMAIN = ("portal.intake.files",)

# Cycles accepted on purpose (none today): each entry says why it cannot be broken.
KNOWN_CYCLES: set[frozenset[str]] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(PORTAL.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PORTAL.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.Import | ast.ImportFrom, module: str, *, is_package: bool) -> Iterator[str]:
    """Every module name an import statement may load: ``from a import b`` names ``a`` and ``a.b``."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:  # relative: resolved against this module's package
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    yield base
    yield from (f"{base}.{alias.name}" for alias in node.names)


def imported(path: Path, *, deferred: bool) -> set[str]:
    """The names the file ``path`` imports: at module level only, or with ``deferred`` also those
    inside functions and ``if TYPE_CHECKING:`` blocks."""
    source = path.read_text(encoding="utf-8")
    return imports_in(source, _module_name(path), is_package=path.name == "__init__.py", deferred=deferred)


def imports_in(source: str, module: str, *, is_package: bool, deferred: bool) -> set[str]:
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.update(_imports(node, module, is_package=is_package))
            elif isinstance(node, ast.If) and _is_type_checking(node):
                if deferred:
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if deferred or isinstance(node, ast.ClassDef):  # a class body runs at import
                    visit(node.body)
            else:  # if/try/with/for blocks at module level run at import
                for block in ("body", "orelse", "finalbody"):
                    visit(getattr(node, block, []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(ast.parse(source).body)
    return found


def import_graph(*, deferred: bool) -> dict[str, set[str]]:
    """Module → the portal modules it imports (a package's ``__init__`` counts as a module)."""
    return {
        name: {target for target in imported(path, deferred=deferred) if target in MODULES and target != name}
        for name, path in MODULES.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan), as a path
    that starts and ends at the same module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_cycle_through(graph, component) for component in components]


def _cycle_through(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """The shortest way from the component's first module back to itself (breadth first)."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & component):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError("a strongly connected component always has a cycle")


# ---------------------------------------------------------------- the checks


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("portal.domain")))
def test_the_domain_imports_no_outer_layer(module: str) -> None:
    reached = imported(MODULES[module], deferred=True)
    bad = sorted(
        name
        for name in reached
        if any(name == f or name.startswith(f"{f}.") for f in FORBIDDEN_IN_DOMAIN)
        and not any(name == a or name.startswith(f"{a}.") for a in ALLOWED_IN_DOMAIN)
    )
    assert not bad, f"{module} imports {bad}: pass values in instead"


def test_no_import_cycle_among_the_portals_modules() -> None:
    found = cycles(import_graph(deferred=False))
    assert not found, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in found)


def test_no_cycle_hides_in_a_function_or_behind_type_checking() -> None:
    found = [cycle for cycle in cycles(import_graph(deferred=True)) if frozenset(cycle) not in KNOWN_CYCLES]
    assert not found, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in found)


# ---------------------------------------------------------------- the checks can fail


def test_the_scan_sees_imports_in_functions_and_type_checking_blocks() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import httpx\n"
        "if TYPE_CHECKING:\n"
        "    from portal.settings import PortalSettings\n"
        "try:\n"
        "    import reflex\n"
        "except ImportError:\n"
        "    pass\n"
        "class Later:\n"
        "    def method(self):\n"
        "        from portal import client\n"
    )
    at_import = imports_in(source, "portal.sample", is_package=False, deferred=False)
    assert {"httpx", "reflex"} <= at_import
    assert "portal.settings" not in at_import and "portal.client" not in at_import
    assert {"portal.settings", "portal.client"} <= imports_in(source, "portal.sample", is_package=False, deferred=True)


def test_relative_imports_resolve_against_the_package() -> None:
    node = ast.parse("from ..domain import clock\nfrom . import store\n").body
    first, second = node
    assert isinstance(first, ast.ImportFrom) and isinstance(second, ast.ImportFrom)
    assert set(_imports(first, "portal.outbox.delivery", is_package=False)) == {"portal.domain", "portal.domain.clock"}
    assert set(_imports(second, "portal.outbox", is_package=True)) == {"portal.outbox", "portal.outbox.store"}


def test_cycles_are_found_and_named() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]  # a module importing itself is no cycle here
    assert cycles({"a": {"b"}, "b": set()}) == []
