"""GigaChat: the OAuth endpoint and the v1 API (chat, models, embeddings, tokens, balance).

Point the official SDK at it: ``gigachat.GigaChat(base_url=emu.gigachat_base_url,
auth_url=emu.gigachat_auth_url, credentials=...)`` (plain ``http``: no certificate).

* ``POST /api/v2/oauth`` wants ``Authorization: Basic <base64 client_id:client_secret>``, an
  ``RqUID`` header (a UUID) and the form field ``scope`` (``GIGACHAT_API_PERS``, ``_B2B``,
  ``_CORP``); it answers ``{"access_token", "expires_at"}`` (Unix milliseconds, 30 minutes
  on). A key that is not base64, or decodes to something starting with ``invalid``, gets
  401 ``{"code": 6, "message": "credentials doesn't match db data"}``.
  ``POST /api/v1/token`` does the same for user and password (``{"tok", "exp"}``).
* Every ``/api/v1`` call wants ``Authorization: Bearer <a token it issued>``; an unknown,
  expired or revoked token gets 401 ``{"status": 401, "message": "Token has expired"}``.
  :func:`tokens_for` gives tests the issued tokens, their lifetime, and ``expire_all()``.
* ``POST /api/v1/chat/completions`` is validated as the API does (422 with GigaChat's
  wording): unknown fields; roles; a system message after the first; a ``function``
  message without ``name`` or whose content is not JSON; ``function_call.arguments`` that
  are not an object; functions without ``name``, and parameter schemas GigaChat refuses — an
  object without ``properties`` (langchain-gigachat's 422 on nested models), ``anyOf`` /
  ``oneOf`` / ``allOf`` / ``$ref``; a forced function that is not among ``functions``. A
  model named ``no-such-...`` gets 404 ``No such model``.

Answers come from the script queue, else the auto behaviour. Streams follow GigaChat's
quirks: ``object`` is ``chat.completion`` in chunks too, usage comes in the last chunk, then
``data: [DONE]``. A content-filter fault answers with ``finish_reason: blacklist``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import secrets
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from polyvox.testing.emulator.auto import auto_reply
from polyvox.testing.emulator.conversation import ChatMessage, ChatRequest, ToolSpec
from polyvox.testing.emulator.embedding_vectors import embed_text
from polyvox.testing.emulator.gigachat_render import (
    completion_body,
    completion_frames,
    error_body,
    error_frame,
    malformed_frame,
    tokens_body,
)
from polyvox.testing.emulator.openai_protocol import UNKNOWN_MODEL_PREFIX
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
from polyvox.testing.emulator.tokens import count_tokens

__all__ = ["CHAT_FIELDS", "PROTOCOL", "GigaChatTokens", "parse_chat_request", "tokens_for"]

CHAT_FIELDS = frozenset(
    {
        "model", "messages", "temperature", "top_p", "n", "stream", "max_tokens",
        "repetition_penalty", "update_interval", "profanity_check", "function_call",
        "functions", "flags", "storage", "function_ranker", "response_format",
        "reasoning_effort",
    }
)  # fmt: skip
"""The fields of a v1 chat request; GigaChat answers 422 to any other."""

_MESSAGE_FIELDS = frozenset({"role", "content", "function_call", "name", "attachments",
                             "functions_state_id", "reasoning_content", "id",
                             "data_for_context"})  # fmt: skip
_ROLES = frozenset({"system", "user", "assistant", "function", "search_result",
                    "function_in_progress"})  # fmt: skip
_SCOPES = frozenset({"GIGACHAT_API_PERS", "GIGACHAT_API_B2B", "GIGACHAT_API_CORP"})
_SSE = "text/event-stream"
_MODELS = ("GigaChat", "GigaChat-2", "GigaChat-2-Pro", "GigaChat-2-Max", "GigaChat-Pro",
           "GigaChat-Max")  # fmt: skip
_EMBEDDERS = ("Embeddings", "Embeddings-2", "EmbeddingsGigaR")
_EMBEDDING_DIMENSIONS = 1024


@dataclass
class GigaChatTokens:
    """The OAuth tokens the emulator issued, and how long new ones live."""

    lifetime_ms: int = 30 * 60 * 1000
    """Lifetime of a new token (GigaChat's: 30 minutes)."""

    issued: dict[str, int] = field(default_factory=dict)
    """Token -> ``expires_at`` (Unix ms), for every token issued and not expired by hand."""

    fetches: int = 0
    """How many tokens were issued."""

    replays: deque[tuple[str, int]] = field(default_factory=deque)
    """OAuth bodies to answer with before issuing tokens (a recorded exchange): the body and
    its status; a replayed ``access_token`` is honoured by the API until its ``expires_at``."""

    def issue(self) -> tuple[str, int]:
        """Issue a token.

        Returns:
            The token and its ``expires_at``.
        """
        token = "emu." + secrets.token_urlsafe(24)
        expires = int(time.time() * 1000) + self.lifetime_ms
        self.issued[token] = expires
        self.fetches += 1
        return token, expires

    def replay(self, body: str, status: int = 200) -> None:
        """Answer the next OAuth request with ``body`` (a recorded exchange).

        Args:
            body: The exact body.
            status: Its status.
        """
        self.replays.append((body, status))

    def valid(self, token: str) -> bool:
        """Whether ``token`` was issued and has not expired."""
        expires = self.issued.get(token)
        return expires is not None and expires > time.time() * 1000

    def expire_all(self) -> None:
        """Make every token issued so far expired (the next calls get 401)."""
        self.issued.clear()


_registries: weakref.WeakKeyDictionary[EmulatorState, GigaChatTokens] = weakref.WeakKeyDictionary()
_registries_lock = threading.Lock()


def tokens_for(state: EmulatorState) -> GigaChatTokens:
    """The GigaChat tokens of an emulator's state (made on first use).

    Args:
        state: The emulator's state (``emulator.state``).

    Returns:
        Its tokens.
    """
    with _registries_lock:
        tokens = _registries.get(state)
        if tokens is None:
            tokens = _registries[state] = GigaChatTokens()
        return tokens


class _InvalidError(Exception):
    """A request GigaChat refuses: its status and message."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def _error(status: int, message: str) -> Response:
    return json_response({"status": status, "message": message}, status)


def _basic(recorded: RecordedRequest) -> str | None:
    scheme, _, value = recorded.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def _unauthorized(state: EmulatorState, recorded: RecordedRequest) -> Response | None:
    scheme, _, token = recorded.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not tokens_for(state).valid(token.strip()):
        return _error(401, "Token has expired")
    return None


# ---- validation -----------------------------------------------------------------------


def _check_schema(node: Any, path: tuple[str, ...] = ()) -> None:
    if isinstance(node, list):
        for item in node:
            _check_schema(item, path)
        return
    if not isinstance(node, Mapping):
        return
    where = ".".join(path) or "parameters"
    for key in ("anyOf", "oneOf", "allOf", "$ref"):
        if key in node:
            raise _InvalidError(f"Invalid function parameters: '{key}' is not supported at {where}")
    if node.get("type") == "object" and not isinstance(node.get("properties"), Mapping):
        raise _InvalidError(f"Field '{'.'.join((*path, 'properties'))}' is missing")
    for name, sub in (node.get("properties") or {}).items():
        _check_schema(sub, (*path, "properties", str(name)))
    if "items" in node:
        _check_schema(node["items"], (*path, "items"))


def _check_functions(body: Mapping[str, Any]) -> list[str]:
    functions = body.get("functions") or []
    if not isinstance(functions, list):
        raise _InvalidError("Field 'functions' must be a list")
    names = []
    for index, function in enumerate(functions):
        if not isinstance(function, Mapping) or not function.get("name"):
            raise _InvalidError(f"Field 'functions.{index}.name' is missing")
        names.append(str(function["name"]))
        if "parameters" in function:
            _check_schema(function["parameters"])
    choice = body.get("function_call")
    if isinstance(choice, Mapping) and choice.get("name") not in names:
        raise _InvalidError(f"Function '{choice.get('name')}' not found in 'functions'")
    if choice is not None and not isinstance(choice, Mapping) and choice not in ("auto", "none"):
        raise _InvalidError("Field 'function_call' must be 'auto', 'none' or {\"name\": ...}")
    return names


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise _InvalidError("Field 'messages' must be a non-empty list")
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise _InvalidError(f"Field 'messages.{index}' must be an object")
        if extra := set(message) - _MESSAGE_FIELDS:
            raise _InvalidError(f"Unknown field 'messages.{index}.{sorted(extra)[0]}'")
        role = message.get("role")
        if role not in _ROLES:
            raise _InvalidError(f"Invalid role '{role}' in 'messages.{index}'")
        if role == "system" and index != 0:
            raise _InvalidError("System message must be the first message")
        if role == "function":
            if not message.get("name"):
                raise _InvalidError(f"Field 'messages.{index}.name' is missing (a function result)")
            try:
                json.loads(str(message.get("content") or ""))
            except ValueError:
                raise _InvalidError("Invalid function result json string") from None
        call = message.get("function_call")
        if call is not None and not isinstance((call or {}).get("arguments", {}), Mapping):
            raise _InvalidError(f"'messages.{index}.function_call.arguments' must be an object")


def _check_chat(body: Any) -> None:
    if not isinstance(body, Mapping):
        raise _InvalidError("Invalid JSON body", 400)
    if extra := set(body) - CHAT_FIELDS:
        raise _InvalidError(f"Unknown field '{sorted(extra)[0]}'")
    if not body.get("model"):
        raise _InvalidError("Field 'model' is missing")
    _check_messages(body.get("messages"))
    _check_functions(body)


def parse_chat_request(body: Mapping[str, Any]) -> ChatRequest:
    """Read a v1 chat request into the protocol-neutral form.

    Args:
        body: The request JSON (already checked).

    Returns:
        The neutral request: ``function`` results are ``tool`` messages.
    """
    messages = []
    for message in body.get("messages") or ():
        role = str(message.get("role"))
        text = str(message.get("content") or "")
        if role == "function":
            messages.append(ChatMessage("tool", text, name=message.get("name")))
        else:
            messages.append(ChatMessage(role, text))
    tools = [ToolSpec(str(f["name"]), str(f.get("description") or ""), f.get("parameters") or {})
             for f in body.get("functions") or ()]  # fmt: skip
    choice = body.get("function_call")
    mode: Literal["auto", "none", "required"] = "auto"
    if choice == "none":
        mode = "none"
    elif isinstance(choice, Mapping):
        mode = "required"
    fmt = body.get("response_format")
    schema = fmt.get("schema") if isinstance(fmt, Mapping) else None
    return ChatRequest(
        model=str(body.get("model", "")),
        messages=messages,
        tools=tools,
        tool_choice=mode,
        forced_tool=choice.get("name") if isinstance(choice, Mapping) else None,
        parallel_tool_calls=False,
        response_format="json_schema" if isinstance(schema, Mapping) else "text",
        response_schema=schema if isinstance(schema, Mapping) else None,
        max_tokens=body.get("max_tokens") if isinstance(body.get("max_tokens"), int) else None,
        stream=bool(body.get("stream")),
        extra_prompt_texts=[str(body.get("functions"))] if tools else [],
    )


# ---- routes ---------------------------------------------------------------------------


def _routes(state: EmulatorState) -> list[BaseRoute]:
    async def oauth(request: Request) -> Response:
        recorded = await receive(request, state)
        form = {k: v[0] for k, v in parse_qs(recorded.body.decode("utf-8", "replace")).items()}
        if not recorded.headers.get("rquid"):
            return json_response({"code": 5, "message": "RqUID header is required"}, 400)
        try:
            uuid.UUID(recorded.headers["rquid"])
        except ValueError:
            return json_response({"code": 5, "message": "Invalid RqUID"}, 400)
        credentials = _basic(recorded)
        if not credentials or credentials.startswith("invalid"):
            return json_response({"code": 6, "message": "credentials doesn't match db data"}, 401)
        if form.get("scope") not in _SCOPES:
            return json_response({"code": 7, "message": "scope from db not fully includes "
                                  "consumed scope"}, 400)  # fmt: skip
        tokens = tokens_for(state)
        if tokens.replays:
            body, status = tokens.replays.popleft()
            data = json.loads(body) if status == 200 else {}
            if isinstance(data, dict) and data.get("access_token"):
                tokens.issued[str(data["access_token"])] = int(data.get("expires_at") or 0)
                tokens.fetches += 1
            return raw_response(body, "application/json", status)
        token, expires = tokens.issue()
        return json_response({"access_token": token, "expires_at": expires})

    async def password(request: Request) -> Response:
        recorded = await receive(request, state)
        credentials = _basic(recorded)
        if not credentials or ":" not in credentials or credentials.startswith("invalid"):
            return _error(401, "Unauthorized")
        token, expires = tokens_for(state).issue()
        return json_response({"tok": token, "exp": expires})

    async def prelude(request: Request) -> tuple[RecordedRequest, Any] | Response:
        recorded = await receive(request, state)
        if denied := _unauthorized(state, recorded):
            return denied
        return recorded, recorded.json

    async def chat(request: Request) -> Response:
        started = await prelude(request)
        if isinstance(started, Response):
            return started
        _, body = started
        try:
            _check_chat(body)
        except _InvalidError as exc:
            return _error(exc.status, str(exc))
        model = str(body["model"])
        if model.startswith(UNKNOWN_MODEL_PREFIX):
            return _error(404, "No such model")
        fault = state.take_fault(model)
        if failed := await fault_response(fault, error_body):
            return failed
        stream = bool(body.get("stream"))
        if fault is not None and fault.malformed:
            if isinstance(fault.body, str):
                return raw_response(fault.body.encode(), _SSE if stream else "application/json")
            if stream:
                return send_frames([malformed_frame()], None, content_type=_SSE)
            return raw_response(b'{"choices":[{"message":', "application/json")
        reply = state.take_reply(model)
        if reply is not None and reply.raw_response is not None:
            raw = reply.raw_response
            return raw_response(raw.body, raw.content_type, raw.status)
        request_ = parse_chat_request(body)
        outcome = make_outcome(reply or auto_reply(request_), request_, fault)
        if not stream:
            if fault is not None and fault.break_after is not None:
                data = dump_json(completion_body(outcome, model))
                cut = dataclasses.replace(fault, break_after=1, error_after=None)
                halves = [data[: len(data) // 2], data[len(data) // 2 :]]
                return send_frames(halves, cut, content_type="application/json")
            return json_response(completion_body(outcome, model))
        frames = completion_frames(outcome, model)
        return send_frames(frames, fault, content_type=_SSE, tail=[b"data: [DONE]\n\n"],
                           error_frame=error_frame)  # fmt: skip

    def replayed(model: str | None) -> Response | None:
        reply = state.take_reply(model, raw_only=True)
        if reply is None or reply.raw_response is None:
            return None
        raw = reply.raw_response
        return raw_response(raw.body, raw.content_type, raw.status)

    async def models(request: Request) -> Response:
        started = await prelude(request)
        if isinstance(started, Response):
            return started
        if answer := replayed(None):
            return answer
        data = [{"id": m, "object": "model", "owned_by": "salutedevices", "type": "chat"}
                for m in _MODELS]  # fmt: skip
        data += [{"id": m, "object": "model", "owned_by": "salutedevices", "type": "embedder"}
                 for m in _EMBEDDERS]  # fmt: skip
        return json_response({"object": "list", "data": data})

    async def embeddings(request: Request) -> Response:
        started = await prelude(request)
        if isinstance(started, Response):
            return started
        _, body = started
        texts = body.get("input") if isinstance(body, Mapping) else None
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return _error(422, "Field 'input' must be a list of strings")
        if extra := set(body) - {"input", "model"}:
            return _error(422, f"Unknown field '{sorted(extra)[0]}'")
        model = str(body.get("model") or "Embeddings")
        if model.startswith(UNKNOWN_MODEL_PREFIX):
            return _error(404, "No such model")
        if failed := await fault_response(state.take_fault(model), error_body):
            return failed
        if answer := replayed(model):
            return answer
        data = [
            {"object": "embedding", "index": i, "usage": {"prompt_tokens": count_tokens(t)},
             "embedding": list(embed_text(t, _EMBEDDING_DIMENSIONS))}
            for i, t in enumerate(texts)
        ]  # fmt: skip
        return json_response({"object": "list", "model": model, "data": data})

    async def tokens_count(request: Request) -> Response:
        started = await prelude(request)
        if isinstance(started, Response):
            return started
        _, body = started
        texts = body.get("input") if isinstance(body, Mapping) else None
        if not isinstance(texts, list) or not body.get("model"):
            return _error(422, "Fields 'model' and 'input' are required")
        if answer := replayed(str(body["model"])):
            return answer
        return json_response(tokens_body([str(t) for t in texts], count_tokens))

    async def balance(request: Request) -> Response:
        started = await prelude(request)
        if isinstance(started, Response):
            return started
        usages = ("GigaChat", "GigaChat-Pro", "GigaChat-Max", "embeddings")
        entries = [{"usage": m, "value": 1_000_000} for m in usages]
        return json_response({"balance": entries})

    return [
        Route("/api/v2/oauth", oauth, methods=["POST"]),
        Route("/api/v1/token", password, methods=["POST"]),
        Route("/api/v1/chat/completions", chat, methods=["POST"]),
        Route("/api/v1/models", models, methods=["GET"]),
        Route("/api/v1/embeddings", embeddings, methods=["POST"]),
        Route("/api/v1/tokens/count", tokens_count, methods=["POST"]),
        Route("/api/v1/balance", balance, methods=["GET"]),
    ]


PROTOCOL = Protocol(name="gigachat", prefix="/api/v1", routes=_routes, error_body=error_body)
"""The GigaChat protocol, as the emulator mounts it."""
