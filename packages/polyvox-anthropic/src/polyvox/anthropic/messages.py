"""LangChain messages and tools in the Anthropic Messages API's form.

System messages become the request's ``system`` (a string, or text blocks when any carries
``cache_control``); human, AI and tool messages become ``user`` and ``assistant`` turns of
content blocks, consecutive ones of the same role merged (the API wants the results of one
turn's tool calls together in the next user turn). Content blocks are read in every form
LangChain code writes them: Anthropic's own (passed through, ``cache_control`` kept),
LangChain's standard blocks (``image``/``file`` with ``url``, ``base64`` or ``file_id``,
and the older ``source_type`` form) and OpenAI's ``image_url``. An AI message's thinking
and redacted-thinking blocks go back with their signatures, and its tool calls are sent
from ``tool_calls`` (the arguments a streamed message had in fragments included).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.utils.function_calling import convert_to_openai_tool

__all__ = ["to_anthropic_messages", "to_anthropic_tool", "to_anthropic_tool_choice"]

_TEXT_KEYS = ("type", "text", "cache_control", "citations")
_DROPPED_KEYS = frozenset({"index", "id"})
"""Keys LangChain adds to blocks (stream merging, v1 block ids) that the API refuses."""
_STREAM_ONLY_KEYS = frozenset({"index", "partial_json"})


def _brief(block: Mapping[str, Any]) -> str:
    return "{" + ", ".join(repr(key) for key in block) + "}"


def _with_cache(out: dict[str, Any], block: Mapping[str, Any]) -> dict[str, Any]:
    if block.get("cache_control") is not None:
        out["cache_control"] = block["cache_control"]
    return out


def _data_url(url: str) -> dict[str, Any]:
    head, comma, data = url.partition(",")
    if not comma or ";base64" not in head:
        msg = f"a data: URL must be base64-encoded (data:<type>;base64,<data>): {head[:60]!r}"
        raise ValueError(msg)
    return {"type": "base64", "media_type": head[5:].split(";")[0], "data": data}


def _url_source(url: Any) -> dict[str, Any]:
    if not isinstance(url, str) or not url:
        msg = f"an image or file URL must be a non-empty string, got {url!r}"
        raise ValueError(msg)
    return _data_url(url) if url.startswith("data:") else {"type": "url", "url": url}


def _source(block: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The ``source`` of an image or document from a LangChain standard block (v1 or v0)."""
    kind = block.get("source_type")
    if "url" in block and kind in (None, "url"):
        return _url_source(block["url"])
    if "base64" in block or kind == "base64":
        data = block.get("base64", block.get("data"))
        mime = block.get("mime_type")
        if not isinstance(data, str) or not mime:
            msg = f"a base64 {what} block needs its data and mime_type: {_brief(block)}"
            raise ValueError(msg)
        if what == "file" and mime == "text/plain":
            import base64

            return {"type": "text", "media_type": mime, "data": base64.b64decode(data).decode()}
        return {"type": "base64", "media_type": mime, "data": data}
    if "file_id" in block or kind == "id":
        return {"type": "file", "file_id": block.get("file_id", block.get("id"))}
    if kind == "text" and isinstance(block.get("text"), str):
        return {"type": "text", "media_type": "text/plain", "data": block["text"]}
    msg = f"an {what} block without a url, base64 data or file_id: {_brief(block)}"
    raise ValueError(msg)


def _media(block: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """An ``image`` or ``document`` block: Anthropic's own (``source``) or LangChain's."""
    target = "image" if kind == "image" else "document"
    if isinstance(block.get("source"), Mapping):  # already Anthropic's form
        return {k: v for k, v in block.items() if k not in _DROPPED_KEYS}
    out: dict[str, Any] = {"type": target, "source": _source(block, kind)}
    extras: Mapping[str, Any] = block["extras"] if isinstance(block.get("extras"), Mapping) else {}
    for key in ("title", "context", "citations"):
        value = block.get(key, extras.get(key))
        if value is not None and target == "document":
            out[key] = value
    return _with_cache(out, {**extras, **block})


def _thinking(block: Mapping[str, Any]) -> dict[str, Any]:
    """A thinking block (Anthropic's, or LangChain's standard ``reasoning``) with its signature."""
    if block.get("type") == "reasoning":
        extras: Mapping[str, Any] = (
            block["extras"] if isinstance(block.get("extras"), Mapping) else {}
        )
        signature = block.get("signature", extras.get("signature"))
        text = block.get("reasoning", "")
    else:
        signature, text = block.get("signature"), block.get("thinking", "")
    if not signature:
        msg = (
            "a thinking block without its signature cannot be sent back to Anthropic (the API "
            "refuses it); keep the AIMessage the model returned, content blocks and all"
        )
        raise ValueError(msg)
    return {"type": "thinking", "thinking": text or "", "signature": signature}


def _block(block: Any, role: str) -> dict[str, Any] | None:
    """One content block in Anthropic's form (``None``: nothing to send)."""
    if isinstance(block, str):
        return {"type": "text", "text": block} if block else None
    if not isinstance(block, Mapping):
        msg = f"Anthropic messages cannot carry a {type(block).__name__} content part"
        raise ValueError(msg)
    kind = block.get("type")
    if kind == "text":
        if not isinstance(block.get("text"), str):
            msg = f"a 'text' content block without its text: {_brief(block)}"
            raise ValueError(msg)
        if not block["text"]:
            return None  # the API refuses empty text blocks
        return {k: block[k] for k in _TEXT_KEYS if block.get(k) is not None}
    if kind == "image_url":
        url = block.get("image_url")
        url = url.get("url") if isinstance(url, Mapping) else url
        return _with_cache({"type": "image", "source": _url_source(url)}, block)
    if kind in ("image", "file", "document"):
        return _media(block, "file" if kind == "document" and "source" not in block else kind)
    if kind in ("thinking", "reasoning"):
        if kind == "reasoning" and role != "assistant":
            return None
        return _thinking(block)
    if kind == "tool_call":  # LangChain's standard block: sent from tool_calls instead
        return None
    if kind is None:
        msg = f"a content block without a type: {_brief(block)}"
        raise ValueError(msg)
    # tool_use, tool_result, redacted_thinking, server tools' blocks, search results...
    out = {k: v for k, v in block.items() if k not in _STREAM_ONLY_KEYS}
    if "partial_json" in block and not block.get("input"):  # a streamed server tool's input
        out["input"] = _json_object(block["partial_json"])
    return out


def _blocks(content: Any, role: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out = []
    for item in content:
        converted = _block(item, role)
        if converted is not None:
            out.append(converted)
    return out


def _assistant(message: AIMessage) -> list[dict[str, Any]]:
    calls = {call["id"]: call for call in message.tool_calls if call.get("id")}
    blocks: list[dict[str, Any]] = []
    sent: set[str] = set()
    for block in _blocks(message.content, "assistant"):
        if block.get("type") == "tool_use":
            call = calls.get(block.get("id") or "")
            if call is not None:
                block = {**block, "input": call["args"]}
                sent.add(call["id"] or "")
            elif not isinstance(block.get("input"), Mapping):
                block = {**block, "input": _json_object(block.get("input"))}
        blocks.append(block)
    for call in message.tool_calls:
        if (call.get("id") or "") not in sent:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": call.get("id"),
                    "name": call["name"],
                    "input": call["args"],
                }
            )
    return blocks


def _json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, str) and value.strip():
        parsed = json.loads(value)
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _tool_result(message: ToolMessage) -> dict[str, Any]:
    content: Any = message.content
    if not isinstance(content, str):
        content = _blocks(content, "user")
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": message.tool_call_id,
        "content": content,
    }
    if message.status == "error":
        block["is_error"] = True
    return block


def _role(message: BaseMessage) -> str:
    if isinstance(message, HumanMessage | ToolMessage):
        return "user"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, ChatMessage):
        role = "system" if message.role == "developer" else message.role
        if role in ("user", "assistant", "system"):
            return role
        if role == "human":
            return "user"
        if role == "ai":
            return "assistant"
    msg = f"Anthropic's Messages API has no role for a {type(message).__name__}"
    raise ValueError(msg)


def to_anthropic_messages(
    messages: Sequence[BaseMessage],
) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """Convert a LangChain conversation to the Messages API's ``system`` and ``messages``.

    Args:
        messages: The conversation.

    Returns:
        ``(system, messages)``: the system prompt (``None`` when there is none; text
        blocks when any carries ``cache_control``) and the turns.

    Raises:
        ValueError: For a system message after the conversation started (the API has no
            place for it), and for content blocks the API cannot take.
    """
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = _role(message)
        if role == "system":
            if turns:
                msg = (
                    "a system message after the conversation started: Anthropic's Messages "
                    "API takes the system prompt only first; put it at the start"
                )
                raise ValueError(msg)
            system.extend(_blocks(message.content, "user"))
            continue
        if isinstance(message, ToolMessage):
            blocks = [_tool_result(message)]
        elif isinstance(message, AIMessage):
            blocks = _assistant(message)
        else:
            blocks = _blocks(message.content, role)
        if not blocks:
            continue  # the API refuses empty turns
        if turns and turns[-1]["role"] == role:
            previous = turns[-1]["content"]
            results = [b for b in previous + blocks if b.get("type") == "tool_result"]
            others = [b for b in previous + blocks if b.get("type") != "tool_result"]
            turns[-1]["content"] = results + others  # tool results first, as the API wants
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:  # one plain text block is sent as a string, as people write it
        content = turn["content"]
        if len(content) == 1 and content[0].keys() == {"type", "text"}:
            turn["content"] = content[0]["text"]
    return _system(system), turns


def _system(blocks: list[dict[str, Any]]) -> str | list[dict[str, Any]] | None:
    if not blocks:
        return None
    if all(block.keys() == {"type", "text"} for block in blocks):
        return "\n\n".join(block["text"] for block in blocks)
    return blocks


def to_anthropic_tool(tool: Any, *, strict: bool | None = None) -> dict[str, Any]:
    """A tool in the Messages API's form.

    Args:
        tool: An Anthropic tool dict (``name`` and ``input_schema``, kept as it is, with its
            ``cache_control``), an Anthropic server tool (``{"type": "web_search_20250305",
            ...}``), or anything ``bind_tools`` takes (an OpenAI tool dict, a pydantic
            model, a function, a LangChain tool).
        strict: Ask Anthropic to follow the input schema exactly.

    Returns:
        ``{"name", "description", "input_schema"}`` (and ``strict``, ``cache_control``),
        or the server tool as given.
    """
    if isinstance(tool, Mapping):
        if "input_schema" in tool and "name" in tool:
            return dict(tool)
        if "name" in tool and tool.get("type") not in (None, "function", "custom"):
            return dict(tool)  # a server tool: web search, code execution, ...
    spec = convert_to_openai_tool(tool, strict=strict)["function"]
    out: dict[str, Any] = {
        "name": spec["name"],
        "description": spec.get("description") or "",
        "input_schema": spec.get("parameters") or {"type": "object", "properties": {}},
    }
    if strict:
        out["strict"] = True
    if isinstance(tool, Mapping) and tool.get("cache_control") is not None:
        out["cache_control"] = tool["cache_control"]
    return out


def to_anthropic_tool_choice(
    choice: Any, tools: Sequence[Mapping[str, Any]], parallel: bool | None = None
) -> dict[str, Any] | None:
    """``tool_choice`` in the Messages API's form.

    Args:
        choice: ``"auto"``, ``"any"``/``"required"``/``True`` (must call a tool, the only
            one when there is one), ``"none"``, a tool's name, OpenAI's
            ``{"type": "function", "function": {"name"}}`` or Anthropic's own dict.
        tools: The tools on offer, in Anthropic's form.
        parallel: ``False`` forbids several tool calls in one answer.

    Returns:
        ``{"type": "auto" | "any" | "tool" | "none", ...}``, or ``None`` for nothing to send.

    Raises:
        ValueError: For a tool name that is not on offer.
    """
    names = [str(t.get("name")) for t in tools]
    out: dict[str, Any] | None
    if choice is None or choice is False:
        out = None
    elif choice is True:
        out = {"type": "tool", "name": names[0]} if len(names) == 1 else {"type": "any"}
    elif isinstance(choice, Mapping):
        if choice.get("type") == "function":
            out = {"type": "tool", "name": (choice.get("function") or {}).get("name")}
        else:
            out = dict(choice)
    elif choice in ("any", "required"):
        out = {"type": "any"}
    elif choice in ("auto", "none"):
        out = {"type": choice}
    elif choice in names:
        out = {"type": "tool", "name": choice}
    else:
        msg = f"tool_choice={choice!r} names no bound tool; bound tools are {names}"
        raise ValueError(msg)
    if parallel is False:
        out = {**(out or {"type": "auto"}), "disable_parallel_tool_use": True}
    return out
