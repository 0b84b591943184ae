"""LangChain messages ⇄ Ollama's native chat messages, and stable tool-call ids.

Ollama's messages carry text in ``content``, images as a separate base64 list, tool calls
with *object* arguments and tool results with ``tool_name``; its tool calls come back
without ids. Conversion goes through core's OpenAI form (which already understands every
LangChain content-block style) and adapts from there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, ToolCall

from polyvox.core.openai_format import to_openai_messages

__all__ = ["to_ollama_messages", "tool_call_id", "tool_calls_from_ollama"]


# Content blocks that other fields carry (tool calls, reasoning): not part of the text.
_CARRIED_ELSEWHERE = frozenset(
    {
        "tool_call",
        "tool_use",
        "function_call",
        "tool_call_chunk",
        "invalid_tool_call",
        "reasoning",
        "thinking",
    }
)


def _text_and_images(content: Any) -> tuple[str, list[str]]:
    if content is None or isinstance(content, str):
        return content or "", []
    texts: list[str] = []
    images: list[str] = []
    for part in content:
        kind = part.get("type")
        if kind in _CARRIED_ELSEWHERE:
            continue
        if kind == "text":
            texts.append(part["text"])
        elif kind == "image_url":
            url = (
                part["image_url"]["url"]
                if isinstance(part["image_url"], dict)
                else part["image_url"]
            )
            if not url.startswith("data:"):
                msg = (
                    "Ollama takes images as base64 data, not URLs: download the image and pass "
                    "it as a base64 content block ({'type': 'image', 'base64': ..., "
                    "'mime_type': ...})"
                )
                raise ValueError(msg)
            images.append(url.split(",", 1)[1])
        else:
            msg = f"Ollama chat messages cannot carry a {kind!r} content part"
            raise ValueError(msg)
    return "\n".join(texts), images


def to_ollama_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Convert a conversation to Ollama ``/api/chat`` messages.

    Args:
        messages: The LangChain messages.

    Returns:
        The Ollama messages.

    Raises:
        ValueError: For content Ollama cannot take (image URLs, files, audio).
    """
    names = {}
    out: list[dict[str, Any]] = []
    for item in to_openai_messages(messages):
        role = item["role"]
        text, images = _text_and_images(item.get("content"))
        message: dict[str, Any] = {
            "role": "system" if role == "developer" else role,
            "content": text,
        }
        if images:
            message["images"] = images
        if calls := item.get("tool_calls"):
            message["tool_calls"] = []
            for call in calls:
                function = call["function"]
                names[call.get("id")] = function["name"]
                arguments = function.get("arguments") or "{}"
                message["tool_calls"].append(
                    {
                        "function": {
                            "name": function["name"],
                            "arguments": json.loads(arguments)
                            if isinstance(arguments, str)
                            else arguments,
                        }
                    }
                )
        if role == "tool":
            tool_name = item.get("name") or names.get(item.get("tool_call_id"))
            if tool_name:
                message["tool_name"] = tool_name
        out.append(message)
    return out


def tool_call_id(turn: int, index: int, name: str, args: dict[str, Any]) -> str:
    """A stable id for a tool call Ollama returned without one.

    The same call at the same point of the same conversation gets the same id (so retries
    and replays line up), and different turns get different ids.

    Args:
        turn: How many messages preceded the answer.
        index: The call's position in the answer.
        name: The tool's name.
        args: The call's arguments.

    Returns:
        An id like ``call_3f2a...``.
    """
    key = f"{turn}:{index}:{name}:{json.dumps(args, sort_keys=True, default=str)}"
    return "call_" + hashlib.sha256(key.encode()).hexdigest()[:24]


def tool_calls_from_ollama(
    raw: Sequence[Any] | None, *, turn: int, start: int = 0
) -> list[ToolCall]:
    """LangChain tool calls from Ollama's (object arguments, ids synthesised when absent).

    Args:
        raw: The message's ``tool_calls`` (SDK objects or dicts).
        turn: How many messages preceded the answer (for the ids).
        start: The position of the first call in the whole answer (streams deliver calls
            one part at a time).

    Returns:
        The tool calls.
    """
    calls: list[ToolCall] = []
    for index, call in enumerate(raw or ()):
        function = call["function"]
        args = function["arguments"]
        if isinstance(args, str):
            args = json.loads(args) if args.strip() else {}
        args = dict(args or {})
        given = call.get("id") if isinstance(call, dict) else getattr(call, "id", None)
        calls.append(
            ToolCall(
                name=function["name"],
                args=args,
                id=given or tool_call_id(turn, start + index, function["name"], args),
                type="tool_call",
            )
        )
    return calls
