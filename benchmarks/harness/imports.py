"""Import time in fresh interpreters: a polyvox package against the LangChain package it replaces.

Each variant runs as ``python -c "<import>"`` in a new process, the variants interleaved
round by round; the interpreter's own start-up (``python -c pass``, median) is subtracted.
Besides the two packages' imports, the floor any ``BaseChatModel`` subclass pays
(``langchain_core.language_models.chat_models``) is measured, and each figure is also
given over that floor.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

from benchmarks.harness.context import Context
from benchmarks.harness.report import Column, Row, Target
from benchmarks.harness.stats import Summary

__all__ = [
    "FLOOR",
    "IMPORT_COLUMNS",
    "START",
    "ImportComparison",
    "ImportResult",
    "compare_imports",
    "time_imports",
]

START = "python -c pass"
FLOOR = "import langchain_core.language_models.chat_models"

IMPORT_COLUMNS = [
    Column("median_ms", "median ms"),
    Column("min_ms", "min ms"),
    Column("max_ms", "max ms"),
    Column("net_ms", "net ms"),
    Column("over_floor_ms", "over core floor ms", lambda v: f"{v:+,.0f}"),
    Column("ratio", "vs langchain", "{:.2f}"),
]


def _time_ms(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return (time.perf_counter() - t0) * 1e3


def time_imports(code: Mapping[str, str], rounds: int, warmup: int) -> dict[str, list[float]]:
    """Run each snippet in fresh interpreters, interleaved in rotating order.

    Args:
        code: Label → the Python code to run with ``python -c``.
        rounds: Timed runs per snippet.
        warmup: Untimed rounds first (byte-code caches, the OS page cache).

    Returns:
        Label → wall times in milliseconds (interpreter start-up included).
    """
    labels = list(code)
    for _ in range(warmup):
        for label in labels:
            _time_ms(code[label])
    samples: dict[str, list[float]] = {label: [] for label in labels}
    for r in range(rounds):
        for label in labels[r % len(labels) :] + labels[: r % len(labels)]:
            samples[label].append(_time_ms(code[label]))
    return samples


@dataclass(frozen=True, slots=True)
class ImportComparison:
    """The import statements of one family: the LangChain package and polyvox's."""

    lc_module: str
    """``import langchain_openai``."""
    lc_class: str
    """``from langchain_openai import ChatOpenAI``."""
    pv_module: str
    """``import polyvox.openai``."""
    pv_class: str
    """``from polyvox.openai import ChatOpenAI``."""
    pv_ready: str
    """The label of ``pv_class`` plus the SDK polyvox loads at the first request."""
    sdk_import: str
    """That SDK's import (``import openai``)."""
    langchain_package: str
    """The LangChain package's distribution name (``langchain-openai``), for the set-up."""
    lc_class_eager: bool = True
    """Whether the LangChain package imports its class eagerly (``--quick`` then skips
    ``lc_class``: it costs what ``lc_module`` costs)."""

    def code(self) -> dict[str, str]:
        """Label → code, in the order the rows print."""
        return {
            START: "pass",
            FLOOR: FLOOR,
            self.lc_module: self.lc_module,
            self.lc_class: self.lc_class,
            self.pv_module: self.pv_module,
            self.pv_class: self.pv_class,
            self.pv_ready: f"{self.pv_class}; {self.sdk_import}",
        }


@dataclass(slots=True)
class ImportResult:
    """The measured rows and what the notes quote."""

    rows: list[Row]
    setup: list[str]
    net: dict[str, float]
    """Label → median minus the interpreter's start-up, in ms."""
    lc_class: str
    """The LangChain row ``pv_class`` was compared with (``lc_module`` in quick runs)."""

    def over_floor(self, label: str) -> float:
        """A row's net time above the langchain-core floor, in ms."""
        return self.net[label] - self.net[FLOOR]


def compare_imports(
    ctx: Context, imports: ImportComparison, target: Target | None = None
) -> ImportResult:
    """Time the family's imports and build the rows.

    Args:
        ctx: The run (its size).
        imports: The family's statements.
        target: Checked on the ``pv_module`` and ``pv_class`` rows, when given.

    Returns:
        The rows, the set-up lines and the net times.
    """
    rounds, warmup = ctx.scale(5, 2), ctx.scale(1, 0)
    code = imports.code()
    labels = list(code)
    if ctx.quick and imports.lc_class_eager:
        labels.remove(imports.lc_class)
    lc_class = imports.lc_class if imports.lc_class in labels else imports.lc_module
    compare = {
        imports.pv_module: imports.lc_module,
        imports.pv_class: lc_class,
        imports.pv_ready: lc_class,
    }
    over_floor = (imports.lc_module, imports.lc_class, imports.pv_class, imports.pv_ready)
    samples = time_imports({label: code[label] for label in labels}, rounds, warmup)

    stats = {label: Summary.of(values) for label, values in samples.items()}
    net = {label: s.median - stats[START].median for label, s in stats.items()}
    rows = []
    for label in labels:
        values: dict[str, float | int | str | None] = {
            "median_ms": stats[label].median,
            "min_ms": stats[label].minimum,
            "max_ms": max(samples[label]),
            "net_ms": None if label == START else net[label],
            "over_floor_ms": net[label] - net[FLOOR] if label in over_floor else None,
            "ratio": net[label] / net[compare[label]] if label in compare else None,
        }
        checked = target is not None and label in (imports.pv_module, imports.pv_class)
        rows.append(Row(label, values, target if checked else None))
    setup = [
        f"{rounds} fresh `python -c` processes per variant, interleaved, after {warmup} "
        "warm-up round(s); net = median - median(python -c pass)",
        f"core floor = net time of `{FLOOR}` (paid by any BaseChatModel subclass)",
        f"vs langchain = polyvox net / net of the matching {imports.langchain_package} import",
    ]
    return ImportResult(rows, setup, net, lc_class)
