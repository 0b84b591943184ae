"""Message conversion between LlamaIndex `ChatMessage`s and LangChain messages.

Roles map as system/developer ↔ `SystemMessage`, user ↔ `HumanMessage`, assistant ↔
`AIMessage` (tool calls included) and tool ↔ `ToolMessage` (the LlamaIndex message carries
`tool_call_id` in `additional_kwargs`). Text, image, audio, document and video blocks map to
LangChain's standard content blocks (`{"type": "image", "url" | "base64", "mime_type"}`).

An assistant message's tool calls are kept twice on the LlamaIndex side: as LangChain
`ToolCall` dicts in `additional_kwargs["tool_calls"]` (what
`LangChainLLM.get_tool_calls_from_response` reads) and as `ToolCallBlock`s (what newer
LlamaIndex components read). Either form, OpenAI-style tool-call dicts and `ToolSelection`s
are all understood on the way back.
"""

from __future__ import annotations

import base64 as b64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.messages import ChatMessage as LCChatMessage
from langchain_core.messages.tool import tool_call
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    CitableBlock,
    CitationBlock,
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.core.llms.llm import ToolSelection

__all__ = [
    "LANGCHAIN_KWARGS_KEY",
    "to_langchain_message",
    "to_langchain_messages",
    "to_llamaindex_message",
    "to_llamaindex_messages",
    "tool_calls_of",
]

LANGCHAIN_KWARGS_KEY = "langchain_additional_kwargs"
"""`ChatMessage.additional_kwargs` key keeping a LangChain message's `additional_kwargs`."""

_SYSTEM_ROLES = {MessageRole.SYSTEM, MessageRole.DEVELOPER}
_ASSISTANT_ROLES = {MessageRole.ASSISTANT, MessageRole.MODEL, MessageRole.CHATBOT}


# -- LlamaIndex → LangChain -----------------------------------------------------------------


def _media_source(data: Any, path: Any, url: Any, mime_type: str | None) -> dict[str, Any] | None:
    """Describe binary media as the source keys of a LangChain standard content block.

    Args:
        data: Inline bytes (raw or base64, as LlamaIndex stores them), if any.
        path: A local file path, if any.
        url: A URL (`data:` URLs are decoded into base64), if any.
        mime_type: The media's MIME type, if known.

    Returns:
        `{"url": ...}` or `{"base64": ..., "mime_type": ...}`; `None` when there is no source.
    """
    source: dict[str, Any]
    if isinstance(data, bytes) and data:
        try:
            b64.b64decode(data, validate=True)
            encoded = data.decode("ascii")
        except ValueError:
            encoded = b64.b64encode(data).decode("ascii")
        source = {"base64": encoded}
    elif path is not None:
        source = {"base64": b64.b64encode(Path(str(path)).read_bytes()).decode("ascii")}
    elif url is not None:
        url_text = str(url)
        if url_text.startswith("data:") and ";base64," in url_text:
            header, encoded = url_text[len("data:") :].split(";base64,", 1)
            source = {"base64": encoded}
            mime_type = mime_type or header or None
        else:
            source = {"url": url_text}
    else:
        return None
    if mime_type:
        source["mime_type"] = mime_type
    return source


def _to_langchain_block(block: Any) -> dict[str, Any] | None:
    """Convert one LlamaIndex content block to a LangChain standard content block.

    Args:
        block: A LlamaIndex content block.

    Returns:
        The LangChain block, or `None` for blocks with no LangChain counterpart
        (tool calls, which travel in `AIMessage.tool_calls`, and cache points).
    """
    source: dict[str, Any] | None
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ImageBlock):
        source = _media_source(block.image, block.path, block.url, block.image_mimetype)
        return None if source is None else {"type": "image", **source}
    if isinstance(block, AudioBlock):
        mime = f"audio/{block.format}" if block.format else None
        source = _media_source(block.audio, block.path, block.url, mime)
        return None if source is None else {"type": "audio", **source}
    if isinstance(block, VideoBlock):
        source = _media_source(block.video, block.path, block.url, block.video_mimetype)
        return None if source is None else {"type": "video", **source}
    if isinstance(block, DocumentBlock):
        source = _media_source(block.data, block.path, block.url, block.document_mimetype)
        return None if source is None else {"type": "file", **source}
    if isinstance(block, ThinkingBlock):
        return {"type": "reasoning", "reasoning": block.content or ""}
    if isinstance(block, CitableBlock):
        text = "\n".join(part.text for part in block.content if isinstance(part, TextBlock))
        return {"type": "text", "text": text}
    if isinstance(block, CitationBlock) and isinstance(block.cited_content, TextBlock):
        return {"type": "text", "text": block.cited_content.text}
    return None


def _to_langchain_content(message: ChatMessage) -> str | list[str | dict[str, Any]]:
    """Give a message's blocks as LangChain content: a string when it is only text."""
    blocks = [converted for b in message.blocks if (converted := _to_langchain_block(b))]
    if all(block["type"] == "text" for block in blocks):
        return "\n".join(str(block["text"]) for block in blocks)
    return list(blocks)


def _parse_args(arguments: Any) -> dict[str, Any]:
    """Read tool-call arguments given as a dict or a JSON string."""
    if isinstance(arguments, dict):
        return dict(arguments)
    if isinstance(arguments, str) and arguments.strip():
        parsed = json.loads(arguments)
        return parsed if isinstance(parsed, dict) else {"input": parsed}
    return {}


def _to_tool_call(item: Any) -> ToolCall:
    """Read one tool call in any of the accepted shapes as a LangChain `ToolCall`."""
    if isinstance(item, ToolSelection):
        return tool_call(name=item.tool_name, args=dict(item.tool_kwargs), id=item.tool_id)
    if isinstance(item, ToolCallBlock):
        return tool_call(
            name=item.tool_name, args=_parse_args(item.tool_kwargs), id=item.tool_call_id
        )
    if isinstance(item, dict) and isinstance(item.get("function"), dict):  # OpenAI style
        function = item["function"]
        return tool_call(
            name=function["name"], args=_parse_args(function.get("arguments")), id=item.get("id")
        )
    if isinstance(item, dict) and "name" in item:  # LangChain style
        return tool_call(name=item["name"], args=_parse_args(item.get("args")), id=item.get("id"))
    function = getattr(item, "function", None)  # OpenAI SDK objects kept by other LLMs
    if function is not None and isinstance(getattr(function, "name", None), str):
        arguments = _parse_args(getattr(function, "arguments", None))
        return tool_call(name=function.name, args=arguments, id=getattr(item, "id", None))
    msg = f"Unrecognised tool call in a LlamaIndex message: {item!r}"
    raise ValueError(msg)


def tool_calls_of(message: ChatMessage) -> list[ToolCall]:
    """Read the tool calls of a LlamaIndex assistant message.

    Args:
        message: A LlamaIndex chat message.

    Returns:
        The calls from `additional_kwargs["tool_calls"]` (LangChain dicts, OpenAI-style
        dicts or `ToolSelection`s) or, when absent, from its `ToolCallBlock`s.
    """
    listed = message.additional_kwargs.get("tool_calls")
    if listed:
        return [_to_tool_call(item) for item in listed]
    return [_to_tool_call(b) for b in message.blocks if isinstance(b, ToolCallBlock)]


def to_langchain_message(message: ChatMessage) -> BaseMessage:
    """Convert a LlamaIndex `ChatMessage` to the matching LangChain message.

    Args:
        message: The LlamaIndex message.

    Returns:
        A `SystemMessage`, `HumanMessage`, `AIMessage` (with its tool calls) or
        `ToolMessage`.

    Raises:
        ValueError: For a tool message without `tool_call_id` in `additional_kwargs`.
    """
    content = _to_langchain_content(message)
    extra = dict(message.additional_kwargs.get(LANGCHAIN_KWARGS_KEY) or {})
    role = message.role
    if role in _SYSTEM_ROLES:
        return SystemMessage(content=content, additional_kwargs=extra)
    if role in _ASSISTANT_ROLES:
        return AIMessage(
            content=content, additional_kwargs=extra, tool_calls=tool_calls_of(message)
        )
    if role == MessageRole.TOOL:
        tool_call_id = message.additional_kwargs.get("tool_call_id")
        if not tool_call_id:
            msg = "A LlamaIndex tool message needs additional_kwargs['tool_call_id']."
            raise ValueError(msg)
        name = message.additional_kwargs.get("name")
        return ToolMessage(content=content, tool_call_id=str(tool_call_id), name=name)
    if role == MessageRole.FUNCTION:
        name = str(message.additional_kwargs.get("name", ""))
        return FunctionMessage(content=content, name=name)
    return HumanMessage(content=content, additional_kwargs=extra)


def to_langchain_messages(messages: Sequence[ChatMessage]) -> list[BaseMessage]:
    """Convert LlamaIndex chat messages to LangChain messages.

    Args:
        messages: The LlamaIndex messages.

    Returns:
        The LangChain messages, in order.
    """
    return [to_langchain_message(message) for message in messages]


# -- LangChain → LlamaIndex -----------------------------------------------------------------


def _from_langchain_block(block: str | dict[str, Any]) -> ContentBlock | None:
    """Convert one LangChain content block to a LlamaIndex block (`None` to drop it)."""
    if isinstance(block, str):
        return TextBlock(text=block)
    kind = block.get("type")
    mime = block.get("mime_type")
    data = block["base64"].encode("ascii") if block.get("base64") else None
    url = block.get("url")
    if kind == "text":
        return TextBlock(text=str(block.get("text", "")))
    if kind == "image_url":  # OpenAI chat-completions style
        image_url = block.get("image_url")
        url = image_url.get("url") if isinstance(image_url, dict) else image_url
        kind = "image"
        if isinstance(url, str) and url.startswith("data:") and ";base64," in url:
            mime, encoded = url[len("data:") :].split(";base64,", 1)
            data, url = encoded.encode("ascii"), None
    if kind == "image":
        return ImageBlock(image=data, url=url, image_mimetype=mime)
    if kind == "audio":
        audio_format = mime.split("/", 1)[1] if isinstance(mime, str) and "/" in mime else None
        return AudioBlock(audio=data, url=url, format=audio_format)
    if kind == "video":
        return VideoBlock(video=data, url=url, video_mimetype=mime)
    if kind == "file":
        return DocumentBlock(data=data, url=url, document_mimetype=mime)
    if kind in {"reasoning", "thinking"}:
        return ThinkingBlock(content=block.get("reasoning") or block.get("thinking"))
    return None


def _from_langchain_content(content: str | list[str | dict[str, Any]]) -> list[ContentBlock]:
    """Convert LangChain message content to LlamaIndex blocks."""
    if isinstance(content, str):
        return [TextBlock(text=content)]
    return [converted for b in content if (converted := _from_langchain_block(b)) is not None]


def to_llamaindex_message(message: BaseMessage) -> ChatMessage:
    """Convert a LangChain message to a LlamaIndex `ChatMessage`.

    Args:
        message: The LangChain message (an `AIMessageChunk` works too).

    Returns:
        The LlamaIndex message. An AI message's tool calls are in
        `additional_kwargs["tool_calls"]` (LangChain `ToolCall` dicts) and in
        `ToolCallBlock`s; a tool message carries `tool_call_id` (and `name`) in
        `additional_kwargs`; LangChain `additional_kwargs` are kept under
        `additional_kwargs["langchain_additional_kwargs"]`.
    """
    blocks = _from_langchain_content(message.content)
    kwargs: dict[str, Any] = {}
    if message.additional_kwargs:
        kwargs[LANGCHAIN_KWARGS_KEY] = dict(message.additional_kwargs)
    role = MessageRole.USER
    if isinstance(message, SystemMessage):
        role = MessageRole.SYSTEM
    elif isinstance(message, AIMessage):
        role = MessageRole.ASSISTANT
        calls = [dict(call) for call in message.tool_calls]
        if calls:
            kwargs["tool_calls"] = calls
            if blocks == [TextBlock(text="")]:
                blocks = []
            blocks.extend(
                ToolCallBlock(tool_call_id=c["id"], tool_name=c["name"], tool_kwargs=c["args"])
                for c in calls
            )
    elif isinstance(message, ToolMessage):
        role = MessageRole.TOOL
        kwargs["tool_call_id"] = message.tool_call_id
        if message.name:
            kwargs["name"] = message.name
    elif isinstance(message, FunctionMessage):
        role = MessageRole.FUNCTION
        kwargs["name"] = message.name
    elif isinstance(message, LCChatMessage) and message.role in MessageRole._value2member_map_:
        role = MessageRole(message.role)
    return ChatMessage(role=role, blocks=blocks, additional_kwargs=kwargs)


def to_llamaindex_messages(messages: Sequence[BaseMessage]) -> list[ChatMessage]:
    """Convert LangChain messages to LlamaIndex chat messages.

    Args:
        messages: The LangChain messages.

    Returns:
        The LlamaIndex messages, in order.
    """
    return [to_llamaindex_message(message) for message in messages]
