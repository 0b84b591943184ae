"""A decoder for server-sent events (the ``text/event-stream`` format), fed line by line.

Transport stays with each provider's SDK; this only turns lines into events, the same way
for sync and async streams: comment lines (``: keep-alive``) are skipped, multi-line
``data:`` fields are joined, and an event ends at a blank line (or at the end of input).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SSEDecoder", "SSEEvent"]


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One server-sent event."""

    data: str
    """The event's data (its ``data:`` lines joined by newlines)."""

    event: str | None = None
    """The event's name, when the server gave one."""


class SSEDecoder:
    """Turns ``text/event-stream`` lines into :class:`SSEEvent` objects."""

    __slots__ = ("_data", "_event")

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event: str | None = None

    def feed(self, line: str) -> SSEEvent | None:
        """Take one line (without its line ending).

        Args:
            line: The line.

        Returns:
            The event this line completed, if any.
        """
        if not line:
            return self.flush()
        if line[0] == ":":
            return None
        field, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        return None

    def flush(self) -> SSEEvent | None:
        """End the current event (at a blank line or at the end of the stream).

        Returns:
            The pending event, if it had data.
        """
        if not self._data:
            self._event = None
            return None
        event = SSEEvent("\n".join(self._data), self._event)
        self._data = []
        self._event = None
        return event
