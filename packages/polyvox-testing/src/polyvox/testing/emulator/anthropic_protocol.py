"""The Anthropic Messages API: ``POST /v1/messages`` and ``/v1/messages/count_tokens``.

Point the official SDK at the server root: ``anthropic.Anthropic(base_url=emu.url,
api_key="k")`` (the SDK adds ``/v1/messages``). The key may come as ``x-api-key`` (SDK 1.x
and earlier) or ``Authorization: Bearer`` (SDK 2.x); any ``anthropic-version`` is taken.
A missing key answers 401 ``authentication_error``, and so does a key starting with
``invalid``; a model named ``no-such-...`` answers 404 ``not_found_error``
(``model: no-such-...``), as Anthropic does.

Requests are checked as the API checks them, and refused with a 400
``invalid_request_error`` worded like Anthropic's: a missing ``model``, ``max_tokens`` or
``messages``; a field the API does not know (``temperature`` is one it knows, although the
SDK 2.x sends it in ``extra_body``); values out of the documented ranges (``temperature``
0..1); roles other than ``user``/``assistant``; empty text blocks; a ``tool_result``
whose ``tool_use_id`` answers no ``tool_use`` of the turn before, and a ``tool_use`` not
answered in the next turn; with ``thinking`` on, a ``budget_tokens`` under 1024 or not
under ``max_tokens``, a ``temperature`` other than 1, and a tool loop whose assistant turn
dropped its thinking block or the block's signature.

Answers come from the script queue, else the auto behaviour (tool calls from the tools'
schemas, JSON for ``output_config.format``, echo), with ``stop_sequences`` (stop reason
``stop_sequence``), ``max_tokens`` (``max_tokens``) and, with ``thinking`` on, a thinking
block with a signature. The prompt cache is remembered between requests
(:mod:`.anthropic_cache`): a request with ``cache_control`` whose prefix an earlier one of
the same model wrote, within its ``ttl``, reports ``cache_read_input_tokens``, and the
first one ``cache_creation_input_tokens`` (split by lifetime); scripted
``Usage(cached_tokens=..., cache_creation_tokens=...)`` replaces those counts.
Faults answer in Anthropic's envelope (529 is ``overloaded_error``); a stream fault's
error event is ``event: error`` carrying an ``overloaded_error``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from polyvox.core.ranges import ANTHROPIC_RANGES
from polyvox.testing.emulator.anthropic_cache import CacheBreakpointError, PromptCache
from polyvox.testing.emulator.anthropic_render import (
    error_body,
    error_frame,
    malformed_body,
    malformed_frame,
    message_body,
    message_frames,
)
from polyvox.testing.emulator.auto import auto_reply
from polyvox.testing.emulator.conversation import ChatMessage, ChatRequest, ToolSpec
from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.openai_protocol import UNKNOWN_MODEL_PREFIX
from polyvox.testing.emulator.outcome import Outcome, make_outcome
from polyvox.testing.emulator.protocol import (
    Protocol,
    fault_response,
    json_response,
    raw_response,
    receive,
)
from polyvox.testing.emulator.replies import Reply
from polyvox.testing.emulator.state import EmulatorState, RecordedRequest
from polyvox.testing.emulator.streaming import send_frames
from polyvox.testing.emulator.tokens import count_prompt_tokens

__all__ = ["MESSAGE_FIELDS", "PROTOCOL", "parse_messages_request"]

MESSAGE_FIELDS = frozenset(
    {
        "cache_control", "container", "context_management", "diagnostics", "inference_geo",
        "max_tokens", "mcp_servers", "messages", "metadata", "model", "output_config",
        "service_tier", "speed", "stop_sequences", "stream", "system", "temperature",
        "thinking", "tool_choice", "tools", "top_k", "top_p", "user_profile_id",
        "workspace_id",
    }
)  # fmt: skip
"""The fields of a Messages API request; Anthropic answers 400 to any other."""

_COUNT_FIELDS = MESSAGE_FIELDS - {"max_tokens", "stream", "stop_sequences", "metadata",
                                  "service_tier", "container", "temperature", "top_p",
                                  "top_k", "inference_geo", "diagnostics"}  # fmt: skip
_SSE = "text/event-stream; charset=utf-8"


class _InvalidRequestError(Exception):
    """A request the API refuses: the 400's message."""


def _error(status: int, message: str, error_type: str | None = None) -> Response:
    fault = Fault(status=status, message=message, error_type=error_type)
    body = error_body(status, fault)
    return json_response(body, status, {"request-id": body["request_id"]})


def _unauthorized(recorded: RecordedRequest) -> Response | None:
    key = recorded.headers.get("x-api-key", "").strip()
    if not key:
        scheme, _, token = recorded.headers.get("authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else ""
    if not key:
        return _error(401, "x-api-key header is required")
    if key.startswith("invalid"):
        return _error(401, "invalid x-api-key")
    return None


def _check_fields(body: Mapping[str, Any], known: frozenset[str], required: Sequence[str]) -> None:
    for name in required:
        if body.get(name) is None:
            raise _InvalidRequestError(f"{name}: Field required")
    for name in body:
        if name not in known:
            raise _InvalidRequestError(f"{name}: Extra inputs are not permitted")
    if (found := ANTHROPIC_RANGES.openai_error(body)) is not None:
        raise _InvalidRequestError(f"{found[1]}: {found[0]}")


def _check_thinking(body: Mapping[str, Any]) -> bool:
    thinking = body.get("thinking")
    if not isinstance(thinking, Mapping) or thinking.get("type") != "enabled":
        return False
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or budget < 1024:
        raise _InvalidRequestError(
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        )
    if isinstance(body.get("max_tokens"), int) and budget >= body["max_tokens"]:
        raise _InvalidRequestError("`max_tokens` must be greater than `thinking.budget_tokens`")
    if body.get("temperature") not in (None, 1, 1.0):
        raise _InvalidRequestError("`temperature` may only be set to 1 when thinking is enabled")
    return True


def _blocks(content: Any, where: str) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        if not content and not where.endswith("system"):
            raise _InvalidRequestError(f"{where}: text content blocks must be non-empty")
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise _InvalidRequestError(f"{where}: Input should be a valid string or list")
    for index, block in enumerate(content):
        if not isinstance(block, Mapping) or not block.get("type"):
            raise _InvalidRequestError(f"{where}.{index}: Input tag not found: expected a `type`")
        if block["type"] == "text" and not block.get("text"):
            raise _InvalidRequestError(f"{where}.{index}: text content blocks must be non-empty")
    return content


def _check_turns(messages: Any, thinking: bool) -> list[list[Mapping[str, Any]]]:
    """Check roles, blocks and the tool loop; return each turn's blocks."""
    if not isinstance(messages, list):
        raise _InvalidRequestError("messages: Input should be a valid list")
    turns: list[list[Mapping[str, Any]]] = []
    pending: set[str] = set()
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, Mapping) else None
        if role not in ("user", "assistant"):
            raise _InvalidRequestError(
                f"messages.{index}.role: Input should be 'user' or 'assistant'"
            )
        blocks = _blocks(message.get("content"), f"messages.{index}.content")
        answered = {str(b.get("tool_use_id")) for b in blocks if b["type"] == "tool_result"}
        if answered - pending:
            raise _InvalidRequestError(
                f"messages.{index}.content: unexpected `tool_use_id` found in `tool_result` "
                "blocks: each `tool_result` block must have a corresponding `tool_use` block "
                "in the previous message."
            )
        if pending - answered:
            raise _InvalidRequestError(
                f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(sorted(pending - answered))}. Each `tool_use` "
                "block must have a corresponding `tool_result` block in the next message."
            )
        pending = {str(b.get("id")) for b in blocks if b["type"] == "tool_use"}
        if role == "assistant" and pending and thinking:
            _check_thinking_kept(blocks, index)
        turns.append(blocks)
    return turns


def _check_thinking_kept(blocks: Sequence[Mapping[str, Any]], index: int) -> None:
    first = blocks[0]["type"]
    if first not in ("thinking", "redacted_thinking"):
        raise _InvalidRequestError(
            f"messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, "
            f"but found `{first}`. When `thinking` is enabled, a final `assistant` message "
            "must start with a thinking block (preceeding the lastmost set of `tool_use` and "
            "`tool_result` blocks). To avoid this requirement, disable `thinking`."
        )
    for number, block in enumerate(blocks):
        if block["type"] == "thinking" and not block.get("signature"):
            raise _InvalidRequestError(
                f"messages.{index}.content.{number}.thinking.signature: Field required"
            )


def _text(blocks: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for block in blocks:
        if block.get("type") == "text":
            parts.append(str(block.get("text") or ""))
        elif block.get("type") == "tool_result":
            content = block.get("content")
            parts.append(content if isinstance(content, str) else _text(content or []))
    return "\n".join(p for p in parts if p)


def parse_messages_request(body: Mapping[str, Any]) -> ChatRequest:
    """Read a Messages API request into the protocol-neutral form.

    Args:
        body: The request JSON (already checked).

    Returns:
        The neutral request: tool results become ``tool`` messages, the system prompt a
        ``system`` one.
    """
    messages: list[ChatMessage] = []
    system = body.get("system")
    if system:
        messages.append(ChatMessage("system", system if isinstance(system, str) else _text(system)))
    for message in body.get("messages") or ():
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks:
            if block.get("type") == "tool_result":
                messages.append(
                    ChatMessage("tool", _text([block]), tool_call_id=block.get("tool_use_id"))
                )
        text = _text([b for b in blocks if b.get("type") == "text"])
        if text or message["role"] == "assistant":
            messages.append(ChatMessage(str(message["role"]), text))
    raw_tools = [t for t in body.get("tools") or () if isinstance(t, Mapping)]
    tools = [
        ToolSpec(str(t["name"]), str(t.get("description") or ""), t.get("input_schema") or {})
        for t in raw_tools
        if t.get("name") and t.get("type") in (None, "custom")
    ]
    choice = body.get("tool_choice") or {}
    kind = choice.get("type", "auto") if isinstance(choice, Mapping) else "auto"
    modes: dict[str, Literal["auto", "none", "required"]] = {"any": "required", "tool": "required",
                                                            "none": "none"}  # fmt: skip
    fmt = (body.get("output_config") or {}).get("format") or {}
    schema = fmt.get("schema") if isinstance(fmt, Mapping) else None
    stop = body.get("stop_sequences") or ()
    extra = [json.dumps(raw_tools)] if raw_tools else []
    return ChatRequest(
        model=str(body.get("model", "")),
        messages=messages,
        tools=tools,
        tool_choice=modes.get(kind, "auto"),
        forced_tool=choice.get("name") if kind == "tool" else None,
        parallel_tool_calls=not (
            isinstance(choice, Mapping) and choice.get("disable_parallel_tool_use")
        ),
        response_format="json_schema" if isinstance(schema, Mapping) else "text",
        response_schema=schema if isinstance(schema, Mapping) else None,
        stop=[str(s) for s in stop],
        max_tokens=body.get("max_tokens") if isinstance(body.get("max_tokens"), int) else None,
        stream=bool(body.get("stream")),
        extra_prompt_texts=extra,
    )


def _stop_sequence(
    content: str | None, outcome_content: str | None, stops: Sequence[str]
) -> str | None:
    """The stop sequence that cut the reply's text, if one did."""
    if content is None or outcome_content is None or len(outcome_content) >= len(content):
        return None
    rest = content[len(outcome_content) :]
    return next((s for s in stops if s and rest.startswith(s)), None)


def _with_cache(outcome: Outcome, reply: Reply, cache: PromptCache, body: Any) -> Outcome:
    """The outcome with what the request read from and wrote to the prompt cache.

    Scripted cache counts (``Usage(cached_tokens=..., cache_creation_tokens=...)``) win.
    """
    usage = reply.usage
    if usage is not None and (usage.cached_tokens or usage.cache_creation_tokens):
        return outcome
    used = cache.use(body)
    if used is None:
        return outcome
    return dataclasses.replace(
        outcome,
        prompt_tokens=max(outcome.prompt_tokens, used.read + used.written),
        cached_tokens=used.read,
        cache_creation_tokens=used.written,
        cache_creation_1h_tokens=used.written_1h,
    )


def _routes(state: EmulatorState) -> list[BaseRoute]:
    cache = PromptCache()
    state.on_reset(cache.clear)

    async def prelude(
        request: Request, known: frozenset[str], required: Sequence[str]
    ) -> Response | tuple[dict[str, Any], Fault | None, bool]:
        recorded = await receive(request, state)
        if denied := _unauthorized(recorded):
            return denied
        body = recorded.json
        if not isinstance(body, dict):
            return _error(400, "There was an error parsing the body of your request as JSON.")
        model = str(body["model"]) if body.get("model") else None
        if model is not None and model.startswith(UNKNOWN_MODEL_PREFIX):
            return _error(404, f"model: {model}")
        try:
            _check_fields(body, known, required)
            thinking = _check_thinking(body)
            _check_turns(body.get("messages"), thinking)
        except _InvalidRequestError as exc:
            return _error(400, str(exc))
        fault = state.take_fault(model)
        if failed := await fault_response(fault, error_body):
            return failed
        return body, fault, thinking

    async def messages(request: Request) -> Response:
        started = await prelude(request, MESSAGE_FIELDS, ("model", "max_tokens", "messages"))
        if isinstance(started, Response):
            return started
        body, fault, thinking = started
        stream = bool(body.get("stream"))
        if fault is not None and fault.malformed:
            if isinstance(fault.body, str):
                return raw_response(fault.body.encode(), _SSE if stream else "application/json")
            if stream:
                return send_frames([malformed_frame()], None, content_type=_SSE)
            return raw_response(malformed_body(), "application/json")
        model = str(body["model"])
        reply = state.take_reply(model)
        if reply is not None and reply.raw_response is not None:
            raw = reply.raw_response
            return raw_response(raw.body, raw.content_type, raw.status)
        chat = parse_messages_request(body)
        reply = reply or auto_reply(chat)
        if thinking and reply.reasoning is None:
            reply = dataclasses.replace(reply, reasoning=f"The user asks: {chat.last_user_text}")
        try:
            outcome = _with_cache(make_outcome(reply, chat, fault), reply, cache, body)
        except CacheBreakpointError as exc:
            return _error(400, str(exc))
        stop = _stop_sequence(reply.content, outcome.content, chat.stop)
        if not stream:
            if fault is not None and fault.break_after is not None:
                data = json.dumps(message_body(outcome, model, stop)).encode()
                halves = [data[: len(data) // 2], data[len(data) // 2 :]]
                cut = dataclasses.replace(fault, break_after=1, error_after=None)
                return send_frames(halves, cut, content_type="application/json")
            return json_response(message_body(outcome, model, stop))
        frames = message_frames(outcome, model, stop)
        return send_frames(frames, fault, content_type=_SSE, error_frame=error_frame)

    async def count_tokens(request: Request) -> Response:
        started = await prelude(request, _COUNT_FIELDS, ("model", "messages"))
        if isinstance(started, Response):
            return started
        body = started[0]
        reply = state.take_reply(str(body["model"]), raw_only=True)
        if reply is not None and reply.raw_response is not None:
            raw = reply.raw_response
            return raw_response(raw.body, raw.content_type, raw.status)
        chat = parse_messages_request(body)
        parts = [m.text for m in chat.messages] + list(chat.extra_prompt_texts)
        return json_response(
            {"input_tokens": count_prompt_tokens(parts, messages=len(chat.messages))}
        )

    return [
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
    ]


PROTOCOL = Protocol(name="anthropic", prefix="/v1/messages", routes=_routes, error_body=error_body)
"""The Anthropic protocol, as the emulator mounts it."""
