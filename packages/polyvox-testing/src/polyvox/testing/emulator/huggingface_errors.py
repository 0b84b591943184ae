"""Hugging Face's error envelope, as the router, TGI and TEI answer it."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.protocol import default_error_message, json_response

__all__ = ["error_body", "error_response", "model_loading"]


def model_loading(estimated_time: float = 0.05, *, model: str = "the model") -> Fault:
    """A 503 saying the model is loading, with ``estimated_time`` in the body.

    Args:
        estimated_time: Seconds the body says loading will take.
        model: The model named in the message.

    Returns:
        The fault (schedule it with ``emulator.fail``).
    """
    body = {"error": f"Model {model} is currently loading", "estimated_time": estimated_time}
    return Fault(status=503, body=body)


def error_body(status: int, fault: Fault) -> dict[str, Any]:
    """Render Hugging Face's error envelope.

    Args:
        status: The HTTP status.
        fault: The fault (its ``message`` and ``error_type`` win).

    Returns:
        ``{"error": "...", "error_type": "..."}`` (``error_type`` only where TGI sets one).
    """
    body: dict[str, Any] = {"error": fault.message or default_error_message(status)}
    kind = fault.error_type or {422: "validation", 424: "generation"}.get(status)
    if status == 429 and fault.error_type is None and "overload" in (fault.message or ""):
        kind = "overloaded"
    if kind is not None:
        body["error_type"] = kind
    return body


def error_response(status: int, message: str, error_type: str | None = None) -> Response:
    """A Hugging Face error response (``x-request-id`` set, as the servers set it)."""
    fault = Fault(status=status, message=message, error_type=error_type)
    return json_response(error_body(status, fault), status, {"x-request-id": "emulated"})
