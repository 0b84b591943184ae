"""LangChain messages and tools to the Gemini API's ``contents``, ``systemInstruction`` and tools.

:func:`to_gemini_contents` writes the request the SDK takes (snake_case dicts, which it
validates into its types): system messages become the ``system_instruction``; human
messages ``user`` contents whose parts are text and images (``inline_data`` for base64
and ``data:`` URLs, ``file_data`` for other URLs); AI messages ``model`` contents with
their text and one ``function_call`` part per tool call; tool results ``function_response``
parts, consecutive ones in one ``user`` content, as the API wants them.

Gemini 3 refuses a tool loop whose function calls come back without the
``thoughtSignature`` they were sent with: the signatures an answer carried are kept in
its ``additional_kwargs`` (:data:`SIGNATURES_KEY`, by tool call id, and
:data:`TEXT_SIGNATURE_KEY` for a text part's) and put back on the parts here.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

__all__ = [
    "SIGNATURES_KEY",
    "TEXT_SIGNATURE_KEY",
    "to_function_declarations",
    "to_gemini_contents",
    "to_tool_config",
]

SIGNATURES_KEY = "__gemini_function_call_thought_signatures__"
"""``additional_kwargs`` key of an answer's function-call signatures: tool call id → base64
(the key langchain-google-genai uses, so conversations move between the two)."""

TEXT_SIGNATURE_KEY = "__gemini_text_thought_signature__"
"""``additional_kwargs`` key of the signature on an answer's text part (base64)."""

_SKIPPED_BLOCKS = frozenset(
    {"tool_call", "tool_call_chunk", "invalid_tool_call", "reasoning", "thinking", "tool_use"}
)
_MEDIA_BLOCKS = frozenset({"image", "file", "audio", "video", "media"})


def _decode(data: str | bytes) -> bytes:
    if isinstance(data, bytes):
        return data
    try:
        return base64.b64decode(data, validate=True)
    except ValueError as exc:
        msg = "a base64 content block's data is not valid base64"
        raise ValueError(msg) from exc


def _from_url(url: str, mime_type: str | None) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        header, encoded = url[len("data:") :].split(";base64,", 1)
        return {"inline_data": {"mime_type": mime_type or header, "data": _decode(encoded)}}
    guessed = mime_type or mimetypes.guess_type(url.split("?", 1)[0])[0] or "image/jpeg"
    return {"file_data": {"file_uri": url, "mime_type": guessed}}


def _part(block: str | Mapping[str, Any]) -> dict[str, Any] | None:
    """One content block as a Gemini part (``None`` for blocks carried elsewhere)."""
    if isinstance(block, str):
        return {"text": block}
    kind = block.get("type")
    if kind == "text":
        return {"text": str(block.get("text") or "")}
    if kind in _SKIPPED_BLOCKS:
        return None
    if kind == "image_url":
        image = block.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        return _from_url(str(url), None)
    if kind in _MEDIA_BLOCKS:
        mime = block.get("mime_type") or block.get("mimeType")
        data = block.get("base64") or (block.get("data") if kind == "media" else None)
        if data is None and block.get("source_type") == "base64":
            data = block.get("data")
        if data is not None:
            if not mime:
                msg = f"a base64 {kind} block needs its mime_type for Gemini"
                raise ValueError(msg)
            return {"inline_data": {"mime_type": mime, "data": _decode(data)}}
        url = block.get("url") or block.get("file_uri")
        if url is None and block.get("source_type") == "url":
            url = block.get("data")
        if url is not None:
            return _from_url(str(url), mime)
    msg = (
        f"Gemini cannot take a {kind!r} content block: use text, images "
        "({'type': 'image', 'base64': ..., 'mime_type': ...} or image_url) or files"
    )
    raise ValueError(msg)


def _parts(content: str | list[str | dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    return [p for block in content if (p := _part(block)) is not None]


def _signature(value: Any) -> bytes | None:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str) and value:
        try:
            return base64.b64decode(value)
        except ValueError:
            return None
    return None


def _model_parts(message: AIMessage) -> list[dict[str, Any]]:
    parts = [p for p in _parts(message.content) if p.get("text") != ""]
    text_signature = _signature(message.additional_kwargs.get(TEXT_SIGNATURE_KEY))
    if text_signature is not None:
        for part in parts:
            if "text" in part:
                part["thought_signature"] = text_signature
                break
    signatures = message.additional_kwargs.get(SIGNATURES_KEY) or {}
    for call in message.tool_calls:
        call_part: dict[str, Any] = {"function_call": {"name": call["name"], "args": call["args"]}}
        signature = _signature(signatures.get(call.get("id")))
        if signature is not None:
            call_part["thought_signature"] = signature
        parts.append(call_part)
    return parts


def _tool_response(message: ToolMessage | FunctionMessage, names: Mapping[str, str]) -> Any:
    call_id = getattr(message, "tool_call_id", None)
    name = message.name or names.get(call_id or "") or "tool"
    content = message.content
    if isinstance(content, list):
        content = "\n".join(
            str(b.get("text", "")) if isinstance(b, Mapping) else str(b) for b in content
        )
    response: Any
    try:
        response = json.loads(content)
    except (TypeError, ValueError):
        response = content
    if not isinstance(response, dict):
        response = {"result": response}
    if getattr(message, "status", "success") == "error":
        response = {"error": response.get("result", response)}
    return {"function_response": {"name": name, "response": response}}


def to_gemini_contents(
    messages: Sequence[BaseMessage],
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Convert a LangChain conversation to Gemini ``contents`` and ``system_instruction``.

    Args:
        messages: The conversation.

    Returns:
        The contents and the system instruction (``None`` when there is no system text).

    Raises:
        ValueError: For a message or content block Gemini cannot take.
    """
    contents: list[dict[str, Any]] = []
    system: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for message in messages:
        if isinstance(message, SystemMessage) or (
            isinstance(message, ChatMessage) and message.role in ("system", "developer")
        ):
            system += _parts(message.content)
        elif isinstance(message, AIMessage):
            names.update({str(c["id"]): c["name"] for c in message.tool_calls if c.get("id")})
            parts = _model_parts(message)
            if parts:
                contents.append({"role": "model", "parts": parts})
        elif isinstance(message, ToolMessage | FunctionMessage):
            part = _tool_response(message, names)
            last = contents[-1] if contents else None
            if (
                last
                and last["role"] == "user"
                and all("function_response" in p for p in last["parts"])
            ):
                last["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
        elif isinstance(message, HumanMessage | ChatMessage):
            parts = _parts(message.content)
            if parts:
                contents.append({"role": "user", "parts": parts})
        else:
            msg = f"Gemini contents cannot be made from a {type(message).__name__}"
            raise ValueError(msg)
    instruction = {"parts": system} if system else None
    return contents, instruction


def to_function_declarations(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Gemini ``tools`` from OpenAI-form tools (what ``bind_tools`` binds).

    The JSON schema of each tool's arguments goes as ``parameters_json_schema``, which the
    API takes as it is; a tool that is already in Gemini's form passes through.

    Args:
        tools: The bound tools.

    Returns:
        One ``{"function_declarations": [...]}`` tool, plus any Gemini-form tools given.
    """
    declarations: list[dict[str, Any]] = []
    native: list[dict[str, Any]] = []
    for tool in tools:
        function = tool.get("function") if tool.get("type") == "function" else None
        if not isinstance(function, Mapping):
            native.append(dict(tool))
            continue
        declaration: dict[str, Any] = {
            "name": function["name"],
            "description": function.get("description") or "",
        }
        parameters = function.get("parameters")
        if parameters:
            declaration["parameters_json_schema"] = parameters
        declarations.append(declaration)
    out = [{"function_declarations": declarations}] if declarations else []
    return out + native


def to_tool_config(tool_choice: Any) -> dict[str, Any] | None:
    """Gemini's ``tool_config`` for an OpenAI-form ``tool_choice``.

    ``"auto"`` is ``AUTO``, ``"none"`` ``NONE``, ``"required"`` ``ANY`` (some function must
    be called), a named function ``ANY`` with only that name allowed.

    Args:
        tool_choice: From :func:`polyvox.core.chat_model.format_tool_choice`.

    Returns:
        The config, or ``None`` to leave the API's default (``AUTO``).
    """
    if tool_choice is None:
        return None
    if isinstance(tool_choice, Mapping):
        function = tool_choice.get("function") or tool_choice
        name = function.get("name") if isinstance(function, Mapping) else None
        if not name:
            msg = f"tool_choice {tool_choice!r} names no function"
            raise ValueError(msg)
        config = {"mode": "ANY", "allowed_function_names": [name]}
    else:
        modes = {"auto": "AUTO", "none": "NONE", "required": "ANY", "any": "ANY"}
        mode = modes.get(str(tool_choice).lower())
        if mode is None:
            msg = f"tool_choice={tool_choice!r}: use 'auto', 'none', 'any' or a tool's name"
            raise ValueError(msg)
        config = {"mode": mode}
    return {"function_calling_config": config}
