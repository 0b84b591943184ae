"""What a prompt mentions: its numbers and quoted strings, handed out in order.

Schema-aware generation prefers these over made-up values, so ``"what is 3 + 5"`` gives
``a=3, b=5`` and ``"create a customer named 'ACME'"`` gives ``name="ACME"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["Hints"]

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?!\w)")
_QUOTED = re.compile(
    r"(?<!\w)'([^'\n]+?)'(?!\w)|\"([^\"\n]+?)\"|\u201c([^\u201d\n]+?)\u201d"
    r"|\u2018([^\u2019\n]+?)\u2019|\u00ab([^\u00bb\n]+?)\u00bb|\u300c([^\u300d\n]+?)\u300d"
    r"|`([^`\n]+?)`"
)


class Hints:
    """The numbers and quoted strings of a prompt, handed out in order of appearance."""

    def __init__(self, text: str = "") -> None:
        """Collect hints from a text.

        Args:
            text: The prompt (usually the last user message).
        """
        self.text = text.strip()
        """The whole prompt, the fallback for unconstrained strings."""
        self._lower = self.text.lower()
        self._numbers: list[int | float] = [
            int(m) if re.fullmatch(r"-?\d+", m) else float(m) for m in _NUMBER.findall(text)
        ]
        self._strings = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]

    def take_number(self, accept: Callable[[float], bool], *, integer: bool) -> int | float | None:
        """Remove and return the first number that ``accept`` takes.

        Args:
            accept: The constraint check.
            integer: Only integral numbers qualify (returned as ``int``).

        Returns:
            The number, or ``None``.
        """
        for i, value in enumerate(self._numbers):
            if integer and not float(value).is_integer():
                continue
            candidate = int(value) if integer else value
            if accept(candidate):
                del self._numbers[i]
                return candidate
        return None

    def take_string(self, accept: Callable[[str], bool]) -> str | None:
        """Remove and return the first quoted string that ``accept`` takes.

        Args:
            accept: The constraint check.

        Returns:
            The string, or ``None``.
        """
        for i, value in enumerate(self._strings):
            if accept(value):
                del self._strings[i]
                return value
        return None

    def mentions(self, phrase: str) -> bool:
        """Whether the prompt contains ``phrase`` as a word (case-insensitive).

        Args:
            phrase: The phrase; ``-`` and ``_`` also match a space.

        Returns:
            The answer.
        """
        for variant in {phrase.lower(), phrase.lower().replace("-", " ").replace("_", " ")}:
            if variant and re.search(rf"(?<!\w){re.escape(variant)}(?!\w)", self._lower):
                return True
        return False
