"""polyvox task runner.

Every session works in the one project environment (``.venv``) that ``uv sync`` keeps
in step with ``uv.lock``, so switching sessions costs no reinstall:

* ``nox -s tests``     - lint, type check, the whole test suite, notebooks and docs (what CI runs)
* ``nox -s pytest``    - only the test suite (pass pytest arguments after ``--``)
* ``nox -s lint``      - ruff check and ruff format --check
* ``nox -s typecheck`` - mypy --strict on every package's ``src/``
* ``nox -s docs``      - build the documentation site with ``--strict``
* ``nox -s notebooks`` - execute every notebook against the emulator
* ``nox -s bench``     - benchmarks, printed as ratios against a baseline from the same run
* ``nox -s demo``      - the demo: a streamed reply, a tool call and token usage
"""

from __future__ import annotations

import os
import shutil
import sys

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["tests"]
nox.options.error_on_missing_interpreters = True
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # mkdocs-material's banner about MkDocs 2

SRC_DIRS = [f"packages/{p}/src" for p in sorted(os.listdir("packages"))]


def _uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin
    except ImportError:  # pragma: no cover - dev.py installs uv beside nox
        sys.exit("uv is needed: run `python3 dev.py <session>` or `pip install uv`")
    return str(find_uv_bin())


def _sync(session: nox.Session) -> None:
    frozen = ["--locked"] if os.environ.get("CI") else []
    session.run(_uv(), "sync", "--all-packages", *frozen, external=True)


def _run(session: nox.Session, *args: str, **kwargs: object) -> None:
    session.run(_uv(), "run", "--no-sync", *args, external=True, **kwargs)  # type: ignore[arg-type]


@nox.session
def lint(session: nox.Session) -> None:
    _sync(session)
    _run(session, "ruff", "check", ".")
    _run(session, "ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    _sync(session)
    _run(session, "mypy", *SRC_DIRS)


@nox.session
def pytest(session: nox.Session) -> None:
    _sync(session)
    workers = os.environ.get("POLYVOX_TEST_WORKERS", "auto")
    _run(session, "pytest", "-n", workers, *session.posargs)


@nox.session
def notebooks(session: nox.Session) -> None:
    _sync(session)
    _run(session, "python", "-m", "polyvox.testing.notebooks", "notebooks")


@nox.session
def docs(session: nox.Session) -> None:
    _sync(session)
    _run(session, "mkdocs", "build", "--strict", "--site-dir", "site")


@nox.session
def tests(session: nox.Session) -> None:
    """Everything CI checks, in order of cost."""
    _sync(session)
    _run(session, "ruff", "check", ".")
    _run(session, "ruff", "format", "--check", ".")
    _run(session, "mypy", *SRC_DIRS)
    _run(session, "mkdocs", "build", "--strict", "--site-dir", "site")
    _run(session, "python", "-m", "polyvox.testing.notebooks", "notebooks")
    workers = os.environ.get("POLYVOX_TEST_WORKERS", "auto")
    _run(session, "pytest", "-n", workers, *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    _sync(session)
    _run(session, "python", "-m", "benchmarks", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    _sync(session)
    _run(session, "polyvox", "demo", *session.posargs)


@nox.session
def installs(session: nox.Session) -> None:
    """Each distribution installed alone in a fresh venv, and used (needs the registry)."""
    _sync(session)
    _run(session, "python", "scripts/check_installs.py", _uv())
