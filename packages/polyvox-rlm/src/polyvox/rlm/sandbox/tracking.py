"""Which parts of ``context`` a cell read.

``context`` in the REPL is a :class:`TrackedStr`: slicing or indexing it records the span it
returns (in ``context`` coordinates), and so does slicing a document's ``text`` in
``documents``. ``search`` and ``bm25_search`` record the spans of the hits they return.
Whole-string operations (``len``, ``in``, ``split``, ``find``, iteration, regular expressions
run directly on ``context``) are not recorded: they produce no text the model is shown
unless it slices it afterwards.
"""

from __future__ import annotations

from typing import Any, SupportsIndex

__all__ = ["ReadTracker", "TrackedStr"]

_COMPACT_AT = 4096


class ReadTracker:
    """Collects read spans, merging touching and overlapping ones as they come."""

    def __init__(self) -> None:
        """Start with nothing read."""
        self._spans: list[tuple[int, int]] = []

    def add(self, start: int, end: int) -> None:
        """Record that ``[start, end)`` was read (empty spans are ignored).

        Args:
            start: First character read.
            end: One past the last.
        """
        if end <= start:
            return
        spans = self._spans
        if spans:
            last_start, last_end = spans[-1]
            if start <= last_end and end >= last_start:
                spans[-1] = (min(start, last_start), max(end, last_end))
                return
        spans.append((start, end))
        if len(spans) > _COMPACT_AT:
            self._spans = merge(spans)

    def take(self) -> list[tuple[int, int]]:
        """The merged spans recorded since the last call, and forget them.

        Returns:
            Disjoint, sorted ``(start, end)`` spans.
        """
        spans = merge(self._spans)
        self._spans = []
        return spans


def merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping and touching spans.

    Args:
        spans: ``(start, end)`` pairs in any order.

    Returns:
        Disjoint, sorted spans.
    """
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


class TrackedStr(str):
    """A ``str`` that records the spans read through ``[]`` (results are plain ``str``)."""

    _rlm_base: int
    _rlm_tracker: ReadTracker

    def __new__(cls, value: str, base: int, tracker: ReadTracker) -> TrackedStr:
        """Wrap ``value``, which starts at ``base`` in ``context``.

        Args:
            value: The text.
            base: Its offset in ``context``.
            tracker: Where reads are recorded.
        """
        self = super().__new__(cls, value)
        self._rlm_base = base
        self._rlm_tracker = tracker
        return self

    def __getitem__(self, key: SupportsIndex | slice) -> str:
        """Slice or index like ``str``, recording the span read."""
        value = str.__getitem__(self, key)
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            count = len(range(start, stop, step))
            if count:
                last = start + (count - 1) * step
                low, high = min(start, last), max(start, last) + 1
                self._rlm_tracker.add(self._rlm_base + low, self._rlm_base + high)
        else:
            index = key.__index__()
            if index < 0:
                index += len(self)
            self._rlm_tracker.add(self._rlm_base + index, self._rlm_base + index + 1)
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        """Copies and pickles are plain strings."""
        return (str, (str.__str__(self),))
