"""A text stream for a cell's stdout and stderr that keeps at most a fixed number of characters.

Whatever is written past the cap is counted and dropped at once, inside the worker, so code
that prints 100 MB costs the worker the time to produce it and nothing more: the host only
ever receives the capped text.
"""

from __future__ import annotations

import io

__all__ = ["CappedOutput"]


class CappedOutput(io.TextIOBase):
    """Collects written text up to ``limit`` characters and counts the rest."""

    def __init__(self, limit: int) -> None:
        """Create an empty stream.

        Args:
            limit: Characters kept.
        """
        super().__init__()
        self.limit = limit
        """Characters kept."""
        self.dropped = 0
        """Characters written past the limit (not kept)."""
        self._parts: list[str] = []
        self._size = 0

    encoding = "utf-8"
    """The encoding reported to code that asks (text is kept as ``str``)."""

    def writable(self) -> bool:
        """Always writable."""
        return True

    def write(self, text: str) -> int:
        """Keep what fits under the limit; count the rest.

        Args:
            text: Text to write.

        Returns:
            Its length (all of it is "written", as far as the caller knows).

        Raises:
            TypeError: If ``text`` is not a ``str``.
        """
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        length = len(text)
        room = self.limit - self._size
        if room >= length:
            self._parts.append(str.__str__(text))
            self._size += length
        else:
            if room > 0:
                self._parts.append(str.__str__(text[:room]))
                self._size += room
            self.dropped += length - max(room, 0)
        return length

    def getvalue(self) -> str:
        """The kept text."""
        return "".join(self._parts)

    def reset(self) -> None:
        """Forget everything (a new cell starts)."""
        self._parts.clear()
        self._size = 0
        self.dropped = 0
