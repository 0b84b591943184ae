"""The Ollama native protocol (``/api/*``), as the official ``ollama`` Python SDK speaks it.

Inference: ``POST /api/chat``, ``/api/generate`` (``stream`` defaults to true: NDJSON,
``application/x-ndjson``), ``/api/embed`` and the legacy ``/api/embeddings``. Models:
``GET /api/tags``, ``POST /api/show``, ``POST /api/pull`` (NDJSON progress),
``DELETE /api/delete``, ``GET /api/ps``. Health: ``GET /`` (``Ollama is running``) and
``GET /api/version``. Point a client at the server root: ``ollama.Client(host=emu.ollama_url)``.

The model set: each emulator has its own pulled models, ``emulator.ollama_models`` (an
:class:`OllamaModels`, a mutable mapping of name to :class:`OllamaModel`), seeded with
:data:`DEFAULT_MODELS` and restored by ``emulator.reset()``. Change it with
``emulator.ollama_models.add("bielik-4.5b", context_length=32768, family="qwen2")``
(unset fields are guessed from the name), ``.remove(name)`` or ``del models[name]``.
Names match as Ollama matches them: case-insensitively, ``llama3.2`` meaning
``llama3.2:latest``. A chat, generate or embed request for a model not in the set answers
404 with the error ``model "NAME" not found, try pulling it first``; ``/api/pull`` adds
any name, except names starting with ``no-such-``, which fail as an unknown manifest does.
``/api/show`` reports ``model_info["<family>.context_length"]`` and, in ``parameters``,
the Modelfile's ``num_ctx`` when the model has one (``add(..., num_ctx=16384)``).

Loading: a chat, generate or embed request loads its model with the window Ollama would
give it (``options.num_ctx``, else the Modelfile's ``num_ctx``, else
:data:`DEFAULT_CONTEXT_LENGTH`; never more than the model's context length); a request
with another window than the loaded one reloads it. ``GET /api/ps`` lists the loaded
models with that window as ``context_length``; ``emulator.ollama_models.load_count(name)``
counts the loads, reloads included, and ``keep_alive: 0`` unloads.

Chat and generate go through the script queue, else the auto behaviour (tools, JSON via
``format``, echo), with ``options.num_predict`` (done_reason ``length``) and
``options.stop``; ``think`` adds a thinking text. What Ollama refuses is refused alike:
``top_logprobs`` outside 0..20 (400) and an option of the wrong type (500, ``option
"num_predict" must be of type integer``); out-of-range option values pass, as they do
on the real server. Tool calls carry object arguments and no
``id``, each whole in one stream line. Faults hit the inference endpoints and
``/api/pull`` only, never ``/api/show``, ``/api/tags`` or the health checks; a fault's
``first_chunk_delay`` is a model loading (it is reported as ``load_duration``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from polyvox.core.ranges import OLLAMA_RANGES
from polyvox.testing.emulator.auto import auto_reply
from polyvox.testing.emulator.conversation import ChatMessage, ChatRequest, ToolSpec
from polyvox.testing.emulator.embedding_vectors import embed_text
from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.ollama_models import DEFAULT_CONTEXT_LENGTH
from polyvox.testing.emulator.ollama_render import (
    DEFAULT_MODELS,
    Kind,
    OllamaModel,
    OllamaModels,
    answer_body,
    answer_lines,
    describe_model,
    error_body,
    error_line,
    full_model_name,
    line,
    loaded_body,
    malformed_body,
    malformed_line,
    model_entry,
    models_for,
    pull_lines,
    show_body,
)
from polyvox.testing.emulator.outcome import make_outcome
from polyvox.testing.emulator.protocol import (
    Protocol,
    fault_response,
    json_response,
    raw_response,
    receive,
)
from polyvox.testing.emulator.state import EmulatorState
from polyvox.testing.emulator.streaming import send_frames
from polyvox.testing.emulator.tokens import count_tokens

__all__ = [
    "DEFAULT_CONTEXT_LENGTH",
    "DEFAULT_MODELS",
    "PROTOCOL",
    "UNKNOWN_MODEL_PREFIX",
    "VERSION",
    "OllamaModel",
    "OllamaModels",
    "models_for",
    "not_pulled_message",
    "parse_ollama_chat_request",
    "parse_ollama_generate_request",
]

VERSION = "0.12.0"
"""What ``GET /api/version`` reports."""

UNKNOWN_MODEL_PREFIX = "no-such-"
"""Pulling a name with this prefix fails as an unknown manifest does."""

_NDJSON = "application/x-ndjson"
_LOAD_NS = 12_000_000
_PULL_FAILED = "pull model manifest: file does not exist"


def not_pulled_message(model: str) -> str:
    """Return Ollama's error for a model that is not pulled.

    Args:
        model: The requested name.

    Returns:
        ``model "NAME" not found, try pulling it first``.
    """
    return f'model "{model}" not found, try pulling it first'


def _text(content: Any) -> str:
    return content if isinstance(content, str) else ""


def _options(body: Mapping[str, Any]) -> Mapping[str, Any]:
    options = body.get("options")
    return options if isinstance(options, Mapping) else {}


def _common(body: Mapping[str, Any], messages: list[ChatMessage], tools: list[Any]) -> ChatRequest:
    fmt = body.get("format")
    schema = fmt if isinstance(fmt, Mapping) else None
    kind: Literal["text", "json_object", "json_schema"] = (
        "json_schema" if schema is not None else "json_object" if fmt == "json" else "text"
    )
    options = _options(body)
    stop = options.get("stop") or ()
    limit = options.get("num_predict")
    extra = [json.dumps(tools)] if tools else []
    if schema is not None:
        extra.append(json.dumps(schema))
    specs = [
        ToolSpec(str(t["name"]), str(t.get("description") or ""), t.get("parameters") or {})
        for t in tools
        if isinstance(t, Mapping) and t.get("name")
    ]
    return ChatRequest(
        model=str(body.get("model", "")),
        messages=messages,
        tools=specs,
        response_format=kind,
        response_schema=schema,
        stop=[stop] if isinstance(stop, str) else [str(s) for s in stop],
        max_tokens=limit if isinstance(limit, int) and limit >= 0 else None,
        stream=body.get("stream") is not False,
        extra_prompt_texts=extra,
    )


def parse_ollama_chat_request(body: Mapping[str, Any]) -> ChatRequest:
    """Read an ``/api/chat`` request into the protocol-neutral form.

    Args:
        body: The request JSON (``messages``, ``tools``, ``format``, ``options``, ``stream``).

    Returns:
        The neutral request (``stream`` is true unless the body says false).
    """
    messages = [
        ChatMessage(
            role=str(m.get("role")),
            text=_text(m.get("content")),
            name=m.get("tool_name") or m.get("name"),
        )
        for m in body.get("messages") or ()
        if isinstance(m, Mapping)
    ]
    tools = [t.get("function", t) for t in body.get("tools") or () if isinstance(t, Mapping)]
    return _common(body, messages, tools)


def parse_ollama_generate_request(body: Mapping[str, Any]) -> ChatRequest:
    """Read an ``/api/generate`` request (``system`` and ``prompt``) into the neutral form.

    Args:
        body: The request JSON.

    Returns:
        The neutral request.
    """
    messages = [ChatMessage("system", _text(body.get("system")))] if body.get("system") else []
    messages.append(ChatMessage("user", _text(body.get("prompt"))))
    return _common(body, messages, [])


def _thinking_text(chat: ChatRequest) -> str:
    words = chat.last_user_text.split()
    topic = " ".join(words[:12]) + (" ..." if len(words) > 12 else "")
    return f'The user wrote "{topic}". I will answer briefly and directly.'


def _error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


_BOOLEAN_OPTIONS = frozenset(
    {"numa", "low_vram", "f16_kv", "vocab_only", "use_mmap", "use_mlock", "penalize_newline"}
)
_NOT_OPTIONS = frozenset({"max_tokens", "top_logprobs"})  # polyvox's name; a request field


def _refused(body: Mapping[str, Any]) -> Response | None:
    """What Ollama itself refuses: ``top_logprobs`` outside 0..20 (400), bad option types.

    An option of the wrong type fails in Ollama's scheduler, which answers 500.

    Out-of-range option values are *not* refused: Ollama passes them to the runner, which
    clamps or misreads them, so the emulator, like the server, accepts them (polyvox's
    chat models refuse them before sending, see :mod:`polyvox.core.ranges`).
    """
    top = body.get("top_logprobs")
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, int):
            message = (
                f"json: cannot unmarshal {type(top).__name__} into Go struct field "
                "top_logprobs of type int"
            )
            return _error(400, message)
        if not 0 <= top <= 20:
            return _error(400, "top_logprobs must be between 0 and 20")
    for name, value in _options(body).items():
        if value is None:
            continue
        allowed = OLLAMA_RANGES.ranges.get(name)
        if allowed is not None and name not in _NOT_OPTIONS:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if not numeric:
                kind = "integer" if allowed.integer else "float32"
                return _error(500, f'option "{name}" must be of type {kind}')
        elif name in _BOOLEAN_OPTIONS and not isinstance(value, bool):
            return _error(500, f'option "{name}" must be of type boolean')
        elif name == "stop" and not isinstance(value, list):
            return _error(500, 'option "stop" must be of type array')
        elif name == "stop" and not all(isinstance(s, str) for s in value):
            return _error(500, 'option "stop" must be of an array of strings')
    return None


def _unloads(keep_alive: Any) -> bool:
    return keep_alive in (0, 0.0, "0", "0s", "0m")


def _routes(state: EmulatorState) -> list[BaseRoute]:
    models = models_for(state)

    async def prelude(
        request: Request, streams: bool
    ) -> Response | tuple[dict[str, Any], str, Fault | None]:
        """Record, apply the fault, check the model is pulled, send a raw scripted reply."""
        recorded = await receive(request, state)
        body = recorded.json
        if not isinstance(body, dict):
            return _error(400, "missing request body" if not recorded.body else "invalid JSON")
        model = body.get("model") or body.get("name")
        if not isinstance(model, str) or not model:
            return _error(400, "model is required")
        fault = state.take_fault(model)
        if failed := await fault_response(fault, error_body):
            return failed
        if model not in models:
            return _error(404, not_pulled_message(model))
        if fault is not None and fault.malformed:
            if isinstance(fault.body, str):  # a body of the fault's own (empty, say)
                kind = _NDJSON if streams and body.get("stream") is not False else None
                return raw_response(fault.body.encode(), kind or "application/json; charset=utf-8")
            if streams and body.get("stream") is not False:
                return send_frames([malformed_line()], None, content_type=_NDJSON)
            return raw_response(malformed_body(), "application/json; charset=utf-8")
        reply = state.take_reply(model, raw_only=True)
        if reply is not None and reply.raw_response is not None:
            raw = reply.raw_response
            return raw_response(raw.body, raw.content_type, raw.status)
        window = _options(body).get("num_ctx")
        models.mark_loaded(model, not _unloads(body.get("keep_alive")), num_ctx=window)
        return body, model, fault

    async def answer(request: Request, kind: Kind) -> Response:
        started = await prelude(request, streams=True)
        if isinstance(started, Response):
            return started
        body, model, fault = started
        if refused := _refused(body):
            return refused
        if kind == "chat":
            chat = parse_ollama_chat_request(body)
            empty = not chat.messages
        else:
            chat = parse_ollama_generate_request(body)
            empty = not body.get("prompt") and not body.get("images")
        if empty:
            reason = "unload" if _unloads(body.get("keep_alive")) else "load"
            return json_response(loaded_body(model, kind, reason))
        reply = state.take_reply(model) or auto_reply(chat)
        if body.get("think") in (None, False):
            reply = dataclasses.replace(reply, reasoning=None)
        elif reply.reasoning is None:
            reply = dataclasses.replace(reply, reasoning=_thinking_text(chat))
        outcome = make_outcome(reply, chat, fault)
        wait = fault.first_chunk_delay if fault is not None else 0.0
        load_ns = _LOAD_NS + int(wait * 1e9)
        if chat.stream:
            lines = answer_lines(outcome, model, kind, load_ns=load_ns)
            return send_frames(lines, fault, content_type=_NDJSON, error_frame=error_line)
        if wait > 0:
            await asyncio.sleep(wait)
        data = answer_body(outcome, model, kind, load_ns=load_ns)
        if fault is not None and fault.break_after is not None:
            text = json.dumps(data).encode()
            cut = dataclasses.replace(fault, break_after=1, error_after=None, first_chunk_delay=0)
            halves = [text[: len(text) // 2], text[len(text) // 2 :]]
            return send_frames(halves, cut, content_type="application/json; charset=utf-8")
        return json_response(data)

    async def chat(request: Request) -> Response:
        return await answer(request, "chat")

    async def generate(request: Request) -> Response:
        return await answer(request, "generate")

    async def embed(request: Request) -> Response:
        started = await prelude(request, streams=False)
        if isinstance(started, Response):
            return started
        body, model, _ = started
        entry = models[model]
        raw = body.get("input") or []
        inputs = [raw] if isinstance(raw, str) else raw
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            return _error(400, "invalid input type")
        counts = [count_tokens(text) for text in inputs]
        if body.get("truncate") is False and any(c > entry.context_length for c in counts):
            return _error(400, "the input length exceeds the context length")
        dimensions = body.get("dimensions")
        size = dimensions if isinstance(dimensions, int) and dimensions > 0 else None
        vectors = [list(embed_text(t, size or entry.embedding_length)) for t in inputs]
        return json_response(
            {
                "model": model,
                "embeddings": vectors,
                "total_duration": _LOAD_NS + 1_000_000 * len(inputs),
                "load_duration": _LOAD_NS,
                "prompt_eval_count": sum(counts),
            }
        )

    async def embeddings(request: Request) -> Response:
        started = await prelude(request, streams=False)
        if isinstance(started, Response):
            return started
        body, model, _ = started
        prompt = _text(body.get("prompt"))
        vector = list(embed_text(prompt, models[model].embedding_length)) if prompt else []
        return json_response({"embedding": vector})

    async def tags(request: Request) -> Response:
        await receive(request, state)
        return json_response({"models": [model_entry(models[name]) for name in models]})

    async def running(request: Request) -> Response:
        await receive(request, state)
        entries = [model_entry(m, loaded=True, context_length=n) for m, n in models.running()]
        return json_response({"models": entries})

    async def named(request: Request) -> tuple[dict[str, Any], str] | Response:
        recorded = await receive(request, state)
        body = recorded.json if isinstance(recorded.json, dict) else {}
        name = body.get("model") or body.get("name")
        if not isinstance(name, str) or not name:
            return _error(400, "model is required")
        return body, name

    async def show(request: Request) -> Response:
        started = await named(request)
        if isinstance(started, Response):
            return started
        name = started[1]
        if name not in models:
            return _error(404, f"model '{name}' not found")
        return json_response(show_body(models[name]))

    async def delete(request: Request) -> Response:
        started = await named(request)
        if isinstance(started, Response):
            return started
        name = started[1]
        if name not in models:
            return _error(404, f"model '{name}' not found")
        models.remove(name)
        return Response(b"", 200)

    async def pull(request: Request) -> Response:
        started = await named(request)
        if isinstance(started, Response):
            return started
        body, name = started
        fault = state.take_fault(name)
        if failed := await fault_response(fault, error_body):
            return failed
        stream = body.get("stream") is not False
        if name.rpartition("/")[2].startswith(UNKNOWN_MODEL_PREFIX):
            if not stream:
                return _error(500, _PULL_FAILED)
            lines = [line({"status": "pulling manifest"}), line({"error": _PULL_FAILED})]
            return send_frames(lines, None, content_type=_NDJSON)
        pulled = models[name] if name in models else describe_model(full_model_name(name))
        broken = fault is not None and (
            fault.break_after is not None or fault.error_after is not None
        )
        if not broken:
            models[name] = pulled
        if not stream:
            return json_response({"status": "success"})
        return send_frames(pull_lines(pulled), fault, content_type=_NDJSON, error_frame=error_line)

    async def version(request: Request) -> Response:
        await receive(request, state)
        return json_response({"version": VERSION})

    async def root(request: Request) -> Response:
        await receive(request, state)
        return PlainTextResponse("Ollama is running")

    return [
        Route("/", root, methods=["GET"]),
        Route("/api/version", version, methods=["GET"]),
        Route("/api/chat", chat, methods=["POST"]),
        Route("/api/generate", generate, methods=["POST"]),
        Route("/api/embed", embed, methods=["POST"]),
        Route("/api/embeddings", embeddings, methods=["POST"]),
        Route("/api/tags", tags, methods=["GET"]),
        Route("/api/ps", running, methods=["GET"]),
        Route("/api/show", show, methods=["POST"]),
        Route("/api/pull", pull, methods=["POST"]),
        Route("/api/delete", delete, methods=["DELETE"]),
    ]


PROTOCOL = Protocol(name="ollama", prefix="/api", routes=_routes, error_body=error_body)
"""The Ollama protocol, as the emulator mounts it."""
