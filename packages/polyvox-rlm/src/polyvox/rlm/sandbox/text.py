"""Text from the worker made safe to log and display: :func:`printable`.

Whatever the worker sends (a cell's output, its error, the final answer, its stderr) was
written by model code, so it may carry terminal escape sequences that rewrite a log viewer's
screen, carriage returns that overwrite a line, or bidirectional overrides that make text
read differently from what it is. :func:`printable` drops them (every control character but
tab and newline, the Unicode line and paragraph separators, the bidirectional embeddings,
overrides and isolates) before such text reaches a log, a trajectory or the HTML viewer.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without control characters (tab and newline kept) or bidirectional controls.

    Args:
        text: Text that came from the worker.

    Returns:
        The same text, the control characters removed (``ESC`` included, so no ANSI
        sequence survives as one).
    """
    return _CONTROL.sub("", text)
