"""LangChain messages and tools in the form the AI Studio SDK sends.

Messages become the SDK's message dicts (``{"role", "text"}``); a run of ``ToolMessage`` s
becomes one ``{"tool_results": [...]}`` message (the API's ``toolResultList``, a function
result names its function, not a call id: the name comes from the call the message
answers); an ``AIMessage`` with tool calls becomes an assistant message carrying the API's
``toolCallList`` (arguments as a JSON object). Tools become the SDK's function tools, and
LangChain's ``tool_choice`` its ``toolChoice``. The completion API takes text only: an image
or a file part is refused with a message saying so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

__all__ = ["ToolCallsMessage", "to_sdk_messages", "to_sdk_tool_choice", "to_sdk_tools"]

_ROLES = {"human": "user", "user": "user", "ai": "assistant", "assistant": "assistant",
          "system": "system", "developer": "system"}  # fmt: skip
_SKIPPED_PARTS = frozenset({"reasoning", "thinking", "tool_use", "tool_call", "function_call"})
"""Content parts left out of the text: reasoning, and tool calls (sent from ``tool_calls``)."""


@dataclass(frozen=True)
class _ToolCallList:
    """An assistant turn's calls, in the shape the SDK's message protocol reads.

    ``yandex-ai-studio-sdk`` (0.22, ``_models/completions/message.py``) takes a turn with
    tool calls only as its ``TextMessageWithToolCallsProtocol``: an object whose
    ``tool_calls._proto_origin`` is the API's ``ToolCallList``; it has no public
    constructor for one (its own results carry it). This class is that shape and nothing
    else, so the one private name the SDK reads stays here.
    """

    _proto_origin: Any

    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True)
class ToolCallsMessage:
    """An assistant turn that called tools, as the SDK's message protocol wants it."""

    role: str
    """Always ``assistant``."""
    text: str
    """The turn's text (usually empty)."""
    tool_calls: _ToolCallList
    """The calls, as the API's ``ToolCallList``."""


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, Mapping) and part.get("type") == "text":
            parts.append(str(part.get("text", "")))
        elif isinstance(part, Mapping) and part.get("type") in _SKIPPED_PARTS:
            continue
        else:
            kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
            msg = (
                f"the YandexGPT completion API takes text only; a {kind!r} content part cannot "
                "be sent (put its content in text, or use a model of another provider that "
                "takes it)"
            )
            raise ValueError(msg)
    return "".join(parts)


def _tool_calls_message(message: AIMessage) -> ToolCallsMessage:
    from google.protobuf.struct_pb2 import Struct

    from yandex.cloud.ai.foundation_models.v1.text_common_pb2 import (
        FunctionCall,
        ToolCall,
        ToolCallList,
    )

    calls = []
    for call in message.tool_calls:
        arguments = Struct()
        arguments.update(dict(call.get("args") or {}))
        calls.append(ToolCall(function_call=FunctionCall(name=call["name"], arguments=arguments)))
    return ToolCallsMessage(
        "assistant", _text(message), _ToolCallList(ToolCallList(tool_calls=calls))
    )


def _result_content(message: ToolMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    try:
        return _text(message)
    except ValueError:
        return json.dumps(content, ensure_ascii=False, default=str)


def to_sdk_messages(messages: Sequence[BaseMessage]) -> list[Any]:
    """The conversation as the SDK's message list.

    Args:
        messages: LangChain messages.

    Returns:
        Message dicts (and :class:`ToolCallsMessage` s) for ``model.run(...)``.

    Raises:
        ValueError: For a non-text content part or a message type the API has no role for.
    """
    names: dict[str, str] = {}
    out: list[Any] = []
    results: list[dict[str, str]] = []
    for message in messages:
        if not isinstance(message, ToolMessage) and results:
            out.append({"role": "user", "tool_results": results})
            results = []
        if isinstance(message, ToolMessage):
            name = message.name or names.get(message.tool_call_id) or message.tool_call_id
            results.append({"name": name, "content": _result_content(message)})
        elif isinstance(message, AIMessage) and message.tool_calls:
            for call in message.tool_calls:
                if call.get("id"):
                    names[str(call["id"])] = call["name"]
            out.append(_tool_calls_message(message))
        elif isinstance(message, (SystemMessage, HumanMessage, AIMessage, ChatMessage)):
            role = message.role if isinstance(message, ChatMessage) else message.type
            if role not in _ROLES:
                msg = f"the YandexGPT API has no role {role!r} (only system, user, assistant)"
                raise ValueError(msg)
            out.append({"role": _ROLES[role], "text": _text(message)})
        else:
            msg = f"the YandexGPT API cannot take a {type(message).__name__}"
            raise ValueError(msg)
    if results:
        out.append({"role": "user", "tool_results": results})
    return out


def to_sdk_tools(studio: Any, tools: Sequence[Mapping[str, Any]]) -> list[Any]:
    """OpenAI-form tools (what ``bind_tools`` binds) as the SDK's function tools.

    Args:
        studio: The SDK instance (its ``tools.function`` makes them).
        tools: ``{"type": "function", "function": {"name", "description", "parameters"}}``.

    Returns:
        The SDK's ``FunctionTool`` s.
    """
    made = []
    for tool in tools:
        spec = tool.get("function", tool)
        kwargs: dict[str, Any] = {"name": spec["name"]}
        if spec.get("description"):
            kwargs["description"] = spec["description"]
        if spec.get("strict") is not None:
            kwargs["strict"] = bool(spec["strict"])
        parameters = spec.get("parameters") or {"type": "object", "properties": {}}
        made.append(studio.tools.function(dict(parameters), **kwargs))
    return made


def to_sdk_tool_choice(choice: Any) -> Any:
    """An OpenAI-form ``tool_choice`` as the SDK takes it (``toolChoice``).

    Args:
        choice: ``"auto"``, ``"none"``, ``"required"`` or ``{"type": "function", ...}``.

    Returns:
        The same value, which the SDK reads as the API's mode or function name.
    """
    if isinstance(choice, Mapping):
        return {"type": "function", "function": {"name": choice["function"]["name"]}}
    return str(choice)
