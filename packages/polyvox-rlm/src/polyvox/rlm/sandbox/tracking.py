"""Which parts of ``context`` a cell read.

``context`` in the REPL is a :class:`TrackedStr`: slicing or indexing it records the span it
returns (in ``context`` coordinates), and so does slicing a document's ``text`` in
``documents``. ``search`` and ``bm25_search`` record the spans of the hits they return.

Operations that hand back text made from the whole string record a read of all of it:
``str()``, ``repr()``, ``print``, f-strings and ``format``, iteration (``list(context)``,
``"".join(context)``, ``for ch in context``), ``+``, ``*`` and ``%``, ``encode``, and every
``str`` method that returns text (``split``, ``splitlines``, ``partition``, ``replace``,
``upper``, ``strip``, ``join``...).

Not recorded: operations that return no text (``len``, ``in``, ``==``, ``hash``, ``find``,
``index``, ``count``, ``startswith``, the ``is...`` tests), functions of the ``re`` module
run directly on ``context`` (they read the characters without calling any method; the
``search`` helper is the recorded way), conversions done in C that read the characters
directly (``bytes(context, "utf-8")``, ``bytearray(context, "utf-8")``,
``json.dumps(context)``), another string's ``join`` of a list holding ``context``
(``"-".join([context])``), and ``str``'s own methods called unbound
(``str.__str__(context)``, ``str.split(context)``). Copies and pickles
(``copy.copy``, ``copy.deepcopy``, ``pickle.dumps``) are recorded as reads of everything.
"""

from __future__ import annotations

from typing import Any, SupportsIndex

__all__ = ["WHOLE_READS", "ReadTracker", "TrackedStr"]

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
        """Copies and pickles are plain strings (a read of all of it)."""
        self._read_all()
        return (str, (str.__str__(self),))

    def __copy__(self) -> str:
        """``copy.copy``: a plain string (a read of all of it)."""
        self._read_all()
        return str.__str__(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> str:
        """``copy.deepcopy``: a plain string (a read of all of it)."""
        self._read_all()
        return str.__str__(self)

    def __radd__(self, other: object) -> str:
        """``other + context``: a read of all of it."""
        if not isinstance(other, str):
            return NotImplemented
        self._read_all()
        return str.__add__(other, str.__str__(self))

    def _read_all(self) -> None:
        self._rlm_tracker.add(self._rlm_base, self._rlm_base + str.__len__(self))


WHOLE_READS = (
    "__str__", "__repr__", "__format__", "__iter__", "__add__", "__mul__", "__rmul__",
    "__mod__", "__rmod__", "encode", "split", "rsplit", "splitlines", "partition",
    "rpartition", "upper", "lower", "casefold", "title", "capitalize", "swapcase", "strip",
    "lstrip", "rstrip", "replace", "expandtabs", "center", "ljust", "rjust", "zfill",
    "format", "format_map", "translate", "removeprefix", "removesuffix", "join",
    "__getnewargs__",
)  # fmt: skip
"""Methods of :class:`TrackedStr` that record a read of the whole string."""


def _reading_all(name: str) -> Any:
    method = getattr(str, name)

    def read_all(self: TrackedStr, *args: Any, **kwargs: Any) -> Any:
        self._read_all()
        return method(self, *args, **kwargs)

    read_all.__name__ = read_all.__qualname__ = name
    read_all.__doc__ = method.__doc__
    return read_all


for _name in WHOLE_READS:
    setattr(TrackedStr, _name, _reading_all(_name))
del _name
