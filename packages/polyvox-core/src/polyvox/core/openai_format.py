"""The OpenAI chat-completions wire format, shared by every provider that speaks it.

OpenAI itself, OpenRouter, vLLM, llama.cpp's server, Together, Cloud.ru, the Hugging Face
router and Yandex's ``/v1`` endpoint all exchange these JSON shapes, each with a few
extras (``reasoning``/``reasoning_content``, ``reasoning_details``, ``annotations``,
``cache_write_tokens``). The functions here work on plain dicts, as decoded from the
body, so each provider package needs only its transport and its quirks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolCallChunk,
    convert_to_openai_messages,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.output_parsers.openai_tools import make_invalid_tool_call, parse_tool_call

from polyvox.core.usage import make_usage

__all__ = [
    "REASONING_KEYS",
    "chunk_from_openai_delta",
    "message_from_openai",
    "parse_openai_tool_calls",
    "to_openai_messages",
    "usage_from_openai",
]

REASONING_KEYS = ("reasoning_content", "reasoning")
"""Keys under which OpenAI-compatible servers return reasoning text (vLLM, DeepSeek, OpenRouter)."""

_EXTRA_MESSAGE_KEYS = ("refusal", "annotations", "reasoning_details", "audio")


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Convert LangChain messages to OpenAI chat messages.

    Plain text system and user messages take a fast path; everything else (images,
    files, audio, tool calls and results, Anthropic- or Gemini-style content blocks) goes
    through :func:`langchain_core.messages.convert_to_openai_messages`.

    Args:
        messages: The conversation.

    Returns:
        The OpenAI ``messages`` list.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.content
        if isinstance(content, str) and type(message) in (HumanMessage, SystemMessage):
            item: dict[str, Any] = {
                "role": "user" if type(message) is HumanMessage else "system",
                "content": content,
            }
            if message.name:
                item["name"] = message.name
            out.append(item)
            continue
        converted = convert_to_openai_messages(message)
        # OpenAI wants null (not "" or []) content beside tool calls.
        if converted.get("tool_calls") and not converted.get("content"):
            converted["content"] = None
        out.append(converted)
    return out


def parse_openai_tool_calls(
    raw: Sequence[Mapping[str, Any]] | None,
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """Parse OpenAI ``tool_calls`` into LangChain tool calls.

    Arguments that are not valid JSON become :class:`InvalidToolCall` entries (with the
    error), never an exception, so an agent can report the problem back to the model.

    Args:
        raw: The message's ``tool_calls`` list.

    Returns:
        The valid and the invalid tool calls.
    """
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for item in raw or ():
        data = dict(item)
        function = data.get("function") or {}
        if isinstance(function.get("arguments"), dict):  # some servers send objects
            data["function"] = {**function, "arguments": json.dumps(function["arguments"])}
        try:
            parsed = parse_tool_call(data, return_id=True)
        except Exception as exc:  # the parser raises OutputParserException on bad JSON
            invalid.append(make_invalid_tool_call(data, str(exc)))
            continue
        if parsed is not None:
            calls.append(ToolCall(**parsed))  # type: ignore[typeddict-item]
    return calls, invalid


def usage_from_openai(usage: Mapping[str, Any] | None) -> UsageMetadata | None:
    """Normalise an OpenAI-style ``usage`` object.

    Args:
        usage: The response's ``usage`` (``None`` when the server sent none).

    Returns:
        The normalised usage, or ``None``.
    """
    if not usage:
        return None
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return make_usage(
        usage.get("prompt_tokens"),
        usage.get("completion_tokens"),
        usage.get("total_tokens"),
        cache_read=prompt.get("cached_tokens"),
        cache_creation=prompt.get("cache_write_tokens") or prompt.get("cache_creation_tokens"),
        reasoning=completion.get("reasoning_tokens"),
        input_audio=prompt.get("audio_tokens") or None,
        output_audio=completion.get("audio_tokens") or None,
    )


def _extras(message: Mapping[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for key in REASONING_KEYS:
        if message.get(key):
            extra["reasoning_content"] = message[key]
            break
    for key in _EXTRA_MESSAGE_KEYS:
        if message.get(key):
            extra[key] = message[key]
    return extra


def message_from_openai(
    message: Mapping[str, Any],
    *,
    response_metadata: dict[str, Any],
    usage: UsageMetadata | None,
    message_id: str | None = None,
) -> AIMessage:
    """Build an :class:`AIMessage` from an OpenAI ``choices[i].message``.

    Args:
        message: The choice's message.
        response_metadata: The metadata to attach.
        usage: The normalised usage.
        message_id: The response id.

    Returns:
        The message, with tool calls, reasoning and refusal kept.
    """
    calls, invalid = parse_openai_tool_calls(message.get("tool_calls"))
    return AIMessage(
        content=message.get("content") or "",
        additional_kwargs=_extras(message),
        tool_calls=calls,
        invalid_tool_calls=invalid,
        usage_metadata=usage,
        response_metadata=response_metadata,
        id=message_id,
    )


def chunk_from_openai_delta(delta: Mapping[str, Any], *, chunk_id: str | None) -> AIMessageChunk:
    """Build an :class:`AIMessageChunk` from a streamed ``choices[i].delta``.

    Tool-call fragments become ``tool_call_chunks`` keyed by their ``index``, which
    LangChain merges as chunks are added together.

    Args:
        delta: The choice's delta.
        chunk_id: The stream's id.

    Returns:
        The chunk.
    """
    tool_chunks = [
        ToolCallChunk(
            name=(tc.get("function") or {}).get("name"),
            args=_args_text((tc.get("function") or {}).get("arguments")),
            id=tc.get("id"),
            index=tc.get("index"),
        )
        for tc in delta.get("tool_calls") or ()
    ]
    return AIMessageChunk(
        content=delta.get("content") or "",
        additional_kwargs=_extras(delta),
        tool_call_chunks=tool_chunks,
        id=chunk_id,
    )


def _args_text(arguments: Any) -> str | None:
    if arguments is None or isinstance(arguments, str):
        return arguments
    return json.dumps(arguments)
