"""LangChain messages and tools in GigaChat's v1 chat form.

GigaChat's chat API is function-oriented (the OpenAI API before ``tools``):

* the assistant calls at most **one** function per message (``function_call`` with its
  ``arguments`` as a JSON *object*); an ``AIMessage`` with several tool calls is sent as
  one assistant message per call, each followed by its result, in order — what a model
  that calls one function at a time would have produced;
* a result is a ``function`` message naming the function, its content JSON text (a text
  result becomes ``{"result": "..."}``);
* ``functions_state_id``, which ties a function result to the call that asked for it, goes
  back with the assistant message it came with (``additional_kwargs``);
* one system message, first: several are joined into one, in order;
* images are files uploaded beforehand, referenced by id (``attachments``).

Function schemas are reduced to what the API takes (:func:`gigachat_schema`): it refuses an
object without ``properties`` (langchain-gigachat's known 422 on nested models), unions,
``$ref``; polyvox inlines references, collapses ``Optional`` and refuses real unions with a
message naming the field.
"""

from __future__ import annotations

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
    ToolMessage,
)
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.json_schema import dereference_refs

__all__ = [
    "GigaChatSchemaError",
    "gigachat_schema",
    "to_gigachat_function",
    "to_gigachat_function_call",
    "to_gigachat_messages",
]

_FUNCTION_EXTRAS = ("few_shot_examples", "return_parameters")
_DROPPED = frozenset({"title", "$schema", "$defs", "definitions", "additionalProperties",
                      "strict"})  # fmt: skip


class GigaChatSchemaError(ValueError):
    """A tool's parameter schema uses something GigaChat's functions cannot express."""


def _text(content: Any) -> tuple[str, list[str]]:
    """The text of a message's content, and the ids of the files it attaches."""
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    files: list[str] = []
    for block in content or ():
        if isinstance(block, str):
            texts.append(block)
            continue
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text" or (kind is None and "text" in block):
            texts.append(str(block.get("text") or ""))
        elif kind in ("image", "file", "audio") and block.get("file_id"):
            files.append(str(block["file_id"]))
        elif kind in ("image_url", "audio_url", "document_url"):
            inner = block.get(kind)
            if isinstance(inner, Mapping) and inner.get("giga_id"):
                files.append(str(inner["giga_id"]))
            else:
                raise ValueError(_UPLOAD_FIRST)
        elif kind in ("image", "file", "audio"):
            raise ValueError(_UPLOAD_FIRST)
    return "\n".join(t for t in texts if t), files


_UPLOAD_FIRST = (
    "GigaChat takes images and files only as files uploaded beforehand: upload it with the "
    "gigachat SDK (GigaChat(...).client.upload_file(open(path, 'rb'))) and send "
    "{'type': 'image', 'file_id': <its id>} in the message content"
)


def _result_text(content: Any) -> str:
    """A function result as the JSON text GigaChat requires (an object)."""
    text, _ = _text(content) if not isinstance(content, str) else (content, [])
    try:
        parsed = json.loads(text)
    except ValueError:
        return json.dumps({"result": text}, ensure_ascii=False)
    if isinstance(parsed, dict):
        return text
    return json.dumps({"result": parsed}, ensure_ascii=False)


def _call_of(tool_call: Mapping[str, Any]) -> dict[str, Any]:
    args = tool_call.get("args")
    return {"name": tool_call["name"], "arguments": dict(args) if isinstance(args, Mapping) else {}}


def _assistant(message: AIMessage, text: str, call: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant", "content": text}
    if call is not None:
        out["function_call"] = _call_of(call)
    elif isinstance(legacy := message.additional_kwargs.get("function_call"), Mapping):
        arguments = legacy.get("arguments")
        if isinstance(arguments, str):
            arguments = json.loads(arguments or "{}")
        out["function_call"] = {"name": legacy.get("name"), "arguments": arguments or {}}
    if state := message.additional_kwargs.get("functions_state_id"):
        out["functions_state_id"] = state
    return out


def to_gigachat_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Convert a LangChain conversation to GigaChat's ``messages``.

    Args:
        messages: The conversation.

    Returns:
        The messages, one system message first (when there is any).

    Raises:
        ValueError: For images or files not uploaded to GigaChat, or an unknown message.
    """
    system: list[str] = []
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name
    index = 0
    while index < len(messages):
        message = messages[index]
        index += 1
        if isinstance(message, SystemMessage):
            system.append(_text(message.content)[0])
        elif isinstance(message, HumanMessage):
            text, files = _text(message.content)
            files += list(message.additional_kwargs.get("attachments") or ())
            out.append(
                {"role": "user", "content": text, **({"attachments": files} if files else {})}
            )
        elif isinstance(message, AIMessage):
            text, _ = _text(message.content)
            calls = list(message.tool_calls)
            for call in calls:
                names[str(call.get("id"))] = call["name"]
            if len(calls) <= 1:
                out.append(_assistant(message, text, calls[0] if calls else None))
                continue
            # Several calls: one assistant message per call, each followed by its result.
            results: dict[str, ToolMessage] = {}
            while index < len(messages) and isinstance(messages[index], ToolMessage):
                result = messages[index]
                assert isinstance(result, ToolMessage)
                results[result.tool_call_id] = result
                index += 1
            for number, call in enumerate(calls):
                out.append(_assistant(message, text if number == 0 else "", call))
                if (found := results.pop(str(call.get("id")), None)) is not None:
                    out.append(_function(found, names))
            out.extend(_function(left, names) for left in results.values())
        elif isinstance(message, ToolMessage | FunctionMessage):
            out.append(_function(message, names))
        elif isinstance(message, ChatMessage):
            out.append({"role": message.role, "content": _text(message.content)[0]})
        else:
            raise ValueError(f"GigaChat cannot take a {type(message).__name__}")
    if system:
        out.insert(0, {"role": "system", "content": "\n\n".join(s for s in system if s)})
    return out


def _function(message: ToolMessage | FunctionMessage, names: Mapping[str, str]) -> dict[str, Any]:
    name = message.name
    if isinstance(message, ToolMessage):
        name = name or names.get(message.tool_call_id)
    result: dict[str, Any] = {"role": "function", "content": _result_text(message.content)}
    if name:
        result["name"] = name
    return result


# ---- functions ------------------------------------------------------------------------


def gigachat_schema(schema: Mapping[str, Any], where: str = "parameters") -> dict[str, Any]:
    """Reduce a JSON schema to what GigaChat's function parameters take.

    ``$ref`` s are inlined, ``Optional[X]`` (``anyOf`` with ``null``) becomes ``X``, a
    one-element ``allOf`` its element; ``title``, ``$defs`` and ``additionalProperties`` are
    dropped; every object gets ``properties`` (``{}`` for a free-form ``dict``).

    Args:
        schema: The JSON schema.
        where: The path of the schema, named in errors.

    Returns:
        The reduced schema.

    Raises:
        GigaChatSchemaError: For a union of several types, which GigaChat cannot express.
    """
    resolved: Any = schema
    if "$defs" in schema or "definitions" in schema:
        resolved = dereference_refs(dict(schema))
    reduced: dict[str, Any] = _reduce(resolved, where)
    return reduced


def _reduce(node: Any, where: str) -> Any:
    if isinstance(node, list):
        return [_reduce(item, where) for item in node]
    if not isinstance(node, Mapping):
        return node
    node = dict(node)
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = [
                o for o in node.pop(key) if not (isinstance(o, Mapping) and o.get("type") == "null")
            ]
            if len(options) != 1:
                kinds = ", ".join(str(o.get("type", o)) for o in options if isinstance(o, Mapping))
                raise GigaChatSchemaError(
                    f"GigaChat functions take no unions: {where} may be any of {kinds}. "
                    "Give the field one type (or split the tool in two)."
                )
            node = {**options[0], **{k: v for k, v in node.items() if k == "description"}}
    if "allOf" in node:
        parts = node.pop("allOf")
        if len(parts) != 1:
            raise GigaChatSchemaError(
                f"GigaChat functions take no allOf with several parts ({where})"
            )
        node = {**parts[0], **node}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or (key == "default" and value is None):
            continue
        if key == "properties" and isinstance(value, Mapping):
            out[key] = {name: _reduce(sub, f"{where}.{name}") for name, sub in value.items()}
        elif key == "items":
            out[key] = _reduce(value, f"{where}[]")
        else:
            out[key] = value
    if out.get("type") == "object" and not isinstance(out.get("properties"), Mapping):
        out["properties"] = {}
    return out


def to_gigachat_function(tool: Any) -> dict[str, Any]:
    """Convert a tool (function, pydantic model, LangChain tool, OpenAI or GigaChat dict).

    Args:
        tool: The tool.

    Returns:
        ``{"name", "description", "parameters"}``, plus ``few_shot_examples`` and
        ``return_parameters`` when a GigaChat dict gives them.
    """
    spec = convert_to_openai_tool(tool)["function"]
    name = str(spec["name"])
    parameters = spec.get("parameters") or {"type": "object", "properties": {}}
    function: dict[str, Any] = {
        "name": name,
        "description": str(spec.get("description") or ""),
        "parameters": gigachat_schema(parameters, name),
    }
    if isinstance(tool, Mapping):
        inner = tool.get("function")
        source: Mapping[str, Any] = inner if isinstance(inner, Mapping) else tool
        for extra in _FUNCTION_EXTRAS:
            if extra in source:
                function[extra] = source[extra]
    return function


def to_gigachat_function_call(
    choice: Any, functions: Sequence[Mapping[str, Any]], *, fallback_to_auto: bool
) -> Any:
    """LangChain's ``tool_choice`` as GigaChat's ``function_call``.

    Args:
        choice: ``"auto"``, ``"none"``, a function's name, ``True``, ``"any"`` /
            ``"required"``, or a dict (``{"name": ...}`` or OpenAI's form).
        functions: The bound functions.
        fallback_to_auto: What ``"any"`` does with several functions, which GigaChat cannot
            force: ``"auto"`` (with a warning by the caller) when true, else an error.

    Returns:
        ``"auto"``, ``"none"``, ``{"name": ...}`` or ``None`` (the API's default).

    Raises:
        ValueError: For a name that is not bound, or ``"any"`` with several functions.
    """
    names = [str(f["name"]) for f in functions]
    if choice is None or choice is False:
        return None
    if isinstance(choice, Mapping):
        inner = choice.get("function")
        choice = (inner if isinstance(inner, Mapping) else choice).get("name")
    if choice in ("auto", "none"):
        return choice
    if choice in (True, "any", "required"):
        if len(names) == 1:
            return {"name": names[0]}
        if fallback_to_auto:
            return "auto"
        raise ValueError(
            f"GigaChat can force one named function, not 'any' of several ({', '.join(names)}): "
            "name the function, or pass allow_any_tool_choice_fallback=True to send 'auto'"
        )
    if choice not in names:
        raise ValueError(f"tool_choice={choice!r} names no bound function; bound are {names}")
    return {"name": choice}
