"""Each distribution declares what its code imports (and polyvox stays a namespace)."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

PACKAGES = sorted(p for p in (REPO / "packages").iterdir() if (p / "pyproject.toml").exists())


def _declared(package: Path) -> tuple[set[str], set[str]]:
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    required = {canonicalize_name(Requirement(r).name) for r in project.get("dependencies", [])}
    extras = {
        canonicalize_name(Requirement(r).name)
        for reqs in project.get("optional-dependencies", {}).values()
        for r in reqs
    }
    return required, extras


def _imports(package: Path) -> dict[str, set[str]]:
    """Top-level modules imported by the package's sources -> the files importing them."""
    found: dict[str, set[str]] = {}
    for path in (package / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(path.name)
    return found


def _distributions(module: str) -> set[str]:
    return {canonicalize_name(d) for d in packages_distributions().get(module, [])}


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_imports_are_declared(package: Path) -> None:
    required, extras = _declared(package)
    own = canonicalize_name(package.name)
    undeclared = []
    for module, files in sorted(_imports(package).items()):
        if module in sys.stdlib_module_names or module == "__future__":
            continue
        if module == "polyvox":
            continue  # checked below: polyvox.* imports must name polyvox distributions
        dists = _distributions(module)
        assert dists, f"{module} (imported by {sorted(files)}) belongs to no installed distribution"
        if not dists & (required | extras | {own}):
            undeclared.append(f"{module} ({', '.join(sorted(dists))}) in {sorted(files)}")
    assert not undeclared, f"{package.name} imports undeclared distributions: {undeclared}"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_polyvox_imports_name_declared_packages(package: Path) -> None:
    required, extras = _declared(package)
    own = package.name.removeprefix("polyvox-")
    for path in (package / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                parts = node.module.split(".")
                if parts[0] == "polyvox" and len(parts) > 1 and parts[1] != own:
                    dist = f"polyvox-{parts[1]}"
                    assert dist in required | extras, (
                        f"{path} imports {node.module}: declare {dist}"
                    )


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_namespace_has_no_init(package: Path) -> None:
    assert not (package / "src" / "polyvox" / "__init__.py").exists()


def test_every_distribution_carries_its_license() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for package in sorted((root / "packages").iterdir()):
        if (package / "pyproject.toml").exists():
            text = (package / "LICENSE").read_text()
            assert text.startswith("MIT License"), package.name
            assert 'license = "MIT"' in (package / "pyproject.toml").read_text(), package.name


@pytest.mark.parametrize("package", sorted(p.name for p in (REPO / "packages").iterdir()))
def test_version_is_one_figure(package: str) -> None:
    """``__version__``, the pyproject and the installed metadata agree; bounds admit it."""
    import importlib
    from importlib.metadata import version

    project = tomllib.loads((REPO / "packages" / package / "pyproject.toml").read_text())
    declared = project["project"]["version"]
    module = importlib.import_module("polyvox." + package.removeprefix("polyvox-"))
    assert module.__version__ == declared == version(package)
    for requirement in project["project"]["dependencies"]:
        if requirement.startswith("polyvox-"):
            assert ">=0.1.0,<0.2" in requirement, f"{package}: {requirement} lacks the bounds"


def test_changelog_and_pre_commit_run_what_ci_runs() -> None:
    import yaml

    assert "## [Unreleased]" in (REPO / "CHANGELOG.md").read_text()
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    entries = " | ".join(hook["entry"] for repo in config["repos"] for hook in repo["hooks"])
    for command in ("ruff check", "ruff format --check", "dev.py typecheck", "dev.py tests"):
        assert command in entries, f".pre-commit-config.yaml does not run {command!r}"
    ci = (REPO / ".ci" / "run").read_text()
    assert "dev.py tests" in ci
