"""Memory an import leaves: the peak resident set of a fresh interpreter that ran it."""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Mapping

__all__ = ["memory_note", "peak_mib"]

_PEAK_RSS = (
    "\nimport re\nwith open('/proc/self/status') as f:"
    "\n    print(re.search(r'VmHWM:\\s*(\\d+)', f.read()).group(1))"
)
"""Appended to a snippet: print the process's peak resident set in KiB (Linux's ``VmHWM``,
which starts afresh at ``exec``; ``ru_maxrss`` would carry the parent's peak over)."""


def peak_mib(code: str, runs: int) -> float:
    """The median peak RSS of ``runs`` fresh interpreters that ran ``code``, in MiB.

    Args:
        code: Python code for ``python -c``.
        runs: How many interpreters to start.

    Returns:
        The median peak resident set, interpreter included.
    """
    values = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code + _PEAK_RSS], check=True, capture_output=True, text=True
        )
        values.append(int(out.stdout.split()[-1]) / 1024)
    return statistics.median(values)


def memory_note(snippets: Mapping[str, str], runs: int) -> str:
    """One notes line: the peak RSS each snippet adds over a bare interpreter.

    Args:
        snippets: Label → the import code.
        runs: Fresh interpreters per snippet (the median is given).

    Returns:
        ``memory (peak RSS over a bare interpreter, median of N): label +X MiB, ...``, or
        why it was not measured.
    """
    if not sys.platform.startswith("linux"):
        return "memory: not measured (it reads /proc/self/status, Linux only)"
    bare = peak_mib("pass", runs)
    added = {name: peak_mib(code, runs) - bare for name, code in snippets.items()}
    figures = ", ".join(f"{name} {mib:+.1f} MiB" for name, mib in added.items())
    return f"memory (peak RSS over a bare interpreter, median of {runs}): {figures}"
