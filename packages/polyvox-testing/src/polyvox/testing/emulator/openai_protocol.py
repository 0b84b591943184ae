"""The OpenAI wire protocol: ``/v1/chat/completions``, ``/v1/embeddings``, ``/v1/models``.

Every ``/v1`` request needs ``Authorization: Bearer <key>``; a missing key answers 401
(``invalid_api_key``), and so does a key that starts with ``invalid`` (to test bad keys
without a fault). Chat requests are answered by the script queue, else by the auto
behaviour; embeddings are deterministic hashed bags of words; any model name is accepted
and echoed back, except names starting with ``no-such-``, which answer OpenAI's 404
``model_not_found`` (so examples can show an unknown model without scripting a fault).

For OpenAI's own model names (``gpt-*``, ``o1``/``o3``/``o4``, ``chatgpt-*``) a chat
request is refused as OpenAI refuses it: 400 for a field it does not know, and for a value
outside the range OpenAI documents (``max_tokens=-5``: ``integer_below_min_value``;
``temperature=5``: ``decimal_above_max_value``; a fraction where an integer is needed:
``invalid_type``; the table is :data:`polyvox.core.ranges.OPENAI_RANGES`).

``POST /tokenize`` (at the server root, no key needed) answers llama.cpp's and vLLM's
tokenizer requests with :func:`token_ids`.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Mapping
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from polyvox.core.keywords import OPENAI_COMPATIBLE_FIELDS
from polyvox.core.ranges import OPENAI_RANGES, is_openai_model
from polyvox.testing.emulator.auto import auto_reply
from polyvox.testing.emulator.conversation import ChatMessage, ChatRequest, ToolSpec
from polyvox.testing.emulator.embedding_vectors import embed_text, encode_base64, model_dimensions
from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.openai_render import (
    DONE_FRAME,
    chunk_frames,
    completion_body,
    error_body,
    error_frame,
    make_id,
    malformed_body,
    malformed_frame,
)
from polyvox.testing.emulator.outcome import make_outcome
from polyvox.testing.emulator.protocol import (
    Protocol,
    fault_response,
    json_response,
    raw_response,
    receive,
)
from polyvox.testing.emulator.state import EmulatorState, RecordedRequest
from polyvox.testing.emulator.streaming import send_frames
from polyvox.testing.emulator.tokens import split_tokens

__all__ = ["CATALOG", "PROTOCOL", "parse_chat_request", "token_ids"]

CATALOG = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "o3-mini",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "text-embedding-ada-002",
)
"""The models ``GET /v1/models`` lists (any other name works as well)."""

_FORMATS: dict[str, Literal["text", "json_object", "json_schema"]] = {
    "json_object": "json_object",
    "json_schema": "json_schema",
}
_SSE = "text/event-stream; charset=utf-8"
_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)


def _error(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> Response:
    fault = Fault(status=status, message=message, param=param, code=code)
    return json_response(error_body(status, fault), status, {"x-request-id": make_id("req_", 32)})


def _unauthorized(recorded: RecordedRequest) -> Response | None:
    header = recorded.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return _error(401, _NO_KEY, code="invalid_api_key")
    if key.startswith("invalid"):
        return _error(401, f"Incorrect API key provided: {key[:8]}***.", code="invalid_api_key")
    return None


UNKNOWN_MODEL_PREFIX = "no-such-"
"""Model ids with this prefix are unknown to the emulator (404 ``model_not_found``)."""


def _unknown_model(model: str | None) -> Response | None:
    if model is None or not model.startswith(UNKNOWN_MODEL_PREFIX):
        return None
    message = f"The model `{model}` does not exist or you do not have access to it."
    return _error(404, message, code="model_not_found")


CHAT_FIELDS = frozenset(
    {
        "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
        "max_completion_tokens", "max_tokens", "messages", "metadata", "modalities", "model",
        "moderation", "n", "parallel_tool_calls", "prediction", "presence_penalty",
        "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention",
        "reasoning_effort", "response_format", "safety_identifier", "seed", "service_tier",
        "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
        "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
    }
)  # fmt: skip
"""The fields of OpenAI's chat-completions request; OpenAI answers 400 to any other."""


def _unrecognized(body: Mapping[str, Any]) -> Response | None:
    """OpenAI's 400 for a request field it does not know (compatible servers: theirs too)."""
    model = str(body.get("model") or "")
    known = CHAT_FIELDS
    if not is_openai_model(model):
        known = CHAT_FIELDS | OPENAI_COMPATIBLE_FIELDS
    for name in body:
        if name not in known:
            return _error(400, f"Unrecognized request argument supplied: {name}")
    return None


def _out_of_range(body: Mapping[str, Any]) -> Response | None:
    """OpenAI's 400 for a value outside the range it documents (its own models only).

    ``max_tokens=-5`` answers ``integer_below_min_value``, ``temperature=5``
    ``decimal_above_max_value`` and ``max_tokens=1.5`` ``invalid_type``, worded as OpenAI
    words them. Other models stand for other servers, whose ranges differ: not checked.
    """
    if not is_openai_model(str(body.get("model") or "")):
        return None
    if found := OPENAI_RANGES.openai_error(body):
        message, param, code = found
        return _error(400, message, param=param, code=code)
    return None


def _body_or_error(recorded: RecordedRequest) -> dict[str, Any] | Response:
    if not isinstance(recorded.json, dict):
        return _error(400, "We could not parse the JSON body of your request.")
    return recorded.json


def _missing(body: Mapping[str, Any], *required: str) -> Response | None:
    for name in required:
        if body.get(name) in (None, "", []):
            return _error(
                400,
                f"Missing required parameter: '{name}'.",
                param=name,
                code="missing_required_parameter",
            )
    return None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, Mapping)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def parse_chat_request(body: Mapping[str, Any]) -> ChatRequest:
    """Read an OpenAI chat completion request into the protocol-neutral form.

    Args:
        body: The request JSON.

    Returns:
        The neutral request.
    """
    roles = {"developer": "system", "function": "tool"}
    messages = [
        ChatMessage(
            role=roles.get(str(m.get("role")), str(m.get("role"))),
            text=_text_of(m.get("content")),
            name=m.get("name"),
            tool_call_id=m.get("tool_call_id"),
        )
        for m in body.get("messages") or ()
        if isinstance(m, Mapping)
    ]
    raw_tools = [t.get("function", t) for t in body.get("tools") or () if isinstance(t, Mapping)]
    raw_tools += list(body.get("functions") or ())
    tools = [
        ToolSpec(str(t["name"]), str(t.get("description") or ""), t.get("parameters") or {})
        for t in raw_tools
        if isinstance(t, Mapping) and t.get("name")
    ]
    choice: Any = body.get("tool_choice", body.get("function_call", "auto"))
    mode: Literal["auto", "none", "required"] = "auto"
    forced: str | None = None
    if choice in ("none", "required"):
        mode = choice
    elif isinstance(choice, Mapping):
        mode = "required"
        forced = (choice.get("function") or choice).get("name")
    fmt = body.get("response_format") or {}
    kind = str(fmt.get("type", "text")) if isinstance(fmt, Mapping) else "text"
    schema = (fmt.get("json_schema") or {}).get("schema") if kind == "json_schema" else None
    stop = body.get("stop") or ()
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    extra = [json.dumps(raw_tools)] if raw_tools else []
    if schema is not None:
        extra.append(json.dumps(schema))
    return ChatRequest(
        model=str(body.get("model", "")),
        messages=messages,
        tools=tools,
        tool_choice=mode,
        forced_tool=forced,
        parallel_tool_calls=body.get("parallel_tool_calls") is not False,
        response_format=_FORMATS.get(kind, "text"),
        response_schema=schema if isinstance(schema, Mapping) else None,
        stop=[stop] if isinstance(stop, str) else [str(s) for s in stop],
        max_tokens=int(limit) if isinstance(limit, int) else None,
        stream=bool(body.get("stream")),
        extra_prompt_texts=extra,
    )


def _routes(state: EmulatorState) -> list[BaseRoute]:
    async def prelude(request: Request) -> Response | tuple[dict[str, Any], Fault | None]:
        """Record, authenticate, apply the fault, and send a raw scripted reply as is."""
        recorded = await receive(request, state)
        body = _unauthorized(recorded) or _body_or_error(recorded)
        if isinstance(body, Response):
            return body
        model = str(body["model"]) if body.get("model") else None
        if unknown := _unknown_model(model):
            return unknown
        fault = state.take_fault(model)
        if failed := await fault_response(fault, error_body):
            return failed
        if fault is not None and fault.malformed:
            if isinstance(fault.body, str):  # a body of the fault's own (empty, say)
                kind = _SSE if body.get("stream") else "application/json"
                return raw_response(fault.body.encode(), kind)
            if body.get("stream"):
                return send_frames([malformed_frame()], None, content_type=_SSE, tail=[DONE_FRAME])
            return raw_response(malformed_body(), "application/json")
        reply = state.take_reply(model, raw_only=True)
        if reply is not None and reply.raw_response is not None:
            raw = reply.raw_response
            return raw_response(raw.body, raw.content_type, raw.status)
        return body, fault

    async def chat_completions(request: Request) -> Response:
        started = await prelude(request)
        if isinstance(started, Response):
            return started
        body, fault = started
        if invalid := (
            _missing(body, "model", "messages") or _unrecognized(body) or _out_of_range(body)
        ):
            return invalid
        model = str(body["model"])
        chat = parse_chat_request(body)
        reply = state.take_reply(model) or auto_reply(chat)
        outcome = make_outcome(reply, chat, fault)
        if not chat.stream:
            if fault is not None and fault.break_after is not None:
                data = json.dumps(completion_body(outcome, model)).encode()
                halves = [data[: len(data) // 2], data[len(data) // 2 :]]
                cut = dataclasses.replace(fault, break_after=1, error_after=None)
                return send_frames(halves, cut, content_type="application/json")
            return json_response(completion_body(outcome, model))
        options = body.get("stream_options") or {}
        frames = chunk_frames(outcome, model, include_usage=bool(options.get("include_usage")))
        return send_frames(
            frames,
            fault,
            content_type=_SSE,
            tail=[DONE_FRAME],
            error_frame=lambda f: error_frame(f, model),
        )

    async def embeddings(request: Request) -> Response:
        started = await prelude(request)
        if isinstance(started, Response):
            return started
        body = started[0]
        return _missing(body, "model", "input") or _embeddings(body, str(body["model"]))

    async def list_models(request: Request) -> Response:
        recorded = await receive(request, state)
        if denied := _unauthorized(recorded):
            return denied
        if failed := await fault_response(state.take_fault(None), error_body):
            return failed
        return json_response({"object": "list", "data": [_model(name) for name in CATALOG]})

    async def retrieve_model(request: Request) -> Response:
        recorded = await receive(request, state)
        if denied := _unauthorized(recorded):
            return denied
        name = str(request.path_params["model"])
        if unknown := _unknown_model(name):
            return unknown
        if failed := await fault_response(state.take_fault(name), error_body):
            return failed
        return json_response(_model(name))

    async def tokenize(request: Request) -> Response:
        """llama.cpp's (``content``) and vLLM's (``prompt``) ``/tokenize``, at the root."""
        recorded = await receive(request, state)
        body = recorded.json if isinstance(recorded.json, dict) else {}
        text = body.get("content", body.get("prompt"))
        if not isinstance(text, str):
            return _error(400, "'content' (llama.cpp) or 'prompt' (vLLM) must be a string")
        ids = token_ids(text)
        if "content" in body:
            return json_response({"tokens": ids})
        return json_response({"count": len(ids), "max_model_len": 32768, "tokens": ids})

    return [
        Route("/tokenize", tokenize, methods=["POST"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", retrieve_model, methods=["GET"]),
    ]


def token_ids(text: str) -> list[int]:
    """The emulator's token ids of a text: one per :func:`~.tokens.split_tokens` piece.

    Args:
        text: The text.

    Returns:
        Stable ids (a checksum of each piece), as many as the emulator counts tokens.
    """
    return [zlib.crc32(piece.encode()) % 100_000 for piece in split_tokens(text)]


def _embeddings(body: Mapping[str, Any], model: str) -> Response:
    raw = body["input"]
    if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(item, str | list) for item in raw):
        return _error(
            400, "'input' must be a string, a list of strings or token arrays.", param="input"
        )
    fmt = body.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        return _error(
            400, f"Invalid value for 'encoding_format': {fmt!r}.", param="encoding_format"
        )
    dimensions = body.get("dimensions")
    size = (
        int(dimensions)
        if isinstance(dimensions, int) and dimensions > 0
        else model_dimensions(model)
    )
    data: list[dict[str, Any]] = []
    tokens = 0
    for index, item in enumerate(raw):
        if isinstance(item, list):
            text = " ".join(f"token{t}" for t in item)
            tokens += len(item)
        else:
            text = item
            tokens += max(1, len(text.split()))
        vector = embed_text(text, size)
        value: Any = encode_base64(vector) if fmt == "base64" else list(vector)
        data.append({"object": "embedding", "index": index, "embedding": value})
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return json_response({"object": "list", "data": data, "model": model, "usage": usage})


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1700000000, "owned_by": "polyvox-emulator"}


PROTOCOL = Protocol(name="openai", prefix="/v1", routes=_routes, error_body=error_body)
"""The OpenAI protocol, as the emulator mounts it."""
