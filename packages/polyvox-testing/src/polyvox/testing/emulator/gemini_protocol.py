"""The Gemini API protocol, as the official ``google-genai`` SDK speaks it.

``POST /{v1|v1beta}/models/{model}:generateContent``, ``:streamGenerateContent?alt=sse``,
``:countTokens``, ``:embedContent`` and ``:batchEmbedContents`` (google-genai 3.x calls
``/v1``, earlier SDKs ``/v1beta``; both are served). Vertex AI's express-mode paths
(``/{version}/publishers/google/models/...`` and
``/{version}/projects/{p}/locations/{l}/publishers/google/models/...``) answer the same.
Point the SDK at the server root: ``genai.Client(api_key=..., http_options={"base_url":
emu.url})``.

The key goes in ``x-goog-api-key`` (or ``?key=``): none answers 403 ``PERMISSION_DENIED``;
one starting with ``invalid`` answers what the API answers a bad key, 400
``INVALID_ARGUMENT`` with the ``ErrorInfo`` reason ``API_KEY_INVALID``. A model whose name
starts with ``no-such-`` answers 404 ``NOT_FOUND``.

Requests are validated as the API validates them: a field it does not know (in the
request, ``generationConfig``, ``thinkingConfig``, a content or a part) answers 400
``Invalid JSON payload received. Unknown name ...``; both camelCase and snake_case names
are accepted, as proto JSON is. Values outside the documented ranges answer 400 too
(:data:`polyvox.core.ranges.GEMINI_RANGES`). For Gemini 3 models a tool loop that drops a
function call's ``thoughtSignature`` is refused, as those models refuse it; a signature
the emulator did not issue is refused as corrupted.

Answers come from the script queue, else the auto behaviour; ``includeThoughts`` adds a
thought summary (the reply's ``reasoning``, or one made up), counted as
``thoughtsTokenCount``. Faults are rendered in the google.rpc envelope; a 429's
``retry_after`` travels as ``RetryInfo.retryDelay`` in the body, never as a header.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from polyvox.core.ranges import GEMINI_RANGES
from polyvox.testing.emulator.auto import auto_reply
from polyvox.testing.emulator.conversation import ChatMessage, ChatRequest, ToolSpec
from polyvox.testing.emulator.embedding_vectors import embed_text
from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.gemini_render import (
    SIGNATURE_PREFIX,
    chunk_frames,
    error_body,
    error_frame,
    malformed_body,
    malformed_frame,
    response_body,
)
from polyvox.testing.emulator.outcome import make_outcome
from polyvox.testing.emulator.protocol import Protocol, json_response, raw_response, receive
from polyvox.testing.emulator.state import EmulatorState, RecordedRequest
from polyvox.testing.emulator.streaming import send_frames
from polyvox.testing.emulator.tokens import count_prompt_tokens

__all__ = ["PROTOCOL", "parse_generate_request"]

_VERSIONS = frozenset({"v1", "v1beta", "v1beta1"})
_SSE = "text/event-stream"
_JSON = "application/json; charset=UTF-8"
_UNKNOWN_MODEL_PREFIX = "no-such-"
_BAD_KEY = "API key not valid. Please pass a valid API key."
_NO_KEY = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
_EMBEDDING_DIMENSIONS = {"gemini-embedding-001": 3072, "text-embedding-004": 768}

_REQUEST_FIELDS = frozenset(
    {
        "contents", "systemInstruction", "generationConfig", "tools", "toolConfig",
        "safetySettings", "cachedContent", "labels", "model", "serviceTier", "store",
    }
)  # fmt: skip
_GENERATION_FIELDS = frozenset(
    {
        "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema",
        "_responseJsonSchema", "candidateCount", "maxOutputTokens", "temperature", "topP",
        "topK", "seed", "presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs",
        "enableEnhancedCivicAnswers", "responseModalities", "speechConfig", "audioTimestamp",
        "mediaResolution", "thinkingConfig", "imageConfig", "routingConfig",
        "modelSelectionConfig",
    }
)  # fmt: skip
_THINKING_FIELDS = frozenset({"includeThoughts", "thinkingBudget", "thinkingLevel"})
_CONTENT_FIELDS = frozenset({"role", "parts"})
_PART_FIELDS = frozenset(
    {
        "text", "inlineData", "fileData", "functionCall", "functionResponse", "thought",
        "thoughtSignature", "executableCode", "codeExecutionResult", "videoMetadata",
        "mediaResolution", "partMetadata",
    }
)  # fmt: skip
_DECLARATION_FIELDS = frozenset(
    {"name", "description", "parameters", "parametersJsonSchema", "response",
     "responseJsonSchema", "behavior"}
)  # fmt: skip
_TASK_TYPES = frozenset(
    {
        "TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY",
        "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION",
        "CODE_RETRIEVAL_QUERY",
    }
)  # fmt: skip
_RANGE_FIELDS = {
    "temperature": "temperature",
    "topP": "top_p",
    "topK": "top_k",
    "maxOutputTokens": "max_output_tokens",
    "presencePenalty": "presence_penalty",
    "frequencyPenalty": "frequency_penalty",
    "candidateCount": "candidate_count",
}
_SNAKE = re.compile(r"_([a-z])")


class _InvalidError(Exception):
    """A request the API refuses: the 400's message."""


def _camel(name: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), name)


def _fields(value: Any, known: frozenset[str], where: str) -> dict[str, Any]:
    """An object's fields under their camelCase names; an unknown one is refused."""
    if not isinstance(value, Mapping):
        raise _InvalidError(f"Invalid value at '{where}': expected an object")
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = _camel(str(key))
        if name not in known:
            raise _InvalidError(
                f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': "
                "Cannot find field."
            )
        out[name] = item
    return out


def _error(status: int, message: str, *, reason: str | None = None) -> Response:
    return json_response(error_body(status, Fault(status=status, message=message, code=reason)),
                         status)  # fmt: skip


def _unauthorized(recorded: RecordedRequest) -> Response | None:
    key = recorded.headers.get("x-goog-api-key")
    if key is None:
        match = re.search(r"(?:^|&)key=([^&]*)", recorded.query)
        key = match.group(1) if match else None
    if not key:
        if recorded.headers.get("authorization", "").lower().startswith("bearer "):
            return None  # Vertex AI with an OAuth token
        return _error(403, _NO_KEY)
    if key.startswith("invalid"):
        return _error(400, _BAD_KEY, reason="API_KEY_INVALID")
    return None


def _text(parts: list[dict[str, Any]]) -> str:
    return "\n".join(str(p["text"]) for p in parts if isinstance(p.get("text"), str))


def _parts(content: Any, where: str) -> tuple[str | None, list[dict[str, Any]]]:
    fields = _fields(content, _CONTENT_FIELDS, where)
    raw_parts = fields.get("parts") or []
    if not isinstance(raw_parts, list):
        raise _InvalidError(f"Invalid value at '{where}.parts': expected a list")
    parts = [_fields(p, _PART_FIELDS, f"{where}.parts[{i}]") for i, p in enumerate(raw_parts)]
    role = fields.get("role")
    return (str(role) if role is not None else None), parts


def _check_signatures(parts: list[dict[str, Any]], where: str, strict: bool) -> None:
    """Refuse a corrupted signature; on Gemini 3, refuse a tool call sent back without one."""
    for index, part in enumerate(parts):
        signature = part.get("thoughtSignature")
        if signature is not None:
            try:
                decoded = base64.b64decode(str(signature), validate=True)
            except (binascii.Error, ValueError):
                decoded = b""
            if not decoded.startswith(SIGNATURE_PREFIX):
                raise _InvalidError(f"Corrupted thought signature at '{where}.parts[{index}]'.")
    calls = [i for i, p in enumerate(parts) if "functionCall" in p]
    if strict and calls and "thoughtSignature" not in parts[calls[0]]:
        name = (parts[calls[0]].get("functionCall") or {}).get("name")
        raise _InvalidError(
            "Function call is missing a thought_signature in functionCall parts. This is "
            "required for tools to work correctly, and missing thought_signature may lead to "
            f"degraded model performance. Additional data, function call `{name}` , position "
            f"{calls[0] + 1}. Please refer to https://ai.google.dev/gemini-api/docs/"
            "thought-signatures for more details."
        )


def _messages(body: Mapping[str, Any], model: str) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    if (system := body.get("systemInstruction")) is not None:
        _, parts = _parts(system, "system_instruction")
        messages.append(ChatMessage(role="system", text=_text(parts)))
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise _InvalidError("* GenerateContentRequest.contents: contents is not specified")
    strict = model.startswith("gemini-3")
    for index, content in enumerate(contents):
        where = f"contents[{index}]"
        role, parts = _parts(content, where)
        if role not in (None, "user", "model", "function", "tool"):
            raise _InvalidError(
                f"Please use a valid role: user, model. (got {role!r} at '{where}')"
            )
        if not parts:
            raise _InvalidError(f"* GenerateContentRequest.{where}.parts: contents.parts must not "
                           "be empty.")  # fmt: skip
        if role == "model":
            _check_signatures(parts, where, strict)
            messages.append(ChatMessage(role="assistant", text=_text(parts)))
            continue
        results = [p["functionResponse"] for p in parts if "functionResponse" in p]
        for result in results:
            result = result if isinstance(result, Mapping) else {}
            text = json.dumps(result.get("response"), ensure_ascii=False)
            messages.append(ChatMessage(role="tool", text=text, name=result.get("name")))
        if not results or _text(parts):
            messages.append(ChatMessage(role="user", text=_text(parts)))
    return messages


def _lower_types(schema: Any) -> Any:
    """An OpenAPI-style ``responseSchema`` (``"OBJECT"``) as JSON Schema (``"object"``)."""
    if isinstance(schema, Mapping):
        return {
            k: (v.lower() if k == "type" and isinstance(v, str) else _lower_types(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_lower_types(item) for item in schema]
    return schema


def _tools(body: Mapping[str, Any]) -> list[ToolSpec]:
    tools: list[ToolSpec] = []
    for index, tool in enumerate(body.get("tools") or ()):
        if not isinstance(tool, Mapping):
            raise _InvalidError(f"Invalid value at 'tools[{index}]': expected an object")
        declarations = tool.get("functionDeclarations", tool.get("function_declarations"))
        for j, raw in enumerate(declarations or ()):
            spec = _fields(raw, _DECLARATION_FIELDS, f"tools[{index}].function_declarations[{j}]")
            if not spec.get("name"):
                raise _InvalidError(f"* GenerateContentRequest.tools[{index}].function_declarations"
                               f"[{j}].name: Name cannot be empty.")  # fmt: skip
            params = spec.get("parametersJsonSchema") or _lower_types(spec.get("parameters"))
            tools.append(
                ToolSpec(str(spec["name"]), str(spec.get("description") or ""), params or {})
            )
    return tools


def _check_ranges(config: Mapping[str, Any]) -> None:
    values = {_RANGE_FIELDS[k]: v for k, v in config.items() if k in _RANGE_FIELDS}
    if (found := GEMINI_RANGES.openai_error(values)) is not None:
        raise _InvalidError(found[0])


_THINKING_LEVELS = frozenset({"MINIMAL", "LOW", "MEDIUM", "HIGH"})


def _check_thinking(thinking: Mapping[str, Any]) -> None:
    """Refuse what the API refuses in a ``thinkingConfig``: a budget and a level at once."""
    level = thinking.get("thinkingLevel")
    if level is not None and str(level).upper() not in _THINKING_LEVELS:
        raise _InvalidError(
            f"Invalid value at 'generation_config.thinking_config.thinking_level' ({level!r})"
        )
    if level is not None and thinking.get("thinkingBudget") is not None:
        raise _InvalidError("You can only set only one of thinking budget and thinking level.")


def parse_generate_request(
    body: Mapping[str, Any], model: str, *, stream: bool
) -> tuple[ChatRequest, bool]:
    """Validate a ``generateContent`` request and read it into the protocol-neutral form.

    Args:
        body: The request JSON.
        model: The model named by the URL.
        stream: Whether it came to ``streamGenerateContent``.

    Returns:
        The neutral request, and whether thought summaries were asked for.

    Raises:
        _InvalidError: With the API's 400 message.
    """
    request = _fields(body, _REQUEST_FIELDS, "")
    config = _fields(request.get("generationConfig") or {}, _GENERATION_FIELDS,
                     "generation_config")  # fmt: skip
    thinking = _fields(config.get("thinkingConfig") or {}, _THINKING_FIELDS,
                       "generation_config.thinking_config")  # fmt: skip
    _check_ranges(config)
    _check_thinking(thinking)
    messages = _messages(request, model)
    tools = _tools(request)
    calling = (request.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = str(calling.get("mode") or "AUTO").upper()
    allowed = [str(n) for n in calling.get("allowedFunctionNames") or ()]
    choice: Literal["auto", "none", "required"] = "auto"
    forced: str | None = None
    if mode == "NONE":
        choice = "none"
    elif mode == "ANY":  # VALIDATED lets the model choose, as AUTO does
        choice = "required"
        if allowed:
            tools = [t for t in tools if t.name in allowed] or tools
        if len(tools) == 1:
            forced = tools[0].name
    schema = config.get("responseJsonSchema") or config.get("_responseJsonSchema")
    if schema is None and config.get("responseSchema") is not None:
        schema = _lower_types(config["responseSchema"])
    mime = config.get("responseMimeType") or "text/plain"
    response_format: Literal["text", "json_object", "json_schema"] = "text"
    if mime == "application/json":
        response_format = "json_schema" if isinstance(schema, Mapping) else "json_object"
    elif schema is not None:
        raise _InvalidError(
            "response_mime_type must be application/json when response_schema is set"
        )
    stop = config.get("stopSequences") or ()
    limit = config.get("maxOutputTokens")
    extra = [json.dumps([dataclasses.asdict(t) for t in tools], default=str)] if tools else []
    chat = ChatRequest(
        model=model,
        messages=messages,
        tools=tools,
        tool_choice=choice,
        forced_tool=forced,
        response_format=response_format,
        response_schema=schema if isinstance(schema, Mapping) else None,
        stop=[str(s) for s in stop],
        max_tokens=int(limit) if isinstance(limit, int) else None,
        stream=stream,
        extra_prompt_texts=extra,
    )
    thoughts = bool(thinking.get("includeThoughts")) and thinking.get("thinkingBudget") != 0
    return chat, thoughts


def _split_target(target: str) -> tuple[str, str] | None:
    model, sep, method = target.rpartition(":")
    return (model, method) if sep and model else None


def _routes(state: EmulatorState) -> list[BaseRoute]:
    async def handle(request: Request) -> Response:
        recorded = await receive(request, state)
        version = str(request.path_params["version"])
        split = _split_target(str(request.path_params["target"]))
        if version not in _VERSIONS or split is None:
            return _error(404, f"Invalid URL ({request.method} {request.url.path})")
        model, method = split
        if denied := _unauthorized(recorded):
            return denied
        body = recorded.json
        if not isinstance(body, dict):
            return _error(400, "Invalid JSON payload received. Expected an object.")
        if model.startswith(_UNKNOWN_MODEL_PREFIX):
            return _error(
                404,
                f"models/{model} is not found for API version {version}, or is not supported "
                f"for {method}. Call ListModels to see the list of available models and their "
                "supported methods.",
            )
        handler = _METHODS.get(method)
        if handler is None:
            return _error(404, f"Method not found: {method}")
        fault = state.take_fault(model)
        if fault is not None and fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.is_error:
            assert fault.status is not None
            error = fault.body if fault.body is not None else error_body(fault.status, fault)
            if isinstance(error, str):
                return raw_response(error, _JSON, fault.status, dict(fault.headers))
            return json_response(error, fault.status, dict(fault.headers))
        reply = state.take_reply(model, raw_only=True)  # a recorded body, sent as it is
        if reply is not None and reply.raw_response is not None:
            raw = reply.raw_response
            return raw_response(raw.body, raw.content_type, raw.status)
        try:
            return handler(state, body, model, fault)
        except _InvalidError as exc:
            return _error(400, str(exc))

    prefixes = (
        "/{version}/models/{target}",
        "/{version}/publishers/google/models/{target}",
        "/{version}/projects/{project}/locations/{location}/publishers/google/models/{target}",
    )
    return [Route(path, handle, methods=["POST"]) for path in prefixes]


def _generate(
    state: EmulatorState, body: dict[str, Any], model: str, fault: Fault | None, stream: bool
) -> Response:
    if fault is not None and fault.malformed:
        if isinstance(fault.body, str):
            return raw_response(fault.body, _SSE if stream else _JSON)
        if stream:
            return send_frames([malformed_frame()], None, content_type=_SSE)
        return raw_response(malformed_body(), _JSON)
    chat, thoughts = parse_generate_request(body, model, stream=stream)
    reply = state.take_reply(model) or auto_reply(chat)
    if thoughts and reply.reasoning is None:
        reply = dataclasses.replace(reply, reasoning=f"The user asked: {chat.last_user_text}")
    elif not thoughts and reply.reasoning is not None:
        reply = dataclasses.replace(reply, reasoning=None)
    outcome = make_outcome(reply, chat, fault)
    signed = model.startswith(("gemini-2.5", "gemini-3"))
    if not stream:
        if fault is not None and fault.break_after is not None:
            data = json.dumps(response_body(outcome, model, thoughts=thoughts, signed=signed))
            encoded = data.encode()
            cut = dataclasses.replace(fault, break_after=1, error_after=None)
            halves = [encoded[: len(encoded) // 2], encoded[len(encoded) // 2 :]]
            return send_frames(halves, cut, content_type=_JSON)
        return json_response(response_body(outcome, model, thoughts=thoughts, signed=signed))
    frames = chunk_frames(outcome, model, thoughts=thoughts, signed=signed)
    return send_frames(frames, fault, content_type=_SSE, error_frame=error_frame)


def _count_tokens(
    state: EmulatorState, body: dict[str, Any], model: str, fault: Fault | None
) -> Response:
    inner = body.get("generateContentRequest") or body.get("generate_content_request")
    request = dict(inner) if isinstance(inner, Mapping) else dict(body)
    request.pop("model", None)
    known = _REQUEST_FIELDS if inner is not None else frozenset({"contents"})
    request = _fields(request, known, "" if inner is None else "generate_content_request")
    messages = _messages(request, model)
    extra = [json.dumps(request["tools"])] if request.get("tools") else []
    count = count_prompt_tokens([m.text for m in messages] + extra, messages=len(messages))
    return json_response(
        {"totalTokens": count, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": count}]}
    )


_EMBED_CONFIG_FIELDS = frozenset({"taskType", "title", "outputDimensionality", "autoTruncate"})


def _embed_one(request: Any, model: str, where: str) -> dict[str, Any]:
    known = frozenset({"model", "content", "taskType", "title", "outputDimensionality"})
    fields = _fields(request, known | {"embedContentConfig"}, where)
    # Vertex AI nests the options in ``embedContentConfig`` (the SDK writes them there)
    vertex = fields.pop("embedContentConfig", None)
    if vertex is not None:
        fields.update(_fields(vertex, _EMBED_CONFIG_FIELDS, f"{where}.embed_content_config"))
    if fields.get("model") not in (None, model, f"models/{model}"):
        raise _InvalidError(
            f"Model {fields['model']!r} at '{where}' does not match models/{model}."
        )
    task = fields.get("taskType")
    if task is not None and task not in _TASK_TYPES:
        raise _InvalidError(f"Invalid value at '{where}.task_type' ({task}).")
    if fields.get("title") and task != "RETRIEVAL_DOCUMENT":
        raise _InvalidError("Title is only supported for the RETRIEVAL_DOCUMENT task type.")
    _, parts = _parts(fields.get("content") or {}, f"{where}.content")
    if not parts:
        raise _InvalidError(f"* {where}.content.parts: contents.parts must not be empty.")
    size = fields.get("outputDimensionality")
    native = _EMBEDDING_DIMENSIONS.get(model, 768)
    if size is not None and (not isinstance(size, int) or not 1 <= size <= native):
        raise _InvalidError(f"Invalid value at '{where}.output_dimensionality' ({size}).")
    text = _text(parts)
    if task:  # queries and documents land near, not on, each other
        text = f"{text} {task.lower()}"
    return {"values": list(embed_text(text, size or native))}


def _embed(state: EmulatorState, body: dict[str, Any], model: str, fault: Fault | None) -> Response:
    return json_response({"embedding": _embed_one(body, model, "")})


def _batch_embed(
    state: EmulatorState, body: dict[str, Any], model: str, fault: Fault | None
) -> Response:
    requests = _fields(body, frozenset({"requests"}), "").get("requests")
    if not isinstance(requests, list) or not requests:
        raise _InvalidError("* BatchEmbedContentsRequest.requests: requests must not be empty.")
    if len(requests) > 100:
        raise _InvalidError("* BatchEmbedContentsRequest.requests: at most 100 requests can be "
                       "in one batch.")  # fmt: skip
    embeddings = [_embed_one(r, model, f"requests[{i}]") for i, r in enumerate(requests)]
    return json_response({"embeddings": embeddings})


_Handler = Callable[[EmulatorState, dict[str, Any], str, Fault | None], Response]

_METHODS: dict[str, _Handler] = {
    "generateContent": lambda s, b, m, f: _generate(s, b, m, f, False),
    "streamGenerateContent": lambda s, b, m, f: _generate(s, b, m, f, True),
    "countTokens": _count_tokens,
    "embedContent": _embed,
    "batchEmbedContents": _batch_embed,
}


PROTOCOL = Protocol(name="gemini", prefix="/v1beta", routes=_routes, error_body=error_body)
"""The Gemini protocol, as the emulator mounts it."""
