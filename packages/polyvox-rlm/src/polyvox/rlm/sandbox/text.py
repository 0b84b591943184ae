"""Text from the worker made safe to log and display: :func:`printable`.

Whatever the worker sends (a cell's output, its error, the final answer, its stderr) was
written by model code, so it may carry terminal escape sequences that rewrite a log viewer's
screen or hide lines. :func:`printable` drops every control character except tab, newline and
carriage return before such text reaches a log, a trajectory or the HTML viewer.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without C0/C1 control characters (tab, newline and carriage return are kept).

    Args:
        text: Text that came from the worker.

    Returns:
        The same text, the control characters removed (``ESC`` included, so no ANSI
        sequence survives as one).
    """
    return _CONTROL.sub("", text)
