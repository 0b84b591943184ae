"""Execute Jupyter notebooks against the polyvox emulator (``nox -s notebooks`` in CI).

``python -m polyvox.testing.notebooks notebooks`` runs every ``*.ipynb`` under the given
folders (or the given notebook files) with ``nbclient``, one fresh kernel per notebook,
and prints one line per notebook with its time. The kernel is always the running
interpreter (``sys.executable``), whatever kernelspecs are or are not installed, so it
works on a machine where only the project's virtual environment exists.

The runner starts one emulator and exports its address to every kernel, so notebooks
written for real users (``ChatOpenAI(model="gpt-4o-mini")``) run unchanged:

* ``OPENAI_BASE_URL`` - the emulator's OpenAI base URL (``http://127.0.0.1:PORT/v1``);
* ``OPENAI_API_KEY`` - ``sk-notebook``;
* ``POLYVOX_EMULATOR_URL`` - the emulator's root URL, for its ``/_emulator`` control API.

The emulator's scripts and faults are cleared before each notebook. Notebooks are never
written back: committed notebooks stay free of outputs.

Exit status: 0 when every notebook ran, 1 when a cell of any notebook failed (the
notebook, the cell and the error are printed), 2 when a path does not exist or no
notebook was found.

Needs ``nbclient``, ``nbformat``, ``ipykernel`` and ``jupyter_client`` (the workspace's
``test`` group); they are imported only when notebooks run.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import re
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

__all__ = ["NotebookResult", "find_notebooks", "kernel_environment", "main", "run_notebook"]

DEFAULT_CELL_TIMEOUT = 120
"""Seconds one cell may run before the notebook fails."""

NOTEBOOK_API_KEY = "sk-notebook"
"""The ``OPENAI_API_KEY`` kernels see (the emulator accepts any key)."""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True, slots=True)
class NotebookResult:
    """What happened to one notebook."""

    path: Path
    """The notebook."""

    seconds: float
    """Wall-clock time, kernel start and shutdown included."""

    cell: int | None = None
    """The failing cell's position among all cells, from 1 (``None`` when it passed)."""

    error: str | None = None
    """A one-line description of the failure (``None`` when it passed)."""

    details: str = ""
    """The failing cell's source and traceback, without terminal colours."""

    @property
    def ok(self) -> bool:
        """Whether every cell ran without an error."""
        return self.error is None


def find_notebooks(paths: Iterable[str | Path]) -> list[Path]:
    """Collect the notebooks under folders, and notebook files given directly.

    Hidden folders (``.ipynb_checkpoints``, ``.venv``, ...) are skipped.

    Args:
        paths: Folders and ``.ipynb`` files.

    Returns:
        The notebooks, sorted and without duplicates.

    Raises:
        FileNotFoundError: If a path does not exist.
    """
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
        if path.is_file():
            if path.suffix == ".ipynb":
                found.add(path)
            continue
        for candidate in path.rglob("*.ipynb"):
            hidden = any(part.startswith(".") for part in candidate.relative_to(path).parts)
            if candidate.is_file() and not hidden:
                found.add(candidate)
    return sorted(found)


def kernel_environment(emulator_url: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a notebook kernel gets: ``base`` plus the emulator's address.

    Args:
        emulator_url: The emulator's root URL (``http://127.0.0.1:PORT``).
        base: The environment to extend (``os.environ`` when ``None``).

    Returns:
        A new mapping; ``base`` is not changed.
    """
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "OPENAI_BASE_URL": f"{emulator_url}/v1",
            "OPENAI_API_KEY": NOTEBOOK_API_KEY,
            "POLYVOX_EMULATOR_URL": emulator_url,
            # ipykernel's debugger otherwise warns about frozen modules on every start
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
    )
    return env


def _kernel_spec_manager() -> KernelSpecManager:
    """A kernelspec manager whose every kernel is ipykernel on ``sys.executable``.

    The spec is ipykernel's own built-in one (what ``ipykernel install`` would write, with
    the metadata this ipykernel version supports), so no installed kernelspec is consulted.
    """
    from ipykernel.kernelspec import get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class _RunningInterpreterSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            spec = get_kernel_dict()
            spec["argv"] = [sys.executable, *spec["argv"][1:]]
            return KernelSpec(resource_dir="", **spec)

    return _RunningInterpreterSpecs()


@cache
def _kernel_manager_class() -> type[AsyncKernelManager]:
    """An ``AsyncKernelManager`` that always starts the running interpreter's kernel."""
    from jupyter_client.manager import AsyncKernelManager

    class _RunningInterpreterKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("kernel_spec_manager", _kernel_spec_manager())
            super().__init__(**kwargs)
            if "transport_encryption" in self.trait_names():
                # CurveZMQ where jupyter_client and pyzmq have it (the setting refuses
                # otherwise): ipykernel warns about plain-text TCP without it
                with contextlib.suppress(Exception):
                    self.transport_encryption = "auto"

    return _RunningInterpreterKernelManager


def _first_line(source: str) -> str:
    line = next((s.strip() for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= 60 else f"{line[:57]}..."


def _describe(error: Exception, timeout: int) -> str:
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    if isinstance(error, CellExecutionError):
        text = f"{error.ename}: {error.evalue}"
    elif isinstance(error, CellTimeoutError):
        text = f"the cell ran longer than {timeout} s"
    else:
        text = f"{type(error).__name__}: {error}"
    lines = _ANSI.sub("", text).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def run_notebook(
    path: Path, env: Mapping[str, str], *, timeout: int = DEFAULT_CELL_TIMEOUT
) -> NotebookResult:
    """Execute one notebook in a fresh kernel; the file is not changed.

    Args:
        path: The notebook.
        env: The kernel's environment.
        timeout: Seconds each cell may run.

    Returns:
        The result; a failure names the cell and the error.
    """
    import nbformat
    from nbclient import NotebookClient

    started = time.perf_counter()
    try:
        notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    except Exception as error:
        seconds = time.perf_counter() - started
        return NotebookResult(path, seconds, error=f"cannot read the notebook: {error}")

    current: list[int] = []

    def on_cell_start(cell: Any, cell_index: int) -> None:
        current[:] = [cell_index]

    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        kernel_manager_class=_kernel_manager_class(),
        resources={"metadata": {"path": str(path.parent.resolve())}},
        on_cell_start=on_cell_start,
        record_timing=False,
    )
    try:
        client.execute(env=dict(env))
    except Exception as error:
        summary = _describe(error, timeout)
        cell: int | None = None
        if current:
            cell = current[0] + 1
            summary = f"cell {cell} ({_first_line(notebook.cells[current[0]].source)}): {summary}"
        details = _ANSI.sub("", str(error)).strip()
        return NotebookResult(
            path, time.perf_counter() - started, cell=cell, error=summary, details=details
        )
    finally:
        # nbclient leaves the kernel running when it fails to start or to answer; stop it
        atexit.unregister(client._cleanup_kernel)
        if client.km is not None:
            with contextlib.suppress(Exception):
                client._cleanup_kernel()
    return NotebookResult(path, time.perf_counter() - started)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m polyvox.testing.notebooks",
        description="Execute notebooks against the polyvox emulator (outputs are not saved).",
    )
    parser.add_argument("paths", nargs="+", help="folders to search for *.ipynb, or notebooks")
    parser.add_argument(
        "--timeout",
        type=int,
        default=DEFAULT_CELL_TIMEOUT,
        help="seconds each cell may run (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the notebooks named on the command line against a fresh emulator.

    Args:
        argv: The arguments (``sys.argv[1:]`` when ``None``): folders or notebooks, and
            ``--timeout SECONDS`` per cell.

    Returns:
        0 when every notebook ran, 1 when one failed, 2 when there was nothing to run.
    """
    args = _parser().parse_args(argv)
    try:
        notebooks = find_notebooks(args.paths)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not notebooks:
        print(f"error: no notebooks (*.ipynb) found in {', '.join(args.paths)}", file=sys.stderr)
        return 2

    from polyvox.testing.emulator.server import Emulator

    results: list[NotebookResult] = []
    with Emulator() as emulator:
        env = kernel_environment(emulator.url)
        print(
            f"running {len(notebooks)} notebook(s) against the emulator at {emulator.url}",
            flush=True,
        )
        for path in notebooks:
            emulator.reset()
            result = run_notebook(path, env, timeout=args.timeout)
            results.append(result)
            status = "ok  " if result.ok else "FAIL"
            line = f"{status} {path} ({result.seconds:.1f} s)"
            print(line if result.ok else f"{line}: {result.error}", flush=True)
            if not result.ok and result.details:
                print(result.details, file=sys.stderr, flush=True)

    failed = [r for r in results if not r.ok]
    if failed:
        print(f"{len(failed)} of {len(results)} notebook(s) failed:", file=sys.stderr)
        for result in failed:
            print(f"  {result.path}: {result.error}", file=sys.stderr)
        return 1
    print(f"all {len(results)} notebook(s) passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
