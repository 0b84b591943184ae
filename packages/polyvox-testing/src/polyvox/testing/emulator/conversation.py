"""A protocol-neutral view of a chat request, what the auto behaviour reasons about.

Each protocol module parses its own wire format into a :class:`ChatRequest`; the auto
behaviour, token counting and output limits then work the same way for every provider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ChatMessage", "ChatRequest", "ToolSpec"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of the conversation, reduced to its text."""

    role: str
    """``system``, ``user``, ``assistant`` or ``tool`` (protocols map their own roles)."""

    text: str = ""
    """The text of the message (text parts joined; images and files left out)."""

    name: str | None = None
    """The participant or tool name, when given."""

    tool_call_id: str | None = None
    """For ``tool`` messages: the call they answer."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call."""

    name: str
    """The tool's name."""

    description: str = ""
    """What it does."""

    parameters: Mapping[str, Any] = field(default_factory=dict)
    """The JSON Schema of its arguments."""


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What a chat request asks for, independent of the provider's wire format."""

    model: str
    """The requested model name (echoed back)."""

    messages: Sequence[ChatMessage]
    """The conversation, oldest first."""

    tools: Sequence[ToolSpec] = ()
    """Tools on offer."""

    tool_choice: Literal["auto", "none", "required"] = "auto"
    """Whether a tool call is allowed, forbidden or required."""

    forced_tool: str | None = None
    """The one tool that must be called, when the request names it."""

    parallel_tool_calls: bool = True
    """Whether several tool calls may come in one answer."""

    response_format: Literal["text", "json_object", "json_schema"] = "text"
    """The requested output format."""

    response_schema: Mapping[str, Any] | None = None
    """The JSON Schema for ``json_schema`` output."""

    stop: Sequence[str] = ()
    """Stop sequences: the text is cut before the first one."""

    max_tokens: int | None = None
    """The output token limit."""

    stream: bool = False
    """Whether the answer is streamed."""

    extra_prompt_texts: Sequence[str] = ()
    """Other texts that count as input tokens (tool schemas, for instance)."""

    @property
    def last_user_text(self) -> str:
        """The text of the last user message (empty when there is none)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text
        return ""

    @property
    def trailing_tool_results(self) -> list[ChatMessage]:
        """The tool results at the end of the conversation (empty when it ends otherwise)."""
        results: list[ChatMessage] = []
        for message in reversed(self.messages):
            if message.role != "tool":
                break
            results.append(message)
        return results[::-1]
