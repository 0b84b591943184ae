"""The Hugging Face protocols: the Inference Providers router, the Hub API, TGI and TEI.

Everything lives under ``/huggingface``, one prefix per server ``huggingface_hub`` talks to:

- ``/huggingface/router``: the Inference Providers router. ``POST /v1/chat/completions``
  (OpenAI chat; the model is ``org/name``, ``org/name:provider`` or ``org/name:policy``),
  ``POST /{provider}/v1/chat/completions`` (the route the SDK builds itself for a named
  provider, with the provider's own model id) and
  ``POST /hf-inference/models/{model}/pipeline/feature-extraction`` (embeddings). A token
  that does not start with ``hf_`` is refused (401), as the router refuses it.
- ``/huggingface/hub``: ``GET /api/models/{id}`` (``expand[]`` honoured, with the
  ``inferenceProviderMapping`` of :func:`provider_mapping`) and ``GET /api/models``
  (``pipeline_tag``, ``inference_provider``, ``search``, ``limit``).
- ``/huggingface/tgi``: text-generation-inference, as a dedicated Inference Endpoint serves
  it: ``POST /`` (the compat route the SDK posts to: a list, or SSE when ``stream``),
  ``/generate``, ``/generate_stream``, ``/v1/chat/completions``, ``GET /info`` and
  ``/health``. Parameters are validated as TGI validates them (422 ``validation``).
- ``/huggingface/tei``: text-embeddings-inference: ``POST /`` and ``/embed`` (``[[...]]``),
  ``GET /info``.

Errors are Hugging Face's: ``{"error": "...", "error_type": "..."}``. A 503 made with
:func:`model_loading` says the model is loading and carries ``estimated_time``. Models whose
name starts with ``no-such-`` do not exist; embedding models are recognised by their names
(``sentence-transformers/``, ``bge``, ``e5``, ``embed``, ``MiniLM``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from polyvox.core.keywords import OPENAI_COMPATIBLE_FIELDS
from polyvox.testing.emulator import huggingface_tgi as tgi
from polyvox.testing.emulator.auto import auto_reply
from polyvox.testing.emulator.embedding_vectors import embed_text
from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.huggingface_errors import error_body, error_response, model_loading
from polyvox.testing.emulator.openai_protocol import CHAT_FIELDS, parse_chat_request
from polyvox.testing.emulator.openai_render import (
    DONE_FRAME,
    chunk_frames,
    completion_body,
    malformed_body,
    malformed_frame,
)
from polyvox.testing.emulator.outcome import make_outcome
from polyvox.testing.emulator.protocol import (
    Protocol,
    dump_json,
    fault_response,
    json_response,
    raw_response,
    receive,
)
from polyvox.testing.emulator.state import EmulatorState, RecordedRequest
from polyvox.testing.emulator.streaming import send_frames
from polyvox.testing.emulator.tokens import split_tokens

__all__ = [
    "HUB",
    "PREFIX",
    "PROTOCOL",
    "PROVIDERS",
    "ROUTER",
    "TEI",
    "TGI",
    "error_body",
    "is_embedding_model",
    "model_loading",
    "provider_mapping",
]

PREFIX = "/huggingface"
"""Where every Hugging Face server of the emulator lives."""
ROUTER = f"{PREFIX}/router"
"""The Inference Providers router (``https://router.huggingface.co``)."""
HUB = f"{PREFIX}/hub"
"""The Hub API (``https://huggingface.co``, ``HF_ENDPOINT``)."""
TGI = f"{PREFIX}/tgi"
"""A dedicated endpoint running text-generation-inference."""
TEI = f"{PREFIX}/tei"
"""A dedicated endpoint running text-embeddings-inference."""

PROVIDERS = ("together", "fireworks-ai", "novita", "hf-inference")
"""The providers the emulated router maps every chat model to, in the Hub's order."""
_POLICIES = frozenset({"fastest", "cheapest", "preferred"})
_SSE = "text/event-stream"
_TEI_FIELDS = frozenset(
    {"inputs", "normalize", "prompt_name", "truncate", "truncation_direction", "dimensions"}
)
_ROUTER_CHAT_FIELDS = CHAT_FIELDS | OPENAI_COMPATIBLE_FIELDS | {"tool_prompt"}
_EMBEDDING_MARKERS = ("sentence-transformers/", "bge", "e5-", "embed", "minilm", "gte-")


def is_embedding_model(model: str) -> bool:
    """Whether the emulator treats ``model`` as an embedding (feature-extraction) model.

    Args:
        model: The Hub model id.

    Returns:
        True for names with an embedding marker (``bge``, ``e5-``, ``MiniLM``, ...).
    """
    lowered = model.lower()
    return any(marker in lowered for marker in _EMBEDDING_MARKERS)


def provider_mapping(model: str) -> dict[str, dict[str, Any]]:
    """The ``inferenceProviderMapping`` the emulated Hub gives a model.

    Args:
        model: The Hub model id.

    Returns:
        Provider → ``{"status", "providerId", "task"}``; empty for an unknown model.
    """
    if model.startswith("no-such-"):
        return {}
    if is_embedding_model(model):
        return {
            "hf-inference": {"status": "live", "providerId": model, "task": "feature-extraction"}
        }
    return {
        provider: {
            "status": "live",
            # novita names models in lower case, as the recorded stream shows
            "providerId": model.lower() if provider == "novita" else model,
            "task": "conversational",
        }
        for provider in PROVIDERS
    }


def _token(recorded: RecordedRequest) -> str | None:
    scheme, _, key = recorded.headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


def _router_auth(recorded: RecordedRequest) -> Response | None:
    token = _token(recorded)
    if token is None:
        return error_response(
            401, "You must provide a Hugging Face token (Authorization: Bearer hf_...)"
        )
    if not token.startswith("hf_") or token.startswith("hf_invalid"):
        return error_response(401, "Invalid credentials in Authorization header")
    return None


def _endpoint_auth(recorded: RecordedRequest) -> Response | None:
    """A dedicated endpoint: public without a token; a token starting ``invalid`` is refused."""
    token = _token(recorded)
    if token is not None and token.startswith(("invalid", "hf_invalid")):
        return error_response(401, "Invalid credentials in Authorization header")
    return None


async def _start(
    request: Request,
    state: EmulatorState,
    auth: Callable[[RecordedRequest], Response | None],
    model_of: Callable[[dict[str, Any]], str | None] | None = None,
) -> Response | tuple[dict[str, Any], str | None, Fault | None]:
    """Record, authenticate, parse, apply a pending fault or a raw scripted reply."""
    recorded = await receive(request, state)
    if denied := auth(recorded):
        return denied
    if not isinstance(recorded.json, dict):
        return error_response(
            422, "Failed to deserialize the JSON body into the target type", "validation"
        )
    body = recorded.json
    model: str | None = model_of(body) if model_of is not None else None
    fault = state.take_fault(model)
    if failed := await fault_response(fault, error_body):
        return failed
    if fault is not None and fault.malformed:
        return _malformed(body, fault)
    reply = state.take_reply(model, raw_only=True)
    if reply is not None and reply.raw_response is not None:
        raw = reply.raw_response
        return raw_response(raw.body, raw.content_type, raw.status)
    return body, model, fault


def _malformed(body: Mapping[str, Any], fault: Fault) -> Response:
    """A 200 that cannot be read: the fault's own body (empty, say), or JSON cut short."""
    kind = _SSE if body.get("stream") else "application/json"
    if isinstance(fault.body, str):
        return raw_response(fault.body.encode(), kind)
    if body.get("stream"):
        return send_frames([malformed_frame()], None, content_type=_SSE, tail=[DONE_FRAME])
    return raw_response(malformed_body(), kind)


# ---- chat (router and TGI's messages API) ---------------------------------------------


def _route_model(model: str, provider: str | None) -> tuple[str, str | None] | Response:
    """The model a router request names, and the provider serving it (or an error)."""
    base, _, suffix = model.partition(":")
    if provider is None and suffix and suffix not in _POLICIES:
        provider = suffix
    elif provider is None:
        provider = PROVIDERS[0]
    if provider is not None and provider != PROVIDERS[0] and provider not in PROVIDERS:
        return error_response(
            400, f"Provider '{provider}' is not supported. Known: {list(PROVIDERS)}"
        )
    if base.startswith("no-such-"):
        return error_response(404, f"Model {base} does not exist")
    if is_embedding_model(base):
        return error_response(400, f"Model {base} is not supported for task conversational")
    return base, provider


def _chat(
    body: Mapping[str, Any], model: str, state: EmulatorState, fault: Fault | None
) -> Response:
    for name in body:
        if name not in _ROUTER_CHAT_FIELDS:
            return error_response(422, f"Unknown field `{name}` in the chat request", "validation")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return error_response(422, "`messages` must be a non-empty list", "validation")
    fmt = body.get("response_format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_object" and "value" in fmt:
        # TGI's grammar form, which huggingface_hub sends for a JSON schema
        body = {
            **body,
            "response_format": {"type": "json_schema", "json_schema": {"schema": fmt["value"]}},
        }
    chat = parse_chat_request(body)
    reply = state.take_reply(model) or state.take_reply(str(body.get("model"))) or auto_reply(chat)
    outcome = make_outcome(reply, chat, fault)
    if not chat.stream:
        if fault is not None and fault.break_after is not None:
            return _cut_body(dump_json(completion_body(outcome, model)), fault)
        return json_response(completion_body(outcome, model))
    options = body.get("stream_options") or {}
    frames = chunk_frames(outcome, model, include_usage=bool(options.get("include_usage")))
    return send_frames(
        frames, fault, content_type=_SSE, tail=[DONE_FRAME], error_frame=_stream_error_frame
    )


def _cut_body(data: bytes, fault: Fault) -> Response:
    """A JSON answer whose connection drops halfway (a broken stream fault on a plain call)."""
    cut = dataclasses.replace(fault, break_after=1, error_after=None)
    halves = [data[: len(data) // 2], data[len(data) // 2 :]]
    return send_frames(halves, cut, content_type="application/json")


def _stream_error_frame(fault: Fault) -> bytes:
    error = {
        "error": fault.message or "Request failed during generation",
        "error_type": "generation",
    }
    return b"data:" + dump_json(error) + b"\n\n"


# ---- TGI's native generate ------------------------------------------------------------


def _embed(body: Mapping[str, Any], model: str) -> Response:
    for name in body:
        if name not in _TEI_FIELDS:
            return error_response(
                422, f"Failed to deserialize the JSON body: unknown field `{name}`", "validation"
            )
    inputs = body.get("inputs")
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        return error_response(
            422, "`inputs` must be a string or a non-empty list of strings", "validation"
        )
    size = int(body.get("dimensions") or (384 if "minilm" in model.lower() else 768))
    limit = 512
    too_long = [t for t in texts if len(split_tokens(t)) > limit]
    if too_long and body.get("truncate") is False:
        return error_response(
            413,
            f"Input validation error: `inputs` must have less than {limit} tokens. Given: "
            f"{len(split_tokens(too_long[0]))}",
            "validation",
        )
    vectors = []
    for text in texts:
        vector = list(embed_text(" ".join(split_tokens(text)[:limit]), size))
        if body.get("normalize") is False:  # TEI's raw vectors are not unit length
            vector = [value * 3.0 for value in vector]
        vectors.append(vector)
    return json_response(vectors)


# ---- the Hub -----------------------------------------------------------------------------


def _model_info(model: str, expand: list[str]) -> dict[str, Any]:
    embedding = is_embedding_model(model)
    info: dict[str, Any] = {
        "_id": f"emulated-{abs(hash(model)) % 10**8}",
        "id": model,
        "modelId": model,
        "author": model.split("/")[0] if "/" in model else None,
        "private": False,
        "gated": "manual" if "llama" in model.lower() else False,
        "disabled": False,
        "downloads": 1000 + len(model) * 37,
        "likes": len(model),
        "library_name": "sentence-transformers" if embedding else "transformers",
        "pipeline_tag": "feature-extraction" if embedding else "text-generation",
        "tags": ["feature-extraction" if embedding else "text-generation", "license:apache-2.0"],
        "cardData": {"license": "apache-2.0"},
        "config": {"max_position_embeddings": 512 if embedding else 32768},
        "inferenceProviderMapping": provider_mapping(model),
    }
    if expand:
        keep = {*expand, "_id", "id"}
        info = {key: value for key, value in info.items() if key in keep}
    return info


def _routes(state: EmulatorState) -> list[BaseRoute]:
    def router_model(body: Mapping[str, Any]) -> str | None:
        return str(body["model"]).partition(":")[0] if body.get("model") else None

    async def router_chat(request: Request) -> Response:
        started = await _start(request, state, _router_auth, router_model)
        if isinstance(started, Response):
            return started
        body, _, fault = started
        if not body.get("model"):
            return error_response(422, "`model` is required", "validation")
        provider = request.path_params.get("provider")
        routed = _route_model(str(body["model"]), provider)
        if isinstance(routed, Response):
            return routed
        model, _ = routed
        return _chat(body, model, state, fault)

    async def router_embed(request: Request) -> Response:
        model = str(request.path_params["model"])
        started = await _start(request, state, _router_auth, lambda _: model)
        if isinstance(started, Response):
            return started
        if model.startswith("no-such-"):
            return error_response(404, f"Model {model} does not exist")
        if not is_embedding_model(model):
            return error_response(
                400, f"Model {model} is not supported for task feature-extraction"
            )
        return _embed(started[0], model)

    async def tgi_compat(request: Request) -> Response:
        started = await _start(request, state, _endpoint_auth)
        if isinstance(started, Response):
            return started
        body, _, fault = started
        stream = bool(body.get("stream"))
        if "stream" in body and not isinstance(body["stream"], bool):
            return error_response(422, "`stream` must be a boolean", "validation")
        clean = {k: v for k, v in body.items() if k != "stream"}
        if "messages" in clean:
            return error_response(
                422, "Failed to deserialize the JSON body: missing field `inputs`", "validation"
            )
        return _tgi(clean, stream, fault, as_list=request.url.path.rstrip("/") == TGI)

    async def tgi_generate(request: Request) -> Response:
        started = await _start(request, state, _endpoint_auth)
        if isinstance(started, Response):
            return started
        body, _, fault = started
        return _tgi(body, request.url.path.endswith("_stream"), fault, as_list=False)

    def _tgi(body: dict[str, Any], stream: bool, fault: Fault | None, *, as_list: bool) -> Response:
        if invalid := tgi.tgi_invalid(body):
            return invalid
        text, finish, prompt, count = tgi.generation(body, state, fault)
        if stream:
            seed = (body.get("parameters") or {}).get("seed")
            frames = tgi.generate_frames(text, finish, count, seed)
            return send_frames(frames, fault, content_type=_SSE, error_frame=_stream_error_frame)
        out = tgi.generated(body, text, finish, prompt, count)
        return json_response([out] if as_list else out)

    async def tgi_chat(request: Request) -> Response:
        started = await _start(request, state, _endpoint_auth, lambda _: tgi.TGI_MODEL)
        if isinstance(started, Response):
            return started
        body, _, fault = started
        return _chat(body, tgi.TGI_MODEL, state, fault)

    async def tgi_info(request: Request) -> Response:
        await receive(request, state)
        return json_response(
            {
                "model_id": tgi.TGI_MODEL,
                "model_dtype": "torch.float16",
                "max_input_tokens": 4095,
                "max_total_tokens": 4096,
                "max_stop_sequences": tgi.TGI_MAX_STOP,
                "version": "3.3.4",
                "router": "text-generation-router",
            }
        )

    async def health(request: Request) -> Response:
        await receive(request, state)
        return Response(b"", 200)

    async def tei_embed(request: Request) -> Response:
        started = await _start(request, state, _endpoint_auth, lambda _: "tei-model")
        if isinstance(started, Response):
            return started
        return _embed(started[0], "tei-model")

    async def tei_info(request: Request) -> Response:
        await receive(request, state)
        return json_response(
            {
                "model_id": "tei-model",
                "model_type": {"embedding": {"pooling": "mean"}},
                "max_input_length": 512,
            }
        )

    async def hub_model(request: Request) -> Response:
        await receive(request, state)
        model = str(request.path_params["model"])
        if failed := await fault_response(state.take_fault(model), error_body):
            return failed
        if model.startswith("no-such-"):
            return json_response(
                {"error": "Repository not found"}, 404, {"x-error-code": "RepoNotFound"}
            )
        expand = request.query_params.getlist("expand[]") or request.query_params.getlist("expand")
        return json_response(_model_info(model, expand))

    async def hub_models(request: Request) -> Response:
        await receive(request, state)
        if failed := await fault_response(state.take_fault(None), error_body):
            return failed
        query = request.query_params
        candidates = [
            "meta-llama/Llama-3.3-70B-Instruct",
            "Qwen/Qwen2.5-72B-Instruct",
            "deepseek-ai/DeepSeek-R1",
            "mistralai/Mistral-7B-Instruct-v0.3",
            "sentence-transformers/all-MiniLM-L6-v2",
            "BAAI/bge-m3",
        ]
        found = []
        for model in candidates:
            info = _model_info(model, [])
            task = query.get("pipeline_tag")
            provider = query.get("inference_provider")
            search = query.get("search")
            if task and info["pipeline_tag"] != task:
                continue
            if provider and provider != "all" and provider not in provider_mapping(model):
                continue
            if search and search.lower() not in model.lower():
                continue
            found.append(
                {
                    k: info[k]
                    for k in (
                        "_id",
                        "id",
                        "pipeline_tag",
                        "library_name",
                        "downloads",
                        "likes",
                        "tags",
                    )
                }
            )
        limit = query.get("limit")
        if limit is not None and limit.isdigit():
            found = found[: int(limit)]
        return json_response(found)

    return [
        Route(f"{ROUTER}/v1/chat/completions", router_chat, methods=["POST"]),
        Route(
            f"{ROUTER}/hf-inference/models/{{model:path}}/pipeline/feature-extraction",
            router_embed,
            methods=["POST"],
        ),
        Route(f"{ROUTER}/{{provider}}/v1/chat/completions", router_chat, methods=["POST"]),
        Route(f"{HUB}/api/models", hub_models, methods=["GET"]),
        Route(f"{HUB}/api/models/{{model:path}}", hub_model, methods=["GET"]),
        Route(TGI, tgi_compat, methods=["POST"]),
        Route(f"{TGI}/", tgi_compat, methods=["POST"]),
        Route(f"{TGI}/generate", tgi_generate, methods=["POST"]),
        Route(f"{TGI}/generate_stream", tgi_generate, methods=["POST"]),
        Route(f"{TGI}/v1/chat/completions", tgi_chat, methods=["POST"]),
        Route(f"{TGI}/info", tgi_info, methods=["GET"]),
        Route(f"{TGI}/health", health, methods=["GET"]),
        Route(TEI, tei_embed, methods=["POST"]),
        Route(f"{TEI}/", tei_embed, methods=["POST"]),
        Route(f"{TEI}/embed", tei_embed, methods=["POST"]),
        Route(f"{TEI}/info", tei_info, methods=["GET"]),
        Route(f"{TEI}/health", health, methods=["GET"]),
    ]


PROTOCOL = Protocol(name="huggingface", prefix=PREFIX, routes=_routes, error_body=error_body)
"""The Hugging Face protocols, as the emulator mounts them."""
