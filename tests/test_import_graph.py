"""The import graph: no cycle inside any package, no private name of another package.

Every ``import`` counts: at module level, inside a function (a lazy import hides a cycle
from the interpreter, not from the design) and under ``if TYPE_CHECKING:`` (modules that
need each other's types are tangled too). The one exception is a package ``__init__``'s
``TYPE_CHECKING`` block, which only tells type checkers what it re-exports lazily.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p for p in (ROOT / "packages").iterdir() if (p / "src" / "polyvox").is_dir())


def _modules(package: Path) -> dict[str, Path]:
    found = {}
    for path in (package / "src").rglob("*.py"):
        parts = list(path.relative_to(package / "src").with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


ALL_MODULES = {name: path for package in PACKAGES for name, path in _modules(package).items()}
OWNER = {name: package.name for package in PACKAGES for name in _modules(package)}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, list[str]]]:
    """``(module imported, names taken from it)`` for every import that can run."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node) and is_package:
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            names = [alias.name for alias in node.names]
            submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in ALL_MODULES]
            plain = [n for n in names if f"{base}.{n}" not in ALL_MODULES]
            if plain or not submodules:  # `from pkg import submodule` needs the submodule only
                yield base, plain
            for sub in submodules:
                yield sub, []
        stack.extend(ast.iter_child_nodes(node))


def _edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in ALL_MODULES}
    for name, path in ALL_MODULES.items():
        tree = ast.parse(path.read_text())
        for target, _ in _imports(tree, name, path.name == "__init__.py"):
            if target in ALL_MODULES and target != name:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _package_graph(package: str) -> dict[str, set[str]]:
    graph = _edges()
    mine = {name for name, owner in OWNER.items() if owner == package}
    return {name: graph[name] & mine for name in mine}


@pytest.mark.parametrize("package", [p.name for p in PACKAGES])
def test_no_import_cycle_inside_a_package(package: str) -> None:
    cycles = _cycles(_package_graph(package))
    assert not cycles, f"{package} has import cycles: {cycles}"


@pytest.mark.parametrize("package", [p.name for p in PACKAGES])
def test_no_private_name_of_another_package(package: str) -> None:
    bad = []
    for name, path in ALL_MODULES.items():
        if OWNER[name] != package:
            continue
        tree = ast.parse(path.read_text())
        for target, names in _imports(tree, name, path.name == "__init__.py"):
            if target not in OWNER or OWNER[target] == package:
                continue
            private_module = any(part.startswith("_") for part in target.split(".")[1:])
            private_names = [n for n in names if n.startswith("_")]
            if private_module or private_names:
                bad.append(f"{name} imports {target} {private_names or ''}".strip())
    assert not bad, "\n".join(bad)
