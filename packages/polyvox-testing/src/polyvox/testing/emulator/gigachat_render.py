"""GigaChat v1 shapes: completions, SSE chunks, usage, error bodies, tokens and embeddings.

Field for field what ``gigachat.devices.sberbank.ru`` sends (see the recorded
``gigachat__*.json`` fixtures): a completion has no ``id``; ``model`` is the model asked
for with its version (``GigaChat-2-Max:2.0.28.2``); a function call is one object
``function_call`` with ``arguments`` as a JSON *object* and a ``functions_state_id``;
``finish_reason`` is ``stop``, ``length``, ``function_call`` or ``blacklist`` (the safety
filter, whose answer is a canned refusal text); ``usage`` carries
``precached_prompt_tokens``. A stream is ``data: {...}`` lines whose ``object`` is
``chat.completion`` too, the last with ``finish_reason`` and ``usage``, then
``data: [DONE]``. Errors are ``{"status": 404, "message": "No such model"}``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.outcome import Outcome
from polyvox.testing.emulator.protocol import default_error_message, dump_json
from polyvox.testing.emulator.tokens import split_tokens

__all__ = [
    "BLACKLIST_TEXT",
    "MODEL_VERSION",
    "completion_body",
    "completion_frames",
    "error_body",
    "error_frame",
    "finish_reason",
    "malformed_frame",
    "tokens_body",
    "usage_body",
]

MODEL_VERSION = "2.0.28.2"
"""The version the emulator answers with after the model's name."""

BLACKLIST_TEXT = "Не люблю менять тему разговора, но вот сейчас тот самый случай."  # noqa: RUF001
"""The canned text GigaChat answers with when its filter stops the answer."""

_FINISH = {"tool_calls": "function_call", "content_filter": "blacklist"}

_MESSAGES = {
    401: "Token has expired",
    404: "No such model",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def finish_reason(outcome: Outcome) -> str:
    """GigaChat's ``finish_reason`` for an outcome (OpenAI's names mapped, others as they are)."""
    return _FINISH.get(outcome.finish_reason, outcome.finish_reason)


def usage_body(outcome: Outcome) -> dict[str, int]:
    """Render ``usage`` (``precached_prompt_tokens`` is the cached part of the prompt)."""
    return {
        "prompt_tokens": outcome.prompt_tokens,
        "completion_tokens": outcome.completion_tokens,
        "total_tokens": outcome.total_tokens,
        "precached_prompt_tokens": outcome.cached_tokens,
    }


def _message(outcome: Outcome) -> dict[str, Any]:
    reason = finish_reason(outcome)
    text = BLACKLIST_TEXT if reason == "blacklist" else (outcome.content or "")
    message: dict[str, Any] = {"content": text, "role": "assistant"}
    if outcome.reasoning is not None:
        message["reasoning_content"] = outcome.reasoning
    if outcome.tool_calls:
        call = outcome.tool_calls[0]  # GigaChat calls one function per answer
        message["content"] = ""
        message["function_call"] = {"name": call.name, "arguments": dict(call.args)}
        message["functions_state_id"] = str(uuid.uuid4())
    return message


def completion_body(outcome: Outcome, model: str) -> dict[str, Any]:
    """Render a non-streamed completion.

    Args:
        outcome: The outcome.
        model: The model asked for.

    Returns:
        The body.
    """
    return {
        "choices": [{"message": _message(outcome), "index": 0,
                     "finish_reason": finish_reason(outcome)}],
        "created": int(time.time()),
        "model": f"{model}:{MODEL_VERSION}",
        "object": "chat.completion",
        "usage": usage_body(outcome),
    }  # fmt: skip


def _frame(data: dict[str, Any]) -> bytes:
    return b"data: " + dump_json(data) + b"\n\n"


def completion_frames(outcome: Outcome, model: str) -> list[bytes]:
    r"""Render a streamed answer (without the closing ``data: [DONE]``).

    Args:
        outcome: The outcome.
        model: The model asked for.

    Returns:
        The ``data: {...}\n\n`` frames, the last with ``finish_reason`` and ``usage``.
    """
    message = _message(outcome)
    head = {"created": int(time.time()), "model": f"{model}:{MODEL_VERSION}",
            "object": "chat.completion"}  # fmt: skip
    deltas: list[dict[str, Any]] = []
    if "function_call" in message:
        deltas.append(message)
    else:
        reasoning = message.get("reasoning_content")
        if reasoning:
            deltas.append({"reasoning_content": reasoning, "content": "", "role": "assistant"})
        deltas.extend({"content": piece} for piece in split_tokens(message["content"]))
        if deltas:
            deltas[0]["role"] = "assistant"
    frames = [_frame({"choices": [{"delta": d, "index": 0}], **head}) for d in deltas]
    last = {"choices": [{"delta": {"content": ""}, "index": 0,
                         "finish_reason": finish_reason(outcome)}],
            **head, "usage": usage_body(outcome)}  # fmt: skip
    frames.append(_frame(last))
    return frames


def error_body(status: int, fault: Fault) -> dict[str, Any]:
    """Render GigaChat's error body.

    Args:
        status: The HTTP status.
        fault: The fault (its ``message`` wins).

    Returns:
        ``{"status", "message"}``.
    """
    message = fault.message or _MESSAGES.get(status) or default_error_message(status)
    return {"status": status, "message": message}


def error_frame(fault: Fault) -> bytes:
    """Render an error inside a stream: a ``data:`` line with the error body."""
    status = fault.status or 500
    return _frame(error_body(status, fault))


def malformed_frame() -> bytes:
    """Return a stream chunk whose data is not valid JSON."""
    return b'data: {"choices":[{"delta":{"content":\n\n'


def tokens_body(texts: list[str], count: Any) -> list[dict[str, Any]]:
    """Render ``tokens/count``'s answer: one object per text."""
    return [{"object": "tokens", "tokens": count(t), "characters": len(t)} for t in texts]
