"""Only ``router.py`` reaches into a ``Router``: the helpers take plain data.

The planning functions, the attempt loop, its drivers and ``explain()`` read
:class:`~polyvox.router.routing.Routing` (or the values they need), not the router. Read
from the source (AST), so a lazy import or a ``TYPE_CHECKING`` annotation counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel

import polyvox.router
from polyvox.router import Router
from polyvox.router.bindings import ToolBindingModel

PACKAGE = Path(polyvox.router.__file__).parent
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "router.py")
OWN = {"self", "cls"}


def _router_private_names() -> frozenset[str]:
    """Private names a router has that LangChain's chat models do not (its own internals)."""
    names: set[str] = set()
    for cls in (Router, ToolBindingModel):
        names |= {name for name in vars(cls) if name.startswith("_") and not name.endswith("__")}
        names |= set(cls.__private_attributes__)
    langchain = {name for cls in BaseChatModel.__mro__ for name in vars(cls)}
    return frozenset(names - langchain)


PRIVATE = _router_private_names()


def _module_name(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent.parent))


def _names_router(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    text = ast.unparse(annotation).replace('"', "").replace("'", "")
    words = {word.split(".")[-1] for word in text.replace("|", " ").replace("[", " ").split()}
    return "Router" in words


def test_the_router_has_private_names_to_look_for() -> None:
    assert {"_facts", "_by_name", "_bindings", "_routing"} <= PRIVATE


@pytest.mark.parametrize("path", MODULES, ids=_module_name)
def test_no_helper_reads_a_private_attribute_of_the_router(path: Path) -> None:
    tree = ast.parse(path.read_text())
    bad = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in PRIVATE
        and not (isinstance(node.value, ast.Name) and node.value.id in OWN)
    ]
    assert not bad, f"{_module_name(path)} reads the router's internals:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", MODULES, ids=_module_name)
def test_no_helper_takes_the_router(path: Path) -> None:
    tree = ast.parse(path.read_text())
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            every = [
                *arguments.posonlyargs,
                *arguments.args,
                *arguments.kwonlyargs,
                *(a for a in (arguments.vararg, arguments.kwarg) if a is not None),
            ]
            bad += [
                f"line {node.lineno}: {node.name}({argument.arg})"
                for argument in every
                if _names_router(argument.annotation)
            ]
        elif isinstance(node, ast.AnnAssign) and _names_router(node.annotation):
            bad.append(f"line {node.lineno}: {ast.unparse(node.target)}")
    assert not bad, f"{_module_name(path)} takes a Router, not plain data:\n" + "\n".join(bad)


def test_the_checks_see_a_helper_that_reaches_into_the_router() -> None:
    source = (
        "def helper(router: Router, routing: Routing) -> None:\n"
        "    router._facts['x']\n"
        "    self._facts\n"
    )
    tree = ast.parse(source)
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    assert [_names_router(a.annotation) for a in function.args.args] == [True, False]
    reads = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in PRIVATE
        and not (isinstance(node.value, ast.Name) and node.value.id in OWN)
    ]
    assert reads == ["router._facts"]
