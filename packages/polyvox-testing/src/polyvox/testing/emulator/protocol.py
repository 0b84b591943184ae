"""What a provider protocol contributes to the emulator, and the machinery they share.

A protocol module (``openai_protocol.py``, later ``anthropic_protocol.py``, ...) exposes
one :class:`Protocol`: a name, the path prefix it owns (for its 404 envelope), a factory
for its Starlette routes and a builder for its error body. Its handlers call
:func:`receive` to record the request, :func:`fault_response` to apply a pending fault,
and :func:`json_response` / :mod:`~polyvox.testing.emulator.streaming` to answer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.state import EmulatorState, RecordedRequest

__all__ = [
    "ErrorBody",
    "Protocol",
    "default_error_message",
    "dump_json",
    "fault_response",
    "json_response",
    "raw_response",
    "receive",
]

ErrorBody = Callable[[int, Fault], Any]
"""Builds a provider's error body (a JSON-able value) for a status and a fault."""

_MESSAGES = {
    400: "Bad request.",
    401: "Incorrect API key provided.",
    403: "You are not allowed to sample from this model.",
    404: "The model does not exist or you do not have access to it.",
    408: "Request timed out.",
    409: "Conflict.",
    413: "Request too large.",
    422: "Unprocessable entity.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The model is loading or overloaded, please try again later.",
    504: "Gateway timeout.",
    529: "Overloaded.",
}


@dataclass(frozen=True, slots=True)
class Protocol:
    """One provider wire protocol served by the emulator."""

    name: str
    """A short name (``openai``)."""

    prefix: str
    """The path prefix it owns (``/v1``); unknown paths under it get its 404 envelope."""

    routes: Callable[[EmulatorState], Sequence[BaseRoute]]
    """Makes the Starlette routes, bound to the emulator's state."""

    error_body: ErrorBody
    """Builds the provider's error body."""


def default_error_message(status: int) -> str:
    """Return a plausible error message for a status.

    Args:
        status: The HTTP status.

    Returns:
        The message.
    """
    return _MESSAGES.get(status, f"HTTP {status}.")


def dump_json(value: Any) -> bytes:
    """Serialise compactly, keeping non-ASCII text as is (as providers do).

    Args:
        value: A JSON-able value.

    Returns:
        UTF-8 bytes.
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(
    value: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """Make a JSON response.

    Args:
        value: The body.
        status: The status.
        headers: Extra headers.

    Returns:
        The response.
    """
    return Response(dump_json(value), status, dict(headers or {}), "application/json")


def raw_response(
    body: str | bytes,
    content_type: str,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Make a response with an exact body.

    Args:
        body: The body.
        content_type: The ``Content-Type`` header, sent as given.
        status: The status.
        headers: Extra headers.

    Returns:
        The response.
    """
    data = body.encode("utf-8") if isinstance(body, str) else body
    response = Response(data, status, dict(headers or {}))
    response.headers["content-type"] = content_type
    return response


async def receive(request: Request, state: EmulatorState) -> RecordedRequest:
    """Read a request's body and add the request to the log.

    Args:
        request: The incoming request.
        state: The emulator's state.

    Returns:
        The recorded request (its ``json`` is ``None`` when the body is not JSON).
    """
    body = await request.body()
    parsed: Any = None
    if body:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
    recorded = RecordedRequest(
        method=request.method,
        path=request.url.path,
        query=request.url.query,
        headers={k.lower(): v for k, v in request.headers.items()},
        json=parsed,
        body=body,
    )
    state.record(recorded)
    return recorded


async def fault_response(
    fault: Fault | None, error_body: ErrorBody, headers: Mapping[str, str] | None = None
) -> Response | None:
    """Apply a fault's delay, and answer its error status when it has one.

    Args:
        fault: The pending fault, or ``None``.
        error_body: The protocol's error body builder.
        headers: Extra headers for the error response.

    Returns:
        The error response, or ``None`` when the request goes on.
    """
    if fault is None:
        return None
    if fault.delay > 0:
        await asyncio.sleep(fault.delay)
    if not fault.is_error:
        return None
    assert fault.status is not None
    all_headers = {**dict(headers or {}), **fault.response_headers()}
    if isinstance(fault.body, str):
        return raw_response(fault.body, "application/json", fault.status, all_headers)
    body = fault.body if fault.body is not None else error_body(fault.status, fault)
    return json_response(body, fault.status, all_headers)
