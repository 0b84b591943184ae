"""What the emulator answers with: scripted replies, their tool calls and usage overrides.

These dataclasses are protocol-neutral: each protocol module renders a :class:`Reply` in
its own wire format (OpenAI chat completion, Anthropic message, ...). They also travel as
JSON through the HTTP control API (``POST /_emulator/script``), hence ``to_dict`` and
``from_dict`` on each of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RawResponse", "Reply", "ToolCall", "Usage"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool (function) call in a scripted reply."""

    name: str
    """The tool's name."""

    args: Mapping[str, Any] = field(default_factory=dict)
    """The call's arguments (rendered as a JSON string by the OpenAI protocol)."""

    id: str | None = None
    """The call id; ``None`` lets the protocol make one up (``call_...`` for OpenAI)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used by the HTTP control API."""
        return {"name": self.name, "args": dict(self.args), "id": self.id}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCall:
        """Build a tool call from its JSON form.

        Args:
            data: ``{"name": ..., "args": {...}, "id": ...}`` (``arguments`` is accepted
                for ``args``).

        Returns:
            The tool call.
        """
        args = data.get("args", data.get("arguments")) or {}
        return cls(name=str(data["name"]), args=dict(args), id=data.get("id"))


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts that replace the emulator's own estimates; ``None`` keeps the estimate."""

    prompt_tokens: int | None = None
    """Input tokens."""

    completion_tokens: int | None = None
    """Output tokens (reasoning included, as OpenAI counts them)."""

    cached_tokens: int | None = None
    """Input tokens read from the provider's prompt cache."""

    reasoning_tokens: int | None = None
    """Output tokens spent on reasoning."""

    cache_creation_tokens: int | None = None
    """Input tokens written to the provider's prompt cache (Anthropic's
    ``cache_creation_input_tokens``; other protocols do not report them)."""

    cost: str | None = None
    """What the server says the call cost, sent as ``usage.cost`` (a JSON number, in US
    dollars) as OpenRouter does; a decimal string such as ``"0.000924"``. ``None`` sends none."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used by the HTTP control API."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cache_creation_tokens": self.cache_creation_tokens,
            "cost": self.cost,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        """Build usage overrides from their JSON form.

        Args:
            data: A mapping with any of the four counts and ``cost``.

        Returns:
            The overrides.
        """
        return cls(
            prompt_tokens=data.get("prompt_tokens"),
            completion_tokens=data.get("completion_tokens"),
            cached_tokens=data.get("cached_tokens"),
            reasoning_tokens=data.get("reasoning_tokens"),
            cache_creation_tokens=data.get("cache_creation_tokens"),
            cost=None if data.get("cost") is None else str(data["cost"]),
        )


@dataclass(frozen=True, slots=True)
class RawResponse:
    """A response sent byte for byte, whatever the request asked for."""

    body: str
    """The exact body text (JSON, an SSE stream with comment lines, an error envelope)."""

    content_type: str = "application/json"
    """The ``Content-Type`` header."""

    status: int = 200
    """The HTTP status."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used by the HTTP control API."""
        return {"body": self.body, "content_type": self.content_type, "status": self.status}


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer of the model.

    Examples:
        ``Reply("Paris")``, ``Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})])``,
        ``Reply("4", reasoning="2 + 2 is 4")``, ``Reply.raw(recorded_body, "text/event-stream")``.
    """

    content: str | None = None
    """The assistant's text; ``None`` with tool calls or a refusal."""

    tool_calls: Sequence[ToolCall] = ()
    """Tool calls, in order (stored as a tuple)."""

    reasoning: str | None = None
    """Reasoning text, sent as ``reasoning_content``/``reasoning`` (vLLM, OpenRouter)."""

    finish_reason: str | None = None
    """The finish reason; ``None`` means ``tool_calls`` with tool calls, else ``stop``."""

    refusal: str | None = None
    """A refusal message (OpenAI ``message.refusal``)."""

    usage: Usage | None = None
    """Token counts that replace the emulator's estimates."""

    raw_response: RawResponse | None = None
    """When set, these exact bytes are sent instead of a rendered reply."""

    def __post_init__(self) -> None:
        if not isinstance(self.tool_calls, tuple):
            object.__setattr__(self, "tool_calls", tuple(self.tool_calls))

    @classmethod
    def raw(cls, body: str, content_type: str = "application/json", status: int = 200) -> Reply:
        """Make a reply that sends ``body`` exactly (e.g. a recorded provider response).

        Args:
            body: The body text.
            content_type: The ``Content-Type`` header.
            status: The HTTP status.

        Returns:
            The reply.
        """
        return cls(raw_response=RawResponse(body, content_type, status))

    @property
    def effective_finish_reason(self) -> str:
        """The finish reason to send: the explicit one, else derived from the tool calls."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used by the HTTP control API."""
        return {
            "content": self.content,
            "tool_calls": [call.to_dict() for call in self.tool_calls],
            "reasoning": self.reasoning,
            "finish_reason": self.finish_reason,
            "refusal": self.refusal,
            "usage": self.usage.to_dict() if self.usage else None,
            "raw": self.raw_response.to_dict() if self.raw_response else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> Reply:
        """Build a reply from its JSON form (a bare string is a text reply).

        Args:
            data: The mapping produced by :meth:`to_dict` (missing keys take defaults), or
                a string.

        Returns:
            The reply.
        """
        if isinstance(data, str):
            return cls(content=data)
        raw = data.get("raw")
        usage = data.get("usage")
        return cls(
            content=data.get("content"),
            tool_calls=tuple(ToolCall.from_dict(c) for c in data.get("tool_calls") or ()),
            reasoning=data.get("reasoning"),
            finish_reason=data.get("finish_reason"),
            refusal=data.get("refusal"),
            usage=Usage.from_dict(usage) if usage else None,
            raw_response=(
                RawResponse(
                    body=str(raw["body"]),
                    content_type=str(raw.get("content_type", "application/json")),
                    status=int(raw.get("status", 200)),
                )
                if raw
                else None
            ),
        )
