"""Anthropic Messages API shapes: message bodies, named SSE events, usage, error envelopes.

Field for field what ``api.anthropic.com`` sends (see the recorded ``anthropic__*.json``
fixtures): a ``message`` object whose ``content`` is a list of blocks (``thinking`` with its
``signature``, ``text``, ``tool_use`` with an object ``input``), ``stop_reason`` and
``stop_sequence``, and ``usage`` with the cache counts and their split by lifetime. A stream
is ``event: <name>`` / ``data: {...}`` pairs: ``message_start``, per block
``content_block_start`` / ``content_block_delta`` / ``content_block_stop`` (a ``ping``
after the first start), ``message_delta`` with the stop reason and the usage totals, and
``message_stop``. Errors are ``{"type": "error", "error": {"type", "message"},
"request_id"}``, their ``type`` named by the status (529 ``overloaded_error``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.openai_render import make_id
from polyvox.testing.emulator.outcome import Outcome
from polyvox.testing.emulator.protocol import default_error_message, dump_json
from polyvox.testing.emulator.tokens import split_tokens

__all__ = [
    "ERROR_TYPES",
    "error_body",
    "error_frame",
    "malformed_body",
    "malformed_frame",
    "message_body",
    "message_frames",
    "signature_of",
    "stop_reason",
]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
"""Anthropic's ``error.type`` for each status (other 4xx: ``invalid_request_error``, other
5xx: ``api_error``)."""

_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}


def stop_reason(outcome: Outcome, stop_sequence: str | None) -> str:
    """Anthropic's ``stop_reason`` for an outcome.

    Args:
        outcome: The outcome (its OpenAI-style finish reason, or a scripted one).
        stop_sequence: The stop sequence that cut the text, if one did.

    Returns:
        ``end_turn``, ``max_tokens``, ``stop_sequence``, ``tool_use``, ``refusal``, or the
        scripted value as it is (``pause_turn``...).
    """
    if stop_sequence is not None and outcome.finish_reason == "stop":
        return "stop_sequence"
    if outcome.refusal is not None and outcome.finish_reason == "stop":
        return "refusal"
    return _STOP_REASONS.get(outcome.finish_reason, outcome.finish_reason)


def signature_of(thinking: str) -> str:
    """The signature the emulator gives a thinking text (stable, base64, opaque-looking).

    Args:
        thinking: The thinking text.

    Returns:
        The signature.
    """
    digest = hashlib.sha256(b"polyvox-emulator:" + thinking.encode()).digest()
    return base64.b64encode(b"\x12\x08emu" + digest).decode()


def tool_use_id() -> str:
    """Make a tool use id (``toolu_`` and 24 letters and digits)."""
    return make_id("toolu_", 24)


def usage_body(outcome: Outcome, *, final: bool = True) -> dict[str, Any]:
    """Render ``usage`` (the cached part of the prompt apart, as Anthropic counts it).

    Args:
        outcome: The outcome.
        final: ``False`` for ``message_start``'s, whose output count is 1.

    Returns:
        The ``usage`` object.
    """
    read, written = outcome.cached_tokens, outcome.cache_creation_tokens
    hour = min(outcome.cache_creation_1h_tokens, written)
    return {
        "input_tokens": max(outcome.prompt_tokens - read - written, 0),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": written - hour,
            "ephemeral_1h_input_tokens": hour,
        },
        "output_tokens": outcome.completion_tokens if final else 1,
        "service_tier": "standard",
    }


def _blocks(outcome: Outcome) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if outcome.reasoning is not None:
        thinking = outcome.reasoning
        blocks.append(
            {"type": "thinking", "thinking": thinking, "signature": signature_of(thinking)}
        )
    text = outcome.content if outcome.content is not None else outcome.refusal
    if text:
        blocks.append({"type": "text", "text": text})
    for call in outcome.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": call.id or tool_use_id(), "name": call.name,
             "input": dict(call.args)}
        )  # fmt: skip
    return blocks


def message_body(outcome: Outcome, model: str, stop_sequence: str | None) -> dict[str, Any]:
    """Render a non-streamed ``message``.

    Args:
        outcome: The outcome.
        model: The model name to echo.
        stop_sequence: The stop sequence that cut the text, if one did.

    Returns:
        The body.
    """
    return {
        "id": make_id("msg_01", 22),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _blocks(outcome),
        "stop_reason": stop_reason(outcome, stop_sequence),
        "stop_sequence": stop_sequence,
        "usage": usage_body(outcome),
    }


def _event(name: str, data: Mapping[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + dump_json(data) + b"\n\n"


def _block_events(index: int, block: Mapping[str, Any]) -> list[bytes]:
    kind = block["type"]
    frames: list[bytes] = []

    def delta(body: Mapping[str, Any]) -> None:
        frames.append(_event("content_block_delta", {"type": "content_block_delta",
                                                     "index": index, "delta": body}))  # fmt: skip

    if kind == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
    else:
        start = {**block, "input": {}}
    frames.append(_event("content_block_start", {"type": "content_block_start", "index": index,
                                                 "content_block": start}))  # fmt: skip
    if kind == "text":
        for piece in split_tokens(block["text"]):
            delta({"type": "text_delta", "text": piece})
    elif kind == "thinking":
        for piece in split_tokens(block["thinking"]):
            delta({"type": "thinking_delta", "thinking": piece})
        delta({"type": "signature_delta", "signature": block["signature"]})
    else:
        arguments = json.dumps(block["input"], ensure_ascii=False)
        delta({"type": "input_json_delta", "partial_json": ""})
        for piece in split_tokens(arguments):
            delta({"type": "input_json_delta", "partial_json": piece})
    frames.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    return frames


def message_frames(outcome: Outcome, model: str, stop_sequence: str | None) -> list[bytes]:
    r"""Render a streamed answer as named SSE events, ``message_stop`` included.

    Args:
        outcome: The outcome.
        model: The model name to echo.
        stop_sequence: The stop sequence that cut the text, if one did.

    Returns:
        The ``event: ...\ndata: {...}\n\n`` frames.
    """
    body = message_body(outcome, model, stop_sequence)
    head = {**body, "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": usage_body(outcome, final=False)}  # fmt: skip
    frames = [_event("message_start", {"type": "message_start", "message": head})]
    for index, block in enumerate(body["content"]):
        events = _block_events(index, block)
        frames.extend(events)
        if index == 0:
            frames.insert(2, _event("ping", {"type": "ping"}))
    usage = {k: v for k, v in body["usage"].items() if k not in ("cache_creation", "service_tier")}
    frames.append(
        _event("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": body["stop_reason"],
                                           "stop_sequence": stop_sequence},
                                 "usage": usage})
    )  # fmt: skip
    frames.append(_event("message_stop", {"type": "message_stop"}))
    return frames


def error_body(status: int, fault: Fault) -> dict[str, Any]:
    """Render Anthropic's error envelope.

    Args:
        status: The HTTP status.
        fault: The fault (its ``message`` and ``error_type`` win).

    Returns:
        ``{"type": "error", "error": {"type", "message"}, "request_id"}``.
    """
    kind = ERROR_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")
    return {
        "type": "error",
        "error": {"type": fault.error_type or kind, "message": fault.message or
                  default_error_message(status)},
        "request_id": make_id("req_011", 21),
    }  # fmt: skip


def error_frame(fault: Fault) -> bytes:
    """Render an in-stream ``error`` event (``overloaded_error`` unless the fault says).

    Args:
        fault: The fault.

    Returns:
        The ``event: error`` frame.
    """
    error = {"type": fault.error_type or "overloaded_error",
             "message": fault.message or "Overloaded"}  # fmt: skip
    return _event("error", {"type": "error", "error": error})


def malformed_body() -> bytes:
    """Return a 200 body that is not valid JSON."""
    return b'{"id":"msg_01malformed","type":"message","role":"assistant","content":[{"type":'


def malformed_frame() -> bytes:
    """Return a stream event whose data is not valid JSON."""
    return b'event: message_start\ndata: {"type":"message_start","message":{"id":\n\n'
