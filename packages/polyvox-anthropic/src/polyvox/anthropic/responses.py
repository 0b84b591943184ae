"""Reading a Messages API response (a decoded JSON ``message``) into an ``AIMessage``.

The content comes back as langchain-anthropic returns it: a string when the answer is one
text block, else the list of content blocks (thinking with its signature, text, tool use,
server tools' blocks), with ``tool_calls`` read from the ``tool_use`` blocks and the
thinking text also in ``additional_kwargs["reasoning_content"]``, where every polyvox model
puts reasoning. A field that is missing or ``null`` in the response is read as absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage, InvalidToolCall, ToolCall
from langchain_core.messages.ai import UsageMetadata

from polyvox.core.metadata import response_metadata
from polyvox.core.usage import make_usage

__all__ = [
    "BLOCKING_STOP_REASONS",
    "anthropic_metadata",
    "message_from_anthropic",
    "usage_from_anthropic",
]

BLOCKING_STOP_REASONS = frozenset({"refusal"})
"""Stop reasons by which Anthropic says its safety system stopped the answer."""

_KEPT_WHEN_NULL = ("stop_sequence", "container", "stop_details", "diagnostics")
"""Message fields ``response_metadata`` carries even when the API sent them as ``null``."""

_TTL_KEYS = ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage_from_anthropic(usage: Any) -> UsageMetadata | None:
    """Normalise Anthropic's ``usage`` into LangChain's ``UsageMetadata``.

    As langchain-anthropic does: Anthropic's ``input_tokens`` leaves the cached part of the
    prompt out, LangChain's counts the whole prompt, so cache reads and writes are added
    to it and reported in ``input_token_details``: ``cache_read``, and ``cache_creation``,
    or, where Anthropic splits the writes by cache lifetime, ``ephemeral_5m_input_tokens``
    and ``ephemeral_1h_input_tokens`` with ``cache_creation`` 0 (the details add up to no
    more than the input; polyvox's cost tracking prices all three as cache writes).

    Args:
        usage: The ``usage`` object (``None`` or not an object: no usage).

    Returns:
        The usage, or ``None``.
    """
    if not isinstance(usage, Mapping):
        return None
    read = _int(usage.get("cache_read_input_tokens"))
    write = _int(usage.get("cache_creation_input_tokens"))
    split = usage.get("cache_creation")
    ttl = {}
    if isinstance(split, Mapping):
        ttl = {k: v for k in _TTL_KEYS if (v := _int(split.get(k))) is not None}
    written = sum(ttl.values()) or write or 0
    base = _int(usage.get("input_tokens")) or 0
    details = usage.get("output_tokens_details")
    thinking = _int(details.get("thinking_tokens")) if isinstance(details, Mapping) else None
    result = make_usage(
        base + (read or 0) + written,
        _int(usage.get("output_tokens")) or 0,
        cache_read=read,
        cache_creation=0 if sum(ttl.values()) else write,
        reasoning=thinking,
    )
    if ttl:
        result.setdefault("input_token_details", {}).update(ttl)  # type: ignore[typeddict-item]
    return result


def anthropic_metadata(
    data: Mapping[str, Any], *, model: str, usage: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The ``response_metadata`` of an answer: polyvox's keys and langchain-anthropic's.

    Args:
        data: The message (or, for a stream, what its events said of it).
        model: The model asked for, when the answer names none.
        usage: Anthropic's raw ``usage`` object.

    Returns:
        ``model_name``, ``model_provider``, ``finish_reason`` (the stop reason),
        ``blocked`` (``refusal``), and ``id``, ``model``, ``stop_reason``,
        ``stop_sequence``, ``usage``, ``container``, ``stop_details``, ``diagnostics`` as
        langchain-anthropic has them.
    """
    stop = data.get("stop_reason")
    name = data.get("model") or model
    meta = response_metadata(
        model_name=name,
        model_provider="anthropic",
        finish_reason=stop,
        blocked=stop in BLOCKING_STOP_REASONS,
        id=data.get("id"),
        model=name,
        stop_reason=stop,
        usage=dict(usage) if usage is not None else None,
    )
    for key in _KEPT_WHEN_NULL:  # as langchain-anthropic has them, null or not
        meta[key] = data.get(key)
    return meta


def _clean(block: Mapping[str, Any]) -> dict[str, Any]:
    """A content block without the ``null`` fields the API adds (``citations: null``)."""
    return {k: v for k, v in block.items() if v is not None}


def _tool_call(block: Mapping[str, Any]) -> ToolCall | InvalidToolCall:
    args = block.get("input")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        return InvalidToolCall(
            name=block.get("name"),
            args=str(args),
            id=block.get("id"),
            error="the tool_use input is not a JSON object",
            type="invalid_tool_call",
        )
    return ToolCall(
        name=str(block.get("name") or ""), args=args, id=block.get("id"), type="tool_call"
    )


def message_from_anthropic(data: Mapping[str, Any], *, model: str) -> AIMessage:
    """Build the ``AIMessage`` of a (non-streamed) Messages API response.

    Args:
        data: The decoded response.
        model: The model asked for (when the response names none).

    Returns:
        The message, with usage and response metadata.
    """
    raw_content = data.get("content")
    blocks = [_clean(b) for b in raw_content or () if isinstance(b, Mapping) and b.get("type")]
    calls = [_tool_call(b) for b in blocks if b["type"] == "tool_use"]
    thinking = "".join(str(b.get("thinking") or "") for b in blocks if b["type"] == "thinking")
    content: str | list[Any]
    if len(blocks) == 1 and blocks[0]["type"] == "text" and not blocks[0].get("citations"):
        content = str(blocks[0].get("text") or "")
    elif not blocks:
        content = ""
    else:
        content = list(blocks)
    raw_usage = data.get("usage") if isinstance(data.get("usage"), Mapping) else None
    return AIMessage(
        content=content,
        tool_calls=[c for c in calls if c.get("type") == "tool_call"],
        invalid_tool_calls=[c for c in calls if c.get("type") == "invalid_tool_call"],
        additional_kwargs={"reasoning_content": thinking} if thinking else {},
        usage_metadata=usage_from_anthropic(raw_usage),
        response_metadata=anthropic_metadata(data, model=model, usage=raw_usage),
        id=data.get("id"),
    )
