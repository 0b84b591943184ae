"""OpenAI Chat Completions shapes: completion bodies, stream chunks, usage, errors.

Field for field what ``api.openai.com`` sends (see the recorded ``openai__*.json``
fixtures): ``chat.completion`` objects with ``message.refusal`` and ``annotations``,
``chat.completion.chunk`` events whose first delta carries the role, tool-call deltas with
``index``/``id``/name and then argument fragments, a usage-only chunk with empty
``choices`` when ``stream_options.include_usage`` is set, and ``data: [DONE]``.
"""

from __future__ import annotations

import json
import random
import string
import time
from collections.abc import Mapping
from typing import Any

from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.outcome import Outcome
from polyvox.testing.emulator.protocol import default_error_message, dump_json
from polyvox.testing.emulator.tokens import split_tokens

__all__ = [
    "DONE_FRAME",
    "SYSTEM_FINGERPRINT",
    "chunk_frames",
    "completion_body",
    "error_body",
    "error_frame",
    "make_id",
    "malformed_body",
    "malformed_frame",
    "tool_call_id",
    "usage_body",
]

SYSTEM_FINGERPRINT = "fp_polyvox_emu"
"""The ``system_fingerprint`` of every answer."""

DONE_FRAME = b"data: [DONE]\n\n"
"""The event that ends an OpenAI stream."""

_ALPHABET = string.ascii_letters + string.digits
_random = random.Random()
_ERROR_TYPES = {
    429: ("requests", "rate_limit_exceeded"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
}


def make_id(prefix: str = "chatcmpl-", length: int = 29) -> str:
    """Make an id in OpenAI's style (``chatcmpl-`` and 29 letters and digits).

    Args:
        prefix: The prefix.
        length: Random characters after it.

    Returns:
        The id.
    """
    return prefix + "".join(_random.choices(_ALPHABET, k=length))


def tool_call_id() -> str:
    """Make a tool call id (``call_`` and 24 letters and digits)."""
    return make_id("call_", 24)


def usage_body(outcome: Outcome) -> dict[str, Any]:
    """Render token usage.

    Args:
        outcome: The outcome.

    Returns:
        The ``usage`` object (with OpenRouter's ``cost`` when the reply set one).
    """
    body: dict[str, Any] = {
        "prompt_tokens": outcome.prompt_tokens,
        "completion_tokens": outcome.completion_tokens,
        "total_tokens": outcome.total_tokens,
        "prompt_tokens_details": {"cached_tokens": outcome.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": outcome.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    if outcome.cost is not None:  # OpenRouter's usage accounting: a JSON number
        body["cost"] = float(outcome.cost)
    return body


def _tool_calls(outcome: Outcome) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id or tool_call_id(),
            "type": "function",
            "function": {
                "name": call.name,
                "arguments": json.dumps(dict(call.args), ensure_ascii=False, separators=(",", ":")),
            },
        }
        for call in outcome.tool_calls
    ]


def completion_body(outcome: Outcome, model: str) -> dict[str, Any]:
    """Render a non-streaming ``chat.completion``.

    Args:
        outcome: The outcome.
        model: The model name to echo.

    Returns:
        The body.
    """
    message: dict[str, Any] = {
        "role": "assistant",
        "content": outcome.content,
        "refusal": outcome.refusal,
        "annotations": [],
    }
    if outcome.reasoning is not None:
        message["reasoning_content"] = outcome.reasoning
        message["reasoning"] = outcome.reasoning
    if outcome.tool_calls:
        message["tool_calls"] = _tool_calls(outcome)
    return {
        "id": make_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": outcome.finish_reason,
            }
        ],
        "usage": usage_body(outcome),
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def chunk_frames(outcome: Outcome, model: str, *, include_usage: bool) -> list[bytes]:
    r"""Render a streamed answer as SSE events (without the closing ``[DONE]``).

    Args:
        outcome: The outcome.
        model: The model name to echo.
        include_usage: Add ``usage: null`` to every chunk and a final usage chunk.

    Returns:
        The ``data: {...}\n\n`` events.
    """
    head: dict[str, Any] = {
        "id": make_id(),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    tail: dict[str, Any] = {"usage": None} if include_usage else {}

    def frame(delta: Mapping[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return b"data: " + dump_json({**head, "choices": [choice], **tail}) + b"\n\n"

    calls = _tool_calls(outcome)
    text_first = outcome.content is not None or not calls
    first: dict[str, Any] = {"role": "assistant", "content": "" if text_first else None}
    frames: list[bytes] = []
    if not text_first:
        first["tool_calls"] = [_call_header(0, calls[0])]
    first["refusal"] = None
    frames.append(frame(first))
    for piece in _pieces(outcome.reasoning):
        frames.append(frame({"reasoning_content": piece, "reasoning": piece}))
    for piece in _pieces(outcome.content):
        frames.append(frame({"content": piece}))
    for piece in _pieces(outcome.refusal):
        frames.append(frame({"refusal": piece}))
    for index, call in enumerate(calls):
        if index or text_first:
            frames.append(frame({"tool_calls": [_call_header(index, call)]}))
        for piece in split_tokens(call["function"]["arguments"]):
            fragment = {"index": index, "function": {"arguments": piece}}
            frames.append(frame({"tool_calls": [fragment]}))
    frames.append(frame({}, outcome.finish_reason))
    if include_usage:
        usage = {**head, "choices": [], "usage": usage_body(outcome)}
        frames.append(b"data: " + dump_json(usage) + b"\n\n")
    return frames


def _call_header(index: int, call: Mapping[str, Any]) -> dict[str, Any]:
    function = {"name": call["function"]["name"], "arguments": ""}
    return {"index": index, "id": call["id"], "type": "function", "function": function}


def _pieces(text: str | None) -> list[str]:
    return split_tokens(text) if text else []


def error_body(status: int, fault: Fault) -> dict[str, Any]:
    """Render OpenAI's error envelope.

    Args:
        status: The HTTP status.
        fault: The fault (its ``message``, ``error_type``, ``code`` and ``param`` win).

    Returns:
        ``{"error": {"message", "type", "param", "code"}}``.
    """
    kind, code = _ERROR_TYPES.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {
        "error": {
            "message": fault.message or default_error_message(status),
            "type": fault.error_type or kind,
            "param": fault.param,
            "code": fault.code if fault.code is not None else code,
        }
    }


def error_frame(fault: Fault, model: str = "") -> bytes:
    """Render a mid-stream error event, the way OpenRouter sends one.

    Args:
        fault: The fault.
        model: The model name.

    Returns:
        The ``data: {..., "error": {...}}`` event.
    """
    chunk = {
        "id": make_id(),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "error": {
            "code": fault.code if fault.code is not None else 500,
            "message": fault.message or "The stream was interrupted by an upstream error.",
        },
        "choices": [
            {"index": 0, "delta": {"content": ""}, "logprobs": None, "finish_reason": "error"}
        ],
    }
    return b"data: " + dump_json(chunk) + b"\n\n"


def malformed_body() -> bytes:
    """Return a 200 body that is not valid JSON."""
    return b'{"id":"chatcmpl-malformed","object":"chat.completion","choices":[{"index":0,'


def malformed_frame() -> bytes:
    """Return a stream event whose data is not valid JSON."""
    return b'data: {"id":"chatcmpl-malformed","object":"chat.completion.chunk","choices":[\n\n'
