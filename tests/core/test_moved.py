"""What moved out of polyvox-core stays importable where it was, and says how to install it.

The catalog, costs, tracking and ledger moved to ``polyvox-costs``, the caches to
``polyvox-cache``, language detection and translation to ``polyvox-language``. Provider
packages depend on ``polyvox-core`` alone, so the old import paths serve the names from
the new distributions (the same objects), and a missing distribution is named with the
command that installs it.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

MOVED = {
    "polyvox.core.catalog": "polyvox.costs.catalog",
    "polyvox.core.costs": "polyvox.costs.computation",
    "polyvox.core.ledger": "polyvox.costs.ledger",
    "polyvox.core.tracking": "polyvox.costs.tracking",
    "polyvox.core.cache": "polyvox.cache",
    "polyvox.core.language": "polyvox.language.detection",
    "polyvox.core.translation": "polyvox.language.translation",
}


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_old_paths_serve_the_same_objects(old: str, new: str) -> None:
    before, after = importlib.import_module(old), importlib.import_module(new)
    assert before.__all__ == after.__all__
    for name in after.__all__:
        assert getattr(before, name) is getattr(after, name), name
    assert set(after.__all__) <= set(dir(before))


def test_from_import_star_and_documented_imports() -> None:
    namespace: dict[str, object] = {}
    exec("from polyvox.core.ledger import *", namespace)
    from polyvox.core.tracking import CostCallbackHandler
    from polyvox.costs.ledger import Ledger
    from polyvox.costs.tracking import CostCallbackHandler as New

    assert namespace["Ledger"] is Ledger
    assert CostCallbackHandler is New


def test_an_unknown_name_is_an_attribute_error_naming_the_new_home() -> None:
    import polyvox.core.catalog as old

    with pytest.raises(AttributeError, match=r"moved to 'polyvox.costs.catalog'"):
        _ = old.NoSuchThing


def _run(code: str) -> subprocess.CompletedProcess[str]:
    # Import with the new distribution hidden, as a provider-only install would have it.
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


@pytest.mark.parametrize(
    ("hidden", "statement", "command"),
    [
        (
            "polyvox.costs",
            "from polyvox.core.ledger import Ledger",
            'pip install "polyvox-costs[ledger]"',
        ),
        (
            "polyvox.costs",
            "from polyvox.core.catalog import ModelCatalog",
            'pip install "polyvox-costs"',
        ),
        (
            "polyvox.cache",
            "from polyvox.core.cache import CACHE_HIT_KEY",
            'pip install "polyvox-cache"',
        ),
        (
            "polyvox.language",
            "from polyvox.ollama import detect_language",
            'pip install "polyvox-ollama[polish]"',
        ),
    ],
)
def test_a_missing_distribution_names_its_install_command(
    hidden: str, statement: str, command: str
) -> None:
    code = f"import sys; sys.modules[{hidden!r}] = None; {statement}"
    out = _run(code)
    assert out.returncode != 0
    assert command in out.stderr, out.stderr
    assert "ModuleNotFoundError" in out.stderr
