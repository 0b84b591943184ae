"""What a cell produced: :class:`CellResult`, read from the worker's message by :func:`read_result`.

The worker runs model-written code, so its ``result`` message is taken no further than its
types: spans are clamped to the context, the output and the error are capped, and every
text is stripped of control characters before it reaches the caller, a log or the viewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from polyvox.rlm.sandbox.text import printable

__all__ = ["ERROR_CHARS", "CellResult", "read_result"]

ERROR_CHARS = 2000
"""Most characters of a cell's error kept (the worker caps it too; this bounds a tampered
worker's)."""

_OUTPUT_SLACK = 8000  # room for the truncation note and a capped traceback


@dataclass(frozen=True)
class CellResult:
    """What running one cell produced."""

    output: str
    """Captured stdout and stderr, then the traceback of an exception; capped."""
    error: str | None
    """``"Type: message"`` if the cell raised or was stopped; ``None`` if it completed."""
    truncated: bool
    """Whether output past ``SandboxLimits.output_chars`` was dropped."""
    timed_out: bool
    """Whether the cell hit its time limit."""
    duration_s: float
    """Wall-clock seconds of the whole cell, sub-calls included."""
    final: str | None
    """``str(value)`` when code that ran called ``FINAL(value)`` or ``FINAL_VAR(name)``."""
    reads: tuple[tuple[int, int], ...]
    """Merged character spans of ``context`` the cell read (slices, search hits)."""
    restored: tuple[str, ...]
    """Protected names the cell rebound or mutated and that were put back."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy."""
        return {
            "output": self.output,
            "error": self.error,
            "truncated": self.truncated,
            "timed_out": self.timed_out,
            "duration_s": self.duration_s,
            "final": self.final,
            "reads": [list(span) for span in self.reads],
            "restored": list(self.restored),
        }


def read_result(
    message: dict[str, Any], *, duration: float, note: str, context_chars: int, output_chars: int
) -> CellResult:
    """The cell's result from the worker's ``result`` message.

    Args:
        message: The message, as decoded.
        duration: Seconds the cell took, measured by the host.
        note: Text to put before the output (a restart notice), or ``""``.
        context_chars: Length of ``context`` (read spans are clamped to it).
        output_chars: The sandbox's ``output_chars`` (the output is bounded near it).

    Returns:
        The result.
    """
    reads: list[tuple[int, int]] = []
    raw_reads = message.get("reads")
    for span in raw_reads if isinstance(raw_reads, list) else []:
        if (
            isinstance(span, list)
            and len(span) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in span)
        ):
            start, end = max(0, span[0]), min(context_chars, span[1])
            if start < end:
                reads.append((start, end))
    restored = message.get("restored")
    error = message.get("error")
    final = message.get("final")
    output = message.get("output")
    output = output if isinstance(output, str) else ""
    return CellResult(
        output=note + printable(output[: output_chars + _OUTPUT_SLACK]),
        error=printable(error[:ERROR_CHARS]) if isinstance(error, str) else None,
        truncated=message.get("truncated") is True,
        timed_out=message.get("timed_out") is True,
        duration_s=duration,
        final=printable(final) if isinstance(final, str) else None,
        reads=tuple(reads),
        restored=(
            tuple(printable(str(n))[:200] for n in restored[:50])
            if isinstance(restored, list)
            else ()
        ),
    )
