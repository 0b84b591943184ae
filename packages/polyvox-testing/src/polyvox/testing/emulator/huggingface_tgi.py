"""text-generation-inference as a dedicated Inference Endpoint serves it.

Its request checks, answers and streamed frames; the routes are in
:mod:`polyvox.testing.emulator.huggingface_protocol`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from polyvox.testing.emulator.auto import auto_reply
from polyvox.testing.emulator.conversation import ChatMessage, ChatRequest
from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.huggingface_errors import error_response
from polyvox.testing.emulator.outcome import make_outcome
from polyvox.testing.emulator.protocol import dump_json
from polyvox.testing.emulator.state import EmulatorState
from polyvox.testing.emulator.tokens import split_tokens

__all__ = [
    "TGI_MAX_STOP",
    "TGI_MODEL",
    "generate_frames",
    "generated",
    "generation",
    "tgi_invalid",
    "tokens",
]

TGI_MODEL = "tgi-model"
"""The model id a TGI endpoint reports (``/info``) and answers as."""

_TGI_PARAMETERS = frozenset(
    {
        "adapter_id", "best_of", "decoder_input_details", "details", "do_sample",
        "frequency_penalty", "grammar", "max_new_tokens", "repetition_penalty",
        "return_full_text", "seed", "stop", "temperature", "top_k", "top_n_tokens", "top_p",
        "truncate", "typical_p", "watermark",
    }
)  # fmt: skip
TGI_MAX_STOP = 4
"""The most stop sequences TGI takes."""


def tgi_invalid(body: Mapping[str, Any]) -> Response | None:
    """TGI's 422 for a request it refuses (inputs, parameters, ranges, stop), else ``None``."""
    inputs = body.get("inputs")
    if not isinstance(inputs, str):
        return error_response(
            422, "Failed to deserialize the JSON body: `inputs` must be a string", "validation"
        )
    params = body.get("parameters") or {}
    if not isinstance(params, Mapping):
        return error_response(422, "`parameters` must be an object", "validation")
    for name in params:
        if name not in _TGI_PARAMETERS:
            return error_response(
                422, f"Failed to deserialize the JSON body: unknown field `{name}`", "validation"
            )
    temperature = params.get("temperature")
    if temperature is not None and temperature <= 0:
        return error_response(
            422, "Input validation error: `temperature` must be strictly positive", "validation"
        )
    top_p = params.get("top_p")
    if top_p is not None and not 0.0 < top_p < 1.0:
        return error_response(
            422, "Input validation error: `top_p` must be > 0.0 and < 1.0", "validation"
        )
    max_new = params.get("max_new_tokens")
    if max_new is not None and (not isinstance(max_new, int) or max_new <= 0):
        return error_response(
            422, "Input validation error: `max_new_tokens` must be strictly positive", "validation"
        )
    stop = params.get("stop") or []
    if len(stop) > TGI_MAX_STOP:
        return error_response(
            422,
            f"Input validation error: `stop` supports up to {TGI_MAX_STOP} stop sequences. "
            f"Given: {len(stop)}",
            "validation",
        )
    return None


def generation(
    body: Mapping[str, Any], state: EmulatorState, fault: Fault | None
) -> tuple[str, str, int, int]:
    """The generated text, TGI's finish reason, and the prompt and generated token counts."""
    params = body.get("parameters") or {}
    prompt = str(body["inputs"])
    chat = ChatRequest(
        model=TGI_MODEL,
        messages=[ChatMessage(role="user", text=prompt)],
        stop=[str(s) for s in params.get("stop") or ()],
        max_tokens=params.get("max_new_tokens"),
    )
    reply = state.take_reply(TGI_MODEL) or auto_reply(chat)
    outcome = make_outcome(reply, chat, fault)
    text = outcome.content or ""
    finish = {"stop": "eos_token", "length": "length"}.get(outcome.finish_reason, "eos_token")
    if chat.stop and outcome.finish_reason == "stop" and text != (reply.content or ""):
        finish = "stop_sequence"
        stop = next(s for s in chat.stop if (reply.content or "")[len(text) :].startswith(s))
        text += stop  # TGI keeps the stop sequence in the text
    return text, finish, outcome.prompt_tokens, outcome.completion_tokens


def tokens(text: str) -> list[dict[str, Any]]:
    """The ``details.tokens`` of ``text``."""
    return [
        {"id": 1000 + i, "text": piece, "logprob": -0.25, "special": False}
        for i, piece in enumerate(split_tokens(text))
    ]


def generated(
    body: Mapping[str, Any], text: str, finish: str, prompt: int, count: int
) -> dict[str, Any]:
    """A ``/generate`` answer (with ``details`` when asked)."""
    params = body.get("parameters") or {}
    out: dict[str, Any] = {
        "generated_text": (str(body["inputs"]) + text) if params.get("return_full_text") else text
    }
    if params.get("details"):
        out["details"] = {
            "finish_reason": finish,
            "generated_tokens": count,
            "seed": params.get("seed"),
            "prefill": [],
            "tokens": tokens(text),
        }
    return out


def generate_frames(text: str, finish: str, count: int, seed: Any) -> list[bytes]:
    """``/generate_stream``'s SSE frames: a token each, the last with the whole text."""
    pieces = split_tokens(text) or [""]
    frames = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        event = {
            "index": index + 1,
            "token": {"id": 1000 + index, "text": piece, "logprob": -0.25, "special": False},
            "top_tokens": None,
            "generated_text": text if last else None,
            "details": {"finish_reason": finish, "generated_tokens": count, "seed": seed}
            if last
            else None,
        }
        frames.append(b"data:" + dump_json(event) + b"\n\n")
    return frames


# ---- embeddings ------------------------------------------------------------------------
