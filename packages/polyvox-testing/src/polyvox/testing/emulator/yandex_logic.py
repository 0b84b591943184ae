"""The Yandex foundation-models API at the level of its JSON messages, for both transports.

Requests and responses are the protobuf messages in their JSON form (camelCase, int64 as
strings), which is what the REST API sends and what the gRPC servicer gets from
``json_format.MessageToDict``: one implementation answers both. Requests are validated as
the API validates them (unknown fields refused, ``modelUri`` required); answers come from
the script queue, else the auto behaviour; the text of a streamed answer is cumulative,
as Yandex streams it. Faults map to gRPC status codes and REST ``{"error": {grpcCode,
httpCode, message, httpStatus, details}}`` bodies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from polyvox.testing.emulator.auto import auto_reply
from polyvox.testing.emulator.conversation import ChatMessage, ChatRequest, ToolSpec
from polyvox.testing.emulator.embedding_vectors import embed_text
from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.outcome import Outcome, make_outcome
from polyvox.testing.emulator.protocol import default_error_message
from polyvox.testing.emulator.replies import Reply
from polyvox.testing.emulator.tokens import count_prompt_tokens, split_tokens

__all__ = [
    "EMBEDDING_DIMENSIONS",
    "GRPC_CODES",
    "MODEL_VERSION",
    "InvalidRequest",
    "completion_frames",
    "embedding_response",
    "error_body",
    "grpc_code",
    "model_of",
    "parse_completion",
    "tokenize_response",
]

MODEL_VERSION = "23.10.2024"
"""The ``modelVersion`` every answer reports."""

EMBEDDING_DIMENSIONS = 256
"""The size of ``text-search-doc`` / ``text-search-query`` vectors."""

GRPC_CODES = {
    400: ("INVALID_ARGUMENT", 3), 401: ("UNAUTHENTICATED", 16), 403: ("PERMISSION_DENIED", 7),
    404: ("NOT_FOUND", 5), 408: ("DEADLINE_EXCEEDED", 4), 409: ("ALREADY_EXISTS", 6),
    429: ("RESOURCE_EXHAUSTED", 8), 499: ("CANCELLED", 1), 500: ("INTERNAL", 13),
    501: ("UNIMPLEMENTED", 12), 503: ("UNAVAILABLE", 14), 504: ("DEADLINE_EXCEEDED", 4),
}  # fmt: skip
"""HTTP status → (gRPC status name, number), as Yandex's API gateway maps them."""

_REQUEST_FIELDS = frozenset(
    {"modelUri", "completionOptions", "messages", "tools", "jsonObject", "jsonSchema",
     "parallelToolCalls", "toolChoice"}
)  # fmt: skip
_OPTION_FIELDS = frozenset({"stream", "temperature", "maxTokens", "reasoningOptions"})
_MESSAGE_FIELDS = frozenset({"role", "text", "toolCallList", "toolResultList"})
_ROLES = frozenset({"system", "user", "assistant"})
_STATUSES = {"stop": "FINAL", "length": "TRUNCATED_FINAL", "tool_calls": "TOOL_CALLS",
             "content_filter": "CONTENT_FILTER"}  # fmt: skip


class InvalidRequest(Exception):  # noqa: N818  (the API's name for it)
    """A request the API refuses with ``INVALID_ARGUMENT``: the message."""


def grpc_code(status: int) -> tuple[str, int]:
    """The gRPC status of an HTTP status (``INTERNAL`` for one without its own).

    Args:
        status: The HTTP status.

    Returns:
        ``(name, number)``.
    """
    return GRPC_CODES.get(status, ("INTERNAL", 13) if status >= 500 else ("UNKNOWN", 2))


def error_body(status: int, fault: Fault) -> dict[str, Any]:
    """The REST error envelope for a fault.

    Args:
        status: The HTTP status.
        fault: The fault.

    Returns:
        ``{"error": {"grpcCode", "httpCode", "message", "httpStatus", "details"}}``.
    """
    name, number = grpc_code(status)
    message = fault.message or default_error_message(status)
    return {"error": {"grpcCode": number, "httpCode": status, "message": message,
                      "httpStatus": name.replace("_", " ").title(), "details": []}}  # fmt: skip


def model_of(uri: str) -> str:
    """The short model name of a URI (``gpt://f/yandexgpt/latest`` → ``yandexgpt``).

    Args:
        uri: The model URI.

    Returns:
        The name, with a branch other than ``latest`` kept (``yandexgpt/rc``).
    """
    path = uri.split("://", 1)[1].split("/", 1)[1] if "://" in uri and uri.count("/") >= 3 else uri
    return path.strip("/").removesuffix("/latest")


def _check(value: Any, known: frozenset[str], where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"{where}: expected an object")
    for key in value:
        if key not in known:
            raise InvalidRequest(f"{where}: unknown field {key!r}")
    return value


def _messages(raw: Any) -> list[ChatMessage]:
    if not isinstance(raw, list) or not raw:
        raise InvalidRequest("messages: at least one message is required")
    out: list[ChatMessage] = []
    for index, item in enumerate(raw):
        message = _check(item, _MESSAGE_FIELDS, f"messages[{index}]")
        role = str(message.get("role") or "")
        if role not in _ROLES:
            raise InvalidRequest(
                f"messages[{index}].role: {role!r} is not system, user or assistant"
            )
        results = (message.get("toolResultList") or {}).get("toolResults") or []
        calls = (message.get("toolCallList") or {}).get("toolCalls") or []
        for result in results:
            function = result.get("functionResult") or {}
            out.append(ChatMessage(role="tool", text=str(function.get("content", "")),
                                   name=function.get("name")))  # fmt: skip
        if calls:
            names = [str((c.get("functionCall") or {}).get("name")) for c in calls]
            out.append(ChatMessage(role="assistant", text=f"called {', '.join(names)}"))
        elif not results:
            out.append(ChatMessage(role=role, text=str(message.get("text", ""))))
    return out


def _tools(raw: Any) -> list[ToolSpec]:
    tools: list[ToolSpec] = []
    for index, tool in enumerate(raw or ()):
        function = (tool or {}).get("function") if isinstance(tool, Mapping) else None
        if not isinstance(function, Mapping) or not function.get("name"):
            raise InvalidRequest(f"tools[{index}].function.name: a name is required")
        parameters = _ordered(function.get("parameters") or {})
        tools.append(ToolSpec(str(function["name"]), str(function.get("description") or ""),
                              parameters))  # fmt: skip
    return tools


def _ordered(schema: Any) -> Any:
    """A schema's properties in the order its ``required`` list names them.

    ``parameters`` travels as a protobuf ``Struct``, a map, so gRPC loses the order of the
    properties; the auto behaviour fills arguments in property order, which should be the
    declaration order (what ``required`` keeps, being a list).
    """
    if not isinstance(schema, Mapping):
        return schema
    out = {key: _ordered(value) for key, value in schema.items()}
    properties, required = out.get("properties"), out.get("required")
    if isinstance(properties, Mapping) and isinstance(required, list):
        first = [name for name in required if name in properties]
        out["properties"] = {name: properties[name] for name in first} | {
            name: value for name, value in properties.items() if name not in first
        }
    return out


def parse_completion(body: Any, *, stream: bool | None = None) -> ChatRequest:
    """Validate a ``CompletionRequest`` (JSON form) and read it into the neutral form.

    Args:
        body: The request.
        stream: Force streaming on or off (``None`` reads ``completionOptions.stream``).

    Returns:
        The neutral request (``model`` is the short name).

    Raises:
        InvalidRequest: With the API's message.
    """
    request = _check(body, _REQUEST_FIELDS, "request")
    uri = str(request.get("modelUri") or "")
    if "://" not in uri:
        raise InvalidRequest(
            "modelUri: a model URI like gpt://<folder>/yandexgpt/latest is required"
        )
    options = _check(request.get("completionOptions") or {}, _OPTION_FIELDS, "completionOptions")
    temperature = options.get("temperature")
    if temperature is not None and not 0 <= float(temperature) <= 1:
        raise InvalidRequest("completionOptions.temperature: must be between 0 and 1")
    limit = options.get("maxTokens")
    tools = _tools(request.get("tools"))
    choice_raw = request.get("toolChoice") or {}
    choice: Literal["auto", "none", "required"] = "auto"
    forced = choice_raw.get("functionName")
    mode = str(choice_raw.get("mode") or "AUTO")
    if mode == "NONE":
        choice = "none"
    elif mode == "REQUIRED" or forced:
        choice = "required"
    schema = (request.get("jsonSchema") or {}).get("schema")
    response_format: Literal["text", "json_object", "json_schema"] = "text"
    if isinstance(schema, Mapping):
        response_format = "json_schema"
    elif request.get("jsonObject"):
        response_format = "json_object"
    extra = [json.dumps([t.parameters for t in tools])] if tools else []
    return ChatRequest(
        model=model_of(uri),
        messages=_messages(request.get("messages")),
        tools=tools,
        tool_choice=choice,
        forced_tool=str(forced) if forced else None,
        parallel_tool_calls=request.get("parallelToolCalls") is not False,
        response_format=response_format,
        response_schema=schema if isinstance(schema, Mapping) else None,
        max_tokens=int(limit) if limit is not None else None,
        stream=bool(options.get("stream")) if stream is None else stream,
        extra_prompt_texts=extra,
    )


def _usage(outcome: Outcome, completion: int | None = None) -> dict[str, Any]:
    done = outcome.completion_tokens if completion is None else completion
    usage: dict[str, Any] = {
        "inputTextTokens": str(outcome.prompt_tokens),
        "completionTokens": str(done),
        "totalTokens": str(outcome.prompt_tokens + done),
    }
    if outcome.reasoning_tokens:
        usage["completionTokensDetails"] = {"reasoningTokens": str(outcome.reasoning_tokens)}
    return usage


def _frame(message: Mapping[str, Any], status: str, usage: Mapping[str, Any]) -> dict[str, Any]:
    return {"alternatives": [{"message": dict(message), "status": f"ALTERNATIVE_STATUS_{status}"}],
            "usage": dict(usage), "modelVersion": MODEL_VERSION}  # fmt: skip


def completion_frames(
    request: ChatRequest, reply: Reply | None, fault: Fault | None
) -> list[dict[str, Any]]:
    """The ``CompletionResponse`` messages that answer a request.

    Args:
        request: The neutral request.
        reply: The scripted reply (``None``: the auto behaviour answers).
        fault: The pending fault (a content filter blocks the answer).

    Returns:
        One final message, or, streamed, cumulative ``PARTIAL`` messages then the final one.
    """
    outcome = make_outcome(reply or auto_reply(request), request, fault)
    status = _STATUSES.get(outcome.finish_reason, "FINAL")
    if outcome.tool_calls and status != "CONTENT_FILTER":
        calls = [
            {"functionCall": {"name": c.name, "arguments": dict(c.args)}}
            for c in outcome.tool_calls
        ]
        final_message: dict[str, Any] = {"role": "assistant", "toolCallList": {"toolCalls": calls}}
    else:
        final_message = {"role": "assistant", "text": outcome.content or ""}
    final = _frame(final_message, status, _usage(outcome))
    if not request.stream or "toolCallList" in final_message:
        return [final]
    frames: list[dict[str, Any]] = []
    text = ""
    for index, token in enumerate(split_tokens(outcome.content or "")[:-1]):
        text += token
        partial = {"role": "assistant", "text": text}
        frames.append(_frame(partial, "PARTIAL", _usage(outcome, index + 1)))
    return [*frames, final]


def tokenize_response(texts: Sequence[str]) -> dict[str, Any]:
    """A ``TokenizeResponse`` for texts.

    Args:
        texts: The texts counted.

    Returns:
        ``{"tokens": [{"id", "text", "special"}], "modelVersion"}``.
    """
    tokens = [{"id": str(i + 1), "text": t, "special": False}
              for i, t in enumerate(t for text in texts for t in split_tokens(text))]  # fmt: skip
    return {"tokens": tokens, "modelVersion": MODEL_VERSION}


def completion_texts(request: ChatRequest) -> list[str]:
    """The texts a completion request's tokens are counted over (messages and tools).

    Args:
        request: The neutral request.

    Returns:
        The texts.
    """
    return [m.text for m in request.messages] + list(request.extra_prompt_texts)


def embedding_response(body: Any) -> dict[str, Any]:
    """A ``TextEmbeddingResponse`` for a ``TextEmbeddingRequest``.

    Queries and documents land near, not on, each other (their models differ).

    Args:
        body: ``{"modelUri", "text", "dim"?}``.

    Returns:
        ``{"embedding", "numTokens", "modelVersion"}``.

    Raises:
        InvalidRequest: For an unknown field, a missing URI or an unknown model.
    """
    request = _check(body, frozenset({"modelUri", "text", "dim"}), "request")
    uri = str(request.get("modelUri") or "")
    if not uri.startswith("emb://"):
        raise InvalidRequest(
            "modelUri: an embeddings URI like emb://<folder>/text-search-doc/latest is required"
        )
    model = model_of(uri).split("/")[0]
    if model not in ("text-search-doc", "text-search-query"):
        raise InvalidRequest(f"modelUri: unknown embeddings model {model!r}")
    text = str(request.get("text") or "")
    size = int(request.get("dim") or EMBEDDING_DIMENSIONS)
    vector = embed_text(f"{text} {model.rsplit('-', 1)[1]}", size)
    count = count_prompt_tokens([text])
    return {"embedding": list(vector), "numTokens": str(count), "modelVersion": MODEL_VERSION}
