"""Faults the emulator injects on request: error statuses, latency, broken or bad streams.

A :class:`Fault` is protocol-neutral: the protocol that serves the request renders its
error body in the provider's envelope (OpenAI's ``{"error": {...}}`` for the OpenAI
protocol) unless :attr:`Fault.body` gives one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["Fault"]


@dataclass(frozen=True, slots=True)
class Fault:
    """What goes wrong with the next matching request(s).

    Fields combine: ``Fault(delay=0.2, status=503)`` waits, then fails. Stream fields
    (``first_chunk_delay``, ``chunk_delay``, ``break_after``, ``error_after``) act on
    streaming responses; ``break_after`` also cuts a non-streaming body in half.
    """

    status: int | None = None
    """Answer with this HTTP status and an error body instead of a reply."""

    message: str | None = None
    """The error message; ``None`` picks one that suits the status."""

    error_type: str | None = None
    """The error ``type`` (OpenAI); ``None`` picks one that suits the status."""

    code: str | int | None = None
    """The error ``code``; ``None`` picks one that suits the status."""

    param: str | None = None
    """The error ``param`` (OpenAI)."""

    body: Any = None
    """A custom error body: a mapping (sent as JSON) or a string (sent as is)."""

    retry_after: float | None = None
    """Seconds for the ``Retry-After`` header."""

    retry_after_ms: int | None = None
    """Milliseconds for the ``retry-after-ms`` header."""

    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra response headers."""

    delay: float = 0.0
    """Seconds to wait before the response starts."""

    first_chunk_delay: float = 0.0
    """Seconds to wait, after the headers, before the first stream chunk."""

    chunk_delay: float = 0.0
    """Seconds to wait between stream chunks."""

    break_after: int | None = None
    """Close the connection after this many stream chunks (no ``[DONE]``)."""

    error_after: int | None = None
    """After this many stream chunks, send an error event (OpenRouter style) and end."""

    malformed: bool = False
    """Answer 200 with a body that is not valid JSON (or a stream chunk that is not); with a
    string :attr:`body`, that string is the 200's whole body (``""``: an empty answer)."""

    content_filter: bool = False
    """Block the answer: no content, finish reason ``content_filter``."""

    @classmethod
    def rate_limit(cls, retry_after: float | None = 1.0, **kwargs: Any) -> Fault:
        """A 429 with ``Retry-After``.

        Args:
            retry_after: Seconds for the ``Retry-After`` header (``None`` for none).
            **kwargs: Other fields.

        Returns:
            The fault.
        """
        return cls(status=429, retry_after=retry_after, **kwargs)

    @classmethod
    def server_error(cls, status: int = 500, **kwargs: Any) -> Fault:
        """A 5xx error (500 by default; 502, 503 and 529 work too).

        Args:
            status: The status.
            **kwargs: Other fields.

        Returns:
            The fault.
        """
        return cls(status=status, **kwargs)

    @classmethod
    def unauthorized(cls, **kwargs: Any) -> Fault:
        """A 401 (bad API key).

        Args:
            **kwargs: Other fields.

        Returns:
            The fault.
        """
        return cls(status=401, **kwargs)

    @classmethod
    def slow(cls, seconds: float, **kwargs: Any) -> Fault:
        """Latency before the response.

        Args:
            seconds: The delay.
            **kwargs: Other fields.

        Returns:
            The fault.
        """
        return cls(delay=seconds, **kwargs)

    @classmethod
    def broken_stream(cls, after: int = 2, **kwargs: Any) -> Fault:
        """A stream whose connection drops after ``after`` chunks.

        Args:
            after: Chunks sent before the connection closes.
            **kwargs: Other fields.

        Returns:
            The fault.
        """
        return cls(break_after=after, **kwargs)

    @classmethod
    def stream_error(cls, after: int = 2, message: str = "Upstream error", **kwargs: Any) -> Fault:
        """A stream that carries an error event after ``after`` chunks.

        Args:
            after: Chunks sent before the error event.
            message: The error message.
            **kwargs: Other fields.

        Returns:
            The fault.
        """
        return cls(error_after=after, message=message, **kwargs)

    @classmethod
    def malformed_body(cls, **kwargs: Any) -> Fault:
        """A 200 whose body is not valid JSON.

        Args:
            **kwargs: Other fields.

        Returns:
            The fault.
        """
        return cls(malformed=True, **kwargs)

    @classmethod
    def content_policy(cls, **kwargs: Any) -> Fault:
        """An answer blocked by the provider's content filter.

        Args:
            **kwargs: Other fields.

        Returns:
            The fault.
        """
        return cls(content_filter=True, **kwargs)

    @property
    def is_error(self) -> bool:
        """Whether the fault answers with an error status instead of a reply."""
        return self.status is not None and self.status >= 400

    def response_headers(self) -> dict[str, str]:
        """Return the headers the fault adds to its response."""
        headers = dict(self.headers)
        if self.retry_after is not None:
            value = self.retry_after
            headers["retry-after"] = str(int(value)) if float(value).is_integer() else str(value)
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = str(self.retry_after_ms)
        return headers

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used by the HTTP control API."""
        data = asdict(self)
        data["headers"] = dict(self.headers)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from its JSON form; unknown keys are an error.

        Args:
            data: A mapping of :class:`Fault` field names to values.

        Returns:
            The fault.

        Raises:
            ValueError: On an unknown key.
        """
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown Fault fields: {sorted(unknown)}")
        return cls(**dict(data))
