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
from decimal import Decimal, InvalidOperation
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

from polyvox.core.usage import make_usage

__all__ = [
    "REASONING_KEYS",
    "chunk_from_openai_delta",
    "message_from_openai",
    "parse_openai_tool_calls",
    "provider_cost_from_openai",
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
        if isinstance(content, list) and any(_untyped(block) for block in content):
            message = message.model_copy(update={"content": _typed_blocks(content)})
        converted = convert_to_openai_messages(message)
        # OpenAI wants null (not "" or []) content beside tool calls.
        if converted.get("tool_calls") and not converted.get("content"):
            converted["content"] = None
        out.append(converted)
    return out


def _untyped(block: object) -> bool:
    return isinstance(block, Mapping) and "type" not in block


def _typed_blocks(content: list[Any]) -> list[Any]:
    """Content blocks with a ``type``: an untyped ``{"text": ...}`` block is a text block.

    Raises:
        ValueError: For an untyped block that holds no text (what it is cannot be told).
    """
    blocks: list[Any] = []
    for index, block in enumerate(content):
        if not _untyped(block):
            blocks.append(block)
        elif isinstance(block.get("text"), str):
            blocks.append({"type": "text", **block})
        else:
            msg = (
                f"content block {index} has no 'type' (its keys: {sorted(block)}); give each "
                'block a type, e.g. {"type": "text", "text": "..."} or {"type": "image_url", '
                '"image_url": {"url": "..."}}'
            )
            raise ValueError(msg)
    return blocks


def parse_openai_tool_calls(
    raw: Sequence[Any] | None,
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """Parse OpenAI ``tool_calls`` into LangChain tool calls.

    Arguments that are not a JSON object become :class:`InvalidToolCall` entries (with the
    error), never an exception, so an agent can report the problem back to the model. A
    call without arguments (missing, ``null`` or ``""``, as servers send for a tool whose
    parameters are all optional) has ``args == {}``. Entries that are not function calls
    (no ``function`` object) are skipped, as LangChain does.

    Args:
        raw: The message's ``tool_calls`` list.

    Returns:
        The valid and the invalid tool calls.
    """
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for item in raw or ():
        if not isinstance(item, Mapping):
            continue
        function = item.get("function")
        if not isinstance(function, Mapping):
            continue
        name = function.get("name")
        call_id = item.get("id")
        arguments = function.get("arguments")
        if call_id is not None and not isinstance(call_id, str):
            call_id = str(call_id)
        args, error = _tool_args(arguments)
        if error is None and isinstance(name, str) and name:
            calls.append(ToolCall(name=name, args=args, id=call_id, type="tool_call"))
            continue
        invalid.append(
            InvalidToolCall(
                name=name if isinstance(name, str) else None,
                args=_args_text(arguments),
                id=call_id,
                error=error or "the tool call has no function name",
                type="invalid_tool_call",
            )
        )
    return calls, invalid


def _tool_args(arguments: Any) -> tuple[dict[str, Any], str | None]:
    """A tool call's arguments as a dict, or the reason they are not one."""
    if isinstance(arguments, str):
        if not arguments.strip():
            return {}, None
        try:
            arguments = json.loads(arguments, strict=False)
        except json.JSONDecodeError as exc:
            return {}, f"the arguments are not valid JSON: {exc}"
    if not arguments:  # null, {}, [] (LangChain's reading, too)
        return {}, None
    if isinstance(arguments, dict):
        return arguments, None
    return {}, f"the arguments are JSON but not an object: {type(arguments).__name__}"


def usage_from_openai(usage: Mapping[str, Any] | None) -> UsageMetadata | None:
    """Normalise an OpenAI-style ``usage`` object.

    Args:
        usage: The response's ``usage`` (``None`` when the server sent none).

    Returns:
        The normalised usage, or ``None``.
    """
    if not usage or not isinstance(usage, Mapping):
        return None
    prompt = _mapping(usage.get("prompt_tokens_details"))
    completion = _mapping(usage.get("completion_tokens_details"))
    return make_usage(
        usage.get("prompt_tokens"),
        usage.get("completion_tokens"),
        usage.get("total_tokens"),
        cache_read=prompt.get("cached_tokens"),
        cache_creation=_first_present(prompt, "cache_write_tokens", "cache_creation_tokens"),
        reasoning=completion.get("reasoning_tokens"),
        input_audio=prompt.get("audio_tokens"),  # 0 kept, as langchain-openai keeps it
        output_audio=completion.get("audio_tokens"),
    )


def provider_cost_from_openai(
    usage: Mapping[str, Any] | None, *, currency: str = "USD"
) -> dict[str, Any] | None:
    """The cost the server itself reported for the call (OpenRouter's ``usage.cost``).

    OpenRouter puts what it billed for the call in ``usage.cost`` (US dollars, its
    credits), a breakdown in ``usage.cost_details`` and, for a call made with the user's
    own upstream key, ``usage.is_byok: true``: ``cost`` is then only OpenRouter's fee and
    ``cost_details.upstream_inference_cost`` what the upstream provider billed that key.

    Args:
        usage: The response's raw ``usage`` object.
        currency: ISO 4217 code of the amounts.

    Returns:
        ``{"amount": "0.000924", "currency": "USD", ...}`` with amounts as decimal strings
        (exact, JSON-serialisable; ``Decimal(amount)`` reads them back), plus ``is_byok``
        and ``upstream_amount`` (BYOK calls) and the raw ``details`` when reported; ``None``
        when the server reported no usable cost.
    """
    if not isinstance(usage, Mapping):
        return None
    amount = _decimal_text(usage.get("cost"))
    if amount is None:
        return None
    out: dict[str, Any] = {"amount": amount, "currency": currency}
    details = usage.get("cost_details")
    byok = usage.get("is_byok")
    if isinstance(byok, bool):
        out["is_byok"] = byok
    if byok is True and isinstance(details, Mapping):
        upstream = _decimal_text(details.get("upstream_inference_cost"))
        if upstream is not None:
            out["upstream_amount"] = upstream
    if isinstance(details, Mapping):
        out["details"] = dict(details)
    return out


def _decimal_text(value: Any) -> str | None:
    """A reported amount as a plain decimal string; ``None`` for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return format(amount, "f") if amount.is_finite() else None


def _first_present(data: Mapping[str, Any], *keys: str) -> Any:
    """The first of ``keys`` that ``data`` has a non-null value for (a 0 counts)."""
    for key in keys:
        value = data.get(key)
        if value is not None:
            return value
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


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
            name=_function(tc).get("name"),
            args=_args_text(_function(tc).get("arguments")),
            id=tc.get("id"),
            index=tc.get("index"),
        )
        for tc in delta.get("tool_calls") or ()
        if isinstance(tc, Mapping)
    ]
    return AIMessageChunk(
        content=delta.get("content") or "",
        additional_kwargs=_extras(delta),
        tool_call_chunks=tool_chunks,
        id=chunk_id,
    )


def _function(tool_call: Mapping[str, Any]) -> Mapping[str, Any]:
    function = tool_call.get("function")
    return function if isinstance(function, Mapping) else {}


def _args_text(arguments: Any) -> str | None:
    if arguments is None or isinstance(arguments, str):
        return arguments
    return json.dumps(arguments)
