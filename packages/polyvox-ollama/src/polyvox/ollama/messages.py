"""LangChain messages ⇄ Ollama's native chat messages, and stable tool-call ids.

:func:`to_ollama_messages` writes Ollama's ``/api/chat`` form straight from LangChain
messages: the role, the text in ``content`` (one string), images beside it in ``images``
(base64 strings), an assistant's tool calls with their arguments as a JSON *object*, and a
tool result's ``tool_name``. Ollama's tool calls come back without ids:
:func:`tool_calls_from_ollama` reads them and :func:`tool_call_id` gives each a stable one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
)

from polyvox.core.tool_ids import stable_tool_call_id as tool_call_id

__all__ = ["to_ollama_messages", "tool_call_id", "tool_calls_from_ollama"]

# Content blocks whose substance a message's other fields carry (its tool calls) or that
# are not sent back (reasoning): they add nothing to the text.
_CARRIED_ELSEWHERE = frozenset(
    {"tool_call", "tool_call_chunk", "invalid_tool_call", "reasoning", "thinking"}
)

_ROLES: dict[type[BaseMessage], str] = {
    HumanMessage: "user",
    AIMessage: "assistant",
    SystemMessage: "system",
    ToolMessage: "tool",
    FunctionMessage: "function",
}

_URL_IMAGE = (
    "Ollama takes images as base64 data, not URLs: download the image and pass it as a "
    "base64 content block ({'type': 'image', 'base64': ..., 'mime_type': ...})"
)


class _Content:
    """What a message's content blocks amount to in Ollama's form."""

    __slots__ = ("calls", "images", "kept", "results", "texts")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.images: list[str] = []
        self.calls: list[tuple[Any, str, dict[str, Any]]] = []  # (id, name, args)
        self.results: list[ToolMessage] = []
        self.kept = False  # a block that is neither text nor image (reasoning...) was seen

    @property
    def empty(self) -> bool:
        """Whether nothing but tool results (and empty text) was found."""
        return not (self.images or self.kept or "\n".join(self.texts))


def _role(message: BaseMessage) -> str:
    role = _ROLES.get(type(message))
    if role is not None:
        return role
    if isinstance(message, ChatMessage):
        return "system" if message.role == "developer" else message.role
    for kind, name in _ROLES.items():  # subclasses (chunks, user-defined)
        if isinstance(message, kind):
            return name
    msg = f"Ollama chat messages cannot be made from a {type(message).__name__}"
    raise ValueError(msg)


def _image_from_url(url: Any) -> str:
    """The base64 data of a ``data:`` URL (Ollama cannot fetch URLs itself)."""
    if not isinstance(url, str) or not url.startswith("data:"):
        raise ValueError(_URL_IMAGE)
    head, comma, data = url.partition(",")
    if not comma:
        msg = f"not a data URL (no comma after the media type): {head[:60]!r}"
        raise ValueError(msg)
    return data


def _image(block: Mapping[str, Any]) -> str:
    """The base64 data of an image block: LangChain's (v1 and v0), Anthropic's or Bedrock's."""
    if "url" in block:
        return _image_from_url(block["url"])
    if "base64" in block or block.get("source_type") == "base64":
        data = block["data"] if "data" in block else block["base64"]
        return data if isinstance(data, str) else base64.b64encode(data).decode()
    if isinstance(source := block.get("source"), Mapping):  # Anthropic
        if source.get("type") == "base64" and "data" in source:
            return str(source["data"])
        if source.get("type") == "url":
            return _image_from_url(source.get("url"))
    if isinstance(image := block.get("image"), Mapping):  # Bedrock Converse
        raw = (image.get("source") or {}).get("bytes")
        if isinstance(raw, bytes | bytearray):
            return base64.b64encode(raw).decode()
    if "file_id" in block or block.get("source_type") == "id":
        msg = "Ollama cannot take an uploaded file's id for an image: pass its base64 data"
        raise ValueError(msg)
    msg = f"an image content block without base64 data or a data: URL: {_brief(block)}"
    raise ValueError(msg)


def _brief(block: Mapping[str, Any]) -> str:
    return "{" + ", ".join(repr(key) for key in block) + "}"


def _tool_use(block: Mapping[str, Any], found: _Content) -> None:
    """An Anthropic ``tool_use`` or OpenAI Responses ``function_call`` block's call."""
    if block["type"] == "tool_use":
        missing = [key for key in ("id", "name", "input") if key not in block]
        call_id, args = block.get("id"), block.get("input")
    else:
        missing = [key for key in ("call_id", "name", "arguments") if key not in block]
        call_id, args = block.get("call_id"), block.get("arguments")
        found.kept = True
    if missing:
        msg = f"a {block['type']!r} content block without {', '.join(missing)}"
        raise ValueError(msg)
    if isinstance(args, str):  # the Responses API's arguments are JSON text
        args = json.loads(args) if args.strip() else {}
    found.calls.append((call_id, block["name"], dict(args or {})))


def _read_block(block: Any, found: _Content) -> None:
    if isinstance(block, str):
        found.texts.append(block)
        return
    if not isinstance(block, Mapping):
        msg = f"Ollama chat messages cannot carry a {type(block).__name__} content part"
        raise ValueError(msg)
    kind = block.get("type")
    if kind == "text":
        if "text" not in block:
            msg = f"a 'text' content block without its text: {_brief(block)}"
            raise ValueError(msg)
        found.texts.append(block["text"])
    elif kind == "image_url":
        if "image_url" not in block:
            msg = f"an 'image_url' content block without its image_url: {_brief(block)}"
            raise ValueError(msg)
        url = block["image_url"]
        found.images.append(_image_from_url(url["url"] if isinstance(url, Mapping) else url))
    elif kind == "image" or "image" in block:
        found.images.append(_image(block))
    elif kind in ("tool_use", "function_call"):
        _tool_use(block, found)
    elif kind == "tool_result":
        if "content" not in block or "tool_use_id" not in block:
            msg = f"a 'tool_result' content block without content or tool_use_id: {_brief(block)}"
            raise ValueError(msg)
        status = "error" if block.get("is_error") else "success"
        found.results.append(
            ToolMessage(block["content"], tool_call_id=block["tool_use_id"], status=status)
        )
    elif kind == "json" or "json" in block:
        if "json" not in block:
            msg = f"a 'json' content block without its json: {_brief(block)}"
            raise ValueError(msg)
        found.texts.append(json.dumps(block["json"]))  # a value written as text, once
    elif kind == "guard_content" or "guard_content" in block:
        guarded = block.get("guard_content")
        if not isinstance(guarded, Mapping) or "text" not in guarded:
            msg = f"a 'guard_content' content block without its text: {_brief(block)}"
            raise ValueError(msg)
        text = guarded["text"]
        found.texts.append(text["text"] if isinstance(text, Mapping) else text)
    elif kind == "media":  # Vertex AI
        mime = str(block.get("mime_type", ""))
        if "image" not in mime or "data" not in block:
            msg = f"Ollama chat messages cannot carry a 'media' content part of type {mime!r}"
            raise ValueError(msg)
        data = block["data"]
        found.images.append(data if isinstance(data, str) else base64.b64encode(data).decode())
    elif kind in _CARRIED_ELSEWHERE:
        found.kept = True
    elif kind is None:
        msg = f"a content block without a type: {_brief(block)}"
        raise ValueError(msg)
    else:
        msg = f"Ollama chat messages cannot carry a {kind!r} content part"
        raise ValueError(msg)


def _convert(message: BaseMessage, names: dict[Any, str], out: list[dict[str, Any]]) -> None:
    role = _role(message)
    content = message.content
    found: _Content | None = None
    if isinstance(content, str):
        text, images = content, None
    elif content is None:  # only a message built without validation has none
        text, images = "", None
    else:
        found = _Content()
        for block in content:
            _read_block(block, found)
        text, images = "\n".join(found.texts), found.images
    item: dict[str, Any] = {"role": role, "content": text}
    if images:
        item["images"] = images
    calls = [
        (call["id"], call["name"], call["args"])
        for call in (message.tool_calls if isinstance(message, AIMessage) else ())
    ]
    if found is not None and found.calls:
        given = {call_id for call_id, _, _ in calls}
        calls += [call for call in found.calls if call[0] not in given]
    if calls:
        item["tool_calls"] = []
        for call_id, name, args in calls:
            names[call_id] = name
            item["tool_calls"].append({"function": {"name": name, "arguments": dict(args)}})
    if role == "tool":
        tool_name = message.name or names.get(getattr(message, "tool_call_id", None))
        if tool_name:
            item["tool_name"] = tool_name
    if found is None or not found.results:
        out.append(item)
        return
    # Anthropic-style tool results inside a message become tool messages, ahead of what
    # else it holds (they answer the calls of the message before it).
    for result in found.results:
        _convert(result, names, out)
    if not found.empty:
        out.append(item)


def to_ollama_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Convert a conversation to Ollama ``/api/chat`` messages.

    Each message becomes ``{"role", "content"}`` plus, when it has them, ``images``,
    ``tool_calls`` and ``tool_name``:

    * roles: ``system``, ``user``, ``assistant`` and ``tool``; a ``ChatMessage`` keeps its
      own role (``developer`` becomes ``system``).
    * content: a string as it is; content blocks give their text joined by newlines
      (``text`` blocks, plain strings, ``json`` and ``guard_content`` blocks) and their
      images as base64 (LangChain ``image`` blocks with ``base64`` or a ``data:`` URL,
      OpenAI ``image_url`` blocks with a ``data:`` URL, Anthropic base64 sources, Bedrock
      bytes, Vertex AI image ``media``). Reasoning and tool-call blocks are left out: the
      reasoning is not sent back, the calls go in ``tool_calls``.
    * an assistant's tool calls: ``{"function": {"name", "arguments"}}`` with the arguments
      as the dict they are (Ollama takes a JSON object, not JSON text), followed by any
      Anthropic ``tool_use`` or Responses ``function_call`` blocks the message's
      ``tool_calls`` do not already hold.
    * a tool result: ``tool_name`` is the message's ``name``, else the name of the call its
      ``tool_call_id`` answers. Anthropic ``tool_result`` blocks inside a message become
      tool messages ahead of the rest of it (in its place when it holds nothing else).

    Args:
        messages: The LangChain messages.

    Returns:
        The Ollama messages.

    Raises:
        ValueError: For content Ollama cannot take (image URLs other than ``data:`` URLs,
            files, audio, video, uploaded file ids) or a malformed content block.
    """
    names: dict[Any, str] = {}  # tool-call id -> tool name, for the tool results
    out: list[dict[str, Any]] = []
    for message in messages:
        _convert(message, names, out)
    return out


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
