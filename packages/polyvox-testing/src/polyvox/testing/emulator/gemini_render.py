r"""Gemini API shapes: ``GenerateContentResponse`` bodies, stream events, usage and errors.

Field for field what ``generativelanguage.googleapis.com`` sends (see the recorded
``gemini__*.json`` fixtures): candidates whose ``content.parts`` hold text, ``thought``
parts and whole ``functionCall`` parts (the first one carrying a ``thoughtSignature``),
``finishReason`` in upper case (``STOP`` for tool calls too), ``usageMetadata`` with
``thoughtsTokenCount`` beside ``candidatesTokenCount``, ``modelVersion`` and
``responseId``. Streams are ``data: {...}`` events separated by ``\r\n\r\n``, with no
``[DONE]``: every event repeats the usage (the prompt's count until the last, which has
the finish reason and the full counts). Errors are google.rpc statuses:
``{"error": {"code", "message", "status", "details"}}``, a 429 carrying its wait as a
``RetryInfo`` detail rather than a header.
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Mapping
from typing import Any

from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.outcome import Outcome
from polyvox.testing.emulator.protocol import dump_json
from polyvox.testing.emulator.tokens import split_tokens

__all__ = [
    "SIGNATURE_PREFIX",
    "STATUS_NAMES",
    "chunk_frames",
    "error_body",
    "error_frame",
    "malformed_body",
    "malformed_frame",
    "response_body",
    "signature_for",
]

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
"""The google.rpc status name the Gemini API gives each HTTP status."""

_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: "You exceeded your current quota, please check your plan and billing details. For "
    "more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    500: "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "The request timed out. Please try again.",
}

SIGNATURE_PREFIX = b"polyvox-emulator-thought:"
"""How the emulator's thought signatures begin (before base64): it refuses others."""

_FINISH = {
    "stop": "STOP",
    "tool_calls": "STOP",
    "length": "MAX_TOKENS",
    "content_filter": "SAFETY",
}
_SEPARATOR = b"\r\n\r\n"
_ALPHABET = string.ascii_letters + string.digits + "-_"
_random = random.Random()


def _response_id() -> str:
    return "".join(_random.choices(_ALPHABET, k=22))


def signature_for(name: str) -> str:
    """The thought signature the emulator attaches to a call of ``name`` (base64).

    Args:
        name: The function's name.

    Returns:
        The signature as the wire carries it.
    """
    return base64.b64encode(SIGNATURE_PREFIX + name.encode()).decode()


def finish_reason(outcome: Outcome) -> str:
    """The ``finishReason`` of an outcome (a scripted Gemini reason passes through).

    Args:
        outcome: The outcome.

    Returns:
        The upper-case reason.
    """
    return _FINISH.get(outcome.finish_reason, outcome.finish_reason.upper())


def usage_body(outcome: Outcome, *, final: bool = True) -> dict[str, Any]:
    """Render ``usageMetadata``.

    Args:
        outcome: The outcome.
        final: Whether the answer is complete (a stream's earlier events count the prompt
            only).

    Returns:
        The usage object.
    """
    prompt = outcome.prompt_tokens
    usage: dict[str, Any] = {"promptTokenCount": prompt}
    total = prompt
    if final:
        candidates = outcome.completion_tokens - outcome.reasoning_tokens
        if candidates:
            usage["candidatesTokenCount"] = candidates
        if outcome.reasoning_tokens:
            usage["thoughtsTokenCount"] = outcome.reasoning_tokens
        total += outcome.completion_tokens
    usage["totalTokenCount"] = total
    if outcome.cached_tokens:
        usage["cachedContentTokenCount"] = outcome.cached_tokens
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": outcome.cached_tokens}]
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
    return usage


def _call_parts(outcome: Outcome, *, signed: bool) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for index, call in enumerate(outcome.tool_calls):
        function: dict[str, Any] = {"name": call.name, "args": dict(call.args)}
        if call.id is not None:
            function["id"] = call.id
        part: dict[str, Any] = {"functionCall": function}
        if signed and index == 0:
            part["thoughtSignature"] = signature_for(call.name)
        parts.append(part)
    return parts


def _blocked_candidate(finish: str) -> dict[str, Any]:
    return {
        "content": {},
        "finishReason": finish,
        "index": 0,
        "safetyRatings": [
            {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "LOW", "blocked": True},
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "NEGLIGIBLE"},
            {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
            {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
        ],
    }


def response_body(outcome: Outcome, model: str, *, thoughts: bool, signed: bool) -> dict[str, Any]:
    """Render a non-streaming ``GenerateContentResponse``.

    Args:
        outcome: The outcome.
        model: The model name to echo as ``modelVersion``.
        thoughts: Whether thought summaries were asked for (``includeThoughts``).
        signed: Whether function calls carry a ``thoughtSignature``.

    Returns:
        The body.
    """
    finish = finish_reason(outcome)
    if outcome.finish_reason == "content_filter":
        candidate = _blocked_candidate(finish)
    else:
        parts: list[dict[str, Any]] = []
        if thoughts and outcome.reasoning:
            parts.append({"text": outcome.reasoning, "thought": True})
        if outcome.content:
            parts.append({"text": outcome.content})
        parts += _call_parts(outcome, signed=signed)
        candidate = {"content": {"parts": parts, "role": "model"}, "finishReason": finish}
        candidate["index"] = 0
    return {
        "candidates": [candidate],
        "usageMetadata": usage_body(outcome),
        "modelVersion": model,
        "responseId": _response_id(),
    }


def chunk_frames(outcome: Outcome, model: str, *, thoughts: bool, signed: bool) -> list[bytes]:
    r"""Render a streamed answer as SSE events separated by ``\r\n\r\n``.

    Text comes a few tokens per event; thought summaries first; function calls whole, in
    the event before the last; the last event has ``finishReason`` and the full usage.

    Args:
        outcome: The outcome.
        model: The model name.
        thoughts: Whether thought summaries were asked for.
        signed: Whether function calls carry a ``thoughtSignature``.

    Returns:
        The ``data: {...}\r\n\r\n`` events.
    """
    response_id = _response_id()

    def frame(candidate: Mapping[str, Any], *, final: bool) -> bytes:
        body = {
            "candidates": [candidate],
            "usageMetadata": usage_body(outcome, final=final),
            "modelVersion": model,
            "responseId": response_id,
        }
        return b"data: " + dump_json(body) + _SEPARATOR

    finish = finish_reason(outcome)
    if outcome.finish_reason == "content_filter":
        return [frame(_blocked_candidate(finish), final=True)]
    parts: list[dict[str, Any]] = []
    if thoughts and outcome.reasoning:
        parts += [{"text": piece, "thought": True} for piece in _groups(outcome.reasoning)]
    parts += [{"text": piece} for piece in _groups(outcome.content)]
    parts += _call_parts(outcome, signed=signed)
    if not parts:
        parts = [{"text": ""}]
    frames = [
        frame({"content": {"parts": [part], "role": "model"}}, final=False) for part in parts[:-1]
    ]
    last = {"content": {"parts": [parts[-1]], "role": "model"}, "finishReason": finish}
    frames.append(frame(last, final=True))
    return frames


def _groups(text: str | None, size: int = 3) -> list[str]:
    """A text in pieces of a few tokens, as Gemini streams it."""
    if not text:
        return []
    tokens = split_tokens(text)
    return ["".join(tokens[i : i + size]) for i in range(0, len(tokens), size)]


def error_body(status: int, fault: Fault) -> dict[str, Any]:
    """Render the google.rpc error envelope.

    A 429 carries a ``QuotaFailure`` and, when the fault has ``retry_after``, a
    ``RetryInfo`` with ``retryDelay`` (``"32s"``); a fault's ``code`` that is a string is
    sent as the ``ErrorInfo`` reason (``API_KEY_INVALID``).

    Args:
        status: The HTTP status.
        fault: The fault (its ``message`` and ``code`` win).

    Returns:
        ``{"error": {"code", "message", "status", "details"?}}``.
    """
    error: dict[str, Any] = {
        "code": status,
        "message": fault.message or _MESSAGES.get(status, f"HTTP {status}."),
        "status": fault.error_type or STATUS_NAMES.get(status, "UNKNOWN"),
    }
    details: list[dict[str, Any]] = []
    if isinstance(fault.code, str):
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": fault.code,
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        )
    if status == 429:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/"
                        "generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        "quotaValue": "10",
                    }
                ],
            }
        )
    if fault.retry_after is not None:
        delay = float(fault.retry_after)
        text = f"{int(delay)}s" if delay.is_integer() else f"{delay}s"
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": text})
    if details:
        error["details"] = details
    return {"error": error}


def error_frame(fault: Fault) -> bytes:
    """Render an error that arrives inside a stream (the SDK raises it as an ``APIError``).

    Args:
        fault: The fault.

    Returns:
        The ``data: {"error": {...}}`` event.
    """
    code = fault.code if isinstance(fault.code, int) else 500
    body = error_body(code, Fault(status=code, message=fault.message))
    return b"data: " + dump_json(body) + _SEPARATOR


def malformed_body() -> bytes:
    """Return a 200 body that is not valid JSON."""
    return b'{"candidates": [{"content": {"parts": [{"text": "cut'


def malformed_frame() -> bytes:
    """Return a stream event whose data is not valid JSON."""
    return b'data: {"candidates": [{"content": {"parts": [' + _SEPARATOR
