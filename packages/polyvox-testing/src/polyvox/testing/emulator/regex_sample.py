r"""Make one short string that matches a regular expression (for JSON Schema ``pattern``).

Walks the parse tree of Python's own regex parser and takes the shortest way through it:
the first branch of an alternation, the minimum count of a repeat, the first character of
a class. Anchors and look-arounds produce nothing. Good enough for the patterns that show
up in tool schemas (``^[A-Z]{3}$``, ``\d{4}-\d{2}-\d{2}``, ``^(red|green)$``).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

__all__ = ["sample_regex"]

_parser: Any = importlib.import_module("re._parser")

_CATEGORY_SAMPLES = {
    "CATEGORY_DIGIT": "0",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
}
_FALLBACK_CHARS = "a0A_- x.Z9"


def sample_regex(pattern: str) -> str | None:
    """Return a short string that ``re.search(pattern, s)`` accepts, if one is found.

    Args:
        pattern: The regular expression.

    Returns:
        A matching string, or ``None`` when the pattern does not parse or the sample
        does not match.
    """
    try:
        tree = _parser.parse(pattern)
        sample = _emit(tree)
        if re.search(pattern, sample):
            return sample
    except (re.error, RecursionError, ValueError, TypeError, IndexError):
        return None
    return None


def _emit(items: Any) -> str:
    return "".join(_emit_one(op, av) for op, av in items)


def _emit_one(op: Any, av: Any) -> str:
    name = str(op)
    if name == "LITERAL":
        return chr(av)
    if name == "NOT_LITERAL":
        return next(c for c in _FALLBACK_CHARS if ord(c) != av)
    if name == "ANY":
        return "a"
    if name == "IN":
        return _class_char(av)
    if name in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
        low, _high, sub = av
        return _emit(sub) * int(low)
    if name == "SUBPATTERN":
        return _emit(av[-1])
    if name == "ATOMIC_GROUP":
        return _emit(av)
    if name == "BRANCH":
        return _emit(av[1][0])
    return ""


def _class_char(items: list[tuple[Any, Any]]) -> str:
    negate = bool(items) and str(items[0][0]) == "NEGATE"
    members = items[1:] if negate else items
    if not negate:
        op, av = members[0]
        kind = str(op)
        if kind == "LITERAL":
            return chr(av)
        if kind == "RANGE":
            return chr(av[0])
        return _CATEGORY_SAMPLES.get(str(av), "a")
    for char in _FALLBACK_CHARS:
        if not any(_in_member(char, op, av) for op, av in members):
            return char
    return "\u00e9"


def _in_member(char: str, op: Any, av: Any) -> bool:
    kind = str(op)
    if kind == "LITERAL":
        return bool(ord(char) == av)
    if kind == "RANGE":
        return bool(av[0] <= ord(char) <= av[1])
    category = str(av)
    tests = {
        "CATEGORY_DIGIT": char.isdigit(),
        "CATEGORY_NOT_DIGIT": not char.isdigit(),
        "CATEGORY_SPACE": char.isspace(),
        "CATEGORY_NOT_SPACE": not char.isspace(),
        "CATEGORY_WORD": char.isalnum() or char == "_",
        "CATEGORY_NOT_WORD": not (char.isalnum() or char == "_"),
    }
    return bool(tests.get(category, False))
