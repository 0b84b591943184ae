"""The router's notebook, guide and benchmarks agree with each other and are committed clean.

The notebook itself runs in CI (``nox -s notebooks``) and the guide's examples run in
tests/docs; these checks are the cheap ones: the notebook is valid, free of outputs and
compiles, and every benchmark the guide names exists.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re

import benchmarks
from benchmarks.harness import registered
from tests.conftest import REPO

NOTEBOOK = REPO / "notebooks" / "router.ipynb"
GUIDE = REPO / "docs" / "router.md"


def test_notebook_is_valid_and_committed_without_outputs() -> None:
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) >= 8
    for cell in code:
        assert cell.outputs == [], f"cell {cell.id} has outputs"
        assert cell.execution_count is None, f"cell {cell.id} has an execution count"
        ast.parse(cell.source, filename=f"{NOTEBOOK.name}:{cell.id}")
    ids = [cell.id for cell in notebook.cells]
    assert len(ids) == len(set(ids))


def test_notebook_covers_strategies_faults_explain_and_statistics() -> None:
    sources = "\n".join(
        "".join(cell["source"])
        for cell in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    )
    for needed in ("strategy=name", "emulator.fail(", ".explain(", ".stats.by_deployment()"):
        assert needed in sources, needed


def test_every_benchmark_the_guide_names_is_registered() -> None:
    for module in pkgutil.iter_modules(benchmarks.__path__):
        if module.name.startswith("router_"):  # importing a family module registers it
            importlib.import_module(f"benchmarks.{module.name}")
    named = set(re.findall(r"`(router\.[a-z_]+)`", GUIDE.read_text(encoding="utf-8")))
    assert {"router.decision", "router.overhead", "router.fallback"} <= named
    known = {bench.name for bench in registered()}
    assert named <= known, named - known
