"""Anthropic SDK failures as classes that are also LangChain ``Model*Error`` s.

One class per kind of failure (:class:`~polyvox.core.errors.ErrorFamily`), each inheriting
the ``anthropic`` SDK's own class for that kind *and* the matching
:mod:`langchain_core.exceptions` class, as langchain-anthropic's callers expect: a 400 is an
``anthropic.BadRequestError``, a 429 an ``anthropic.RateLimitError``, a 529 an
``anthropic.OverloadedError`` (an ``anthropic.InternalServerError``), so ``except
anthropic.BadRequestError`` and ``except ModelInvalidRequestError`` both work. A mapped error
stays an instance of the exact class the SDK raised. :func:`map_anthropic_error` does the
mapping, reads the kind from Anthropic's ``error.type`` where the status alone does not say
it (an ``error`` event inside a stream arrives on a 200), and words connection failures so
that they name the server that could not be reached.
"""

from __future__ import annotations

from typing import Any

import anthropic

from polyvox.anthropic._sdk import STREAM_BROKE
from polyvox.core.errors import (
    ErrorFamily,
    ErrorKind,
    classify,
    is_context_overflow,
    parse_retry_after,
    rebrand,
)

__all__ = [
    "AnthropicAPIError",
    "AnthropicAuthenticationError",
    "AnthropicBadRequestError",
    "AnthropicConnectionError",
    "AnthropicContextOverflowError",
    "AnthropicInternalServerError",
    "AnthropicInvalidRequestError",
    "AnthropicNotFoundError",
    "AnthropicOverloadedError",
    "AnthropicPermissionDeniedError",
    "AnthropicRateLimitError",
    "AnthropicRequestTooLargeError",
    "AnthropicStreamError",
    "AnthropicTimeoutError",
    "map_anthropic_error",
]

ERRORS = ErrorFamily(
    "anthropic",
    __name__,
    {
        ErrorKind.AUTHENTICATION: (anthropic.AuthenticationError,),
        ErrorKind.PERMISSION_DENIED: (anthropic.PermissionDeniedError,),
        ErrorKind.NOT_FOUND: (anthropic.NotFoundError,),
        ErrorKind.RATE_LIMIT: (anthropic.RateLimitError,),
        ErrorKind.TIMEOUT: (anthropic.APITimeoutError,),
        ErrorKind.CONNECTION: (anthropic.APIConnectionError,),
        ErrorKind.CONTEXT_OVERFLOW: (anthropic.BadRequestError,),
        ErrorKind.INVALID_REQUEST: (anthropic.BadRequestError,),
        ErrorKind.API: (anthropic.InternalServerError,),
    },
    prefix="Anthropic",
    docs={
        ErrorKind.AUTHENTICATION: "Anthropic rejected the API key (401 ``authentication_error``).",
        ErrorKind.PERMISSION_DENIED: "The key may not use this model or feature (403 "
        "``permission_error``).",
        ErrorKind.NOT_FOUND: "The model or endpoint does not exist (404 ``not_found_error``).",
        ErrorKind.RATE_LIMIT: "Rate limit or spend limit reached (429 ``rate_limit_error``); "
        "``retry_after`` says how long to wait.",
        ErrorKind.CONNECTION: "Anthropic could not be reached, or the connection broke (also "
        "mid-stream).",
        ErrorKind.CONTEXT_OVERFLOW: "The prompt does not fit the model's context window (400 "
        "``prompt is too long``).",
        ErrorKind.INVALID_REQUEST: "Anthropic rejected the request as invalid (400 "
        "``invalid_request_error``, 413 ``request_too_large``, other 4xx).",
        ErrorKind.API: "Anthropic failed (500 ``api_error``, 529 ``overloaded_error``, other 5xx).",
    },
)
"""The classes of failed calls (an HTTP error status, no connection, no answer in time)."""

AnthropicAuthenticationError = ERRORS[ErrorKind.AUTHENTICATION]
AnthropicPermissionDeniedError = ERRORS[ErrorKind.PERMISSION_DENIED]
AnthropicNotFoundError = ERRORS[ErrorKind.NOT_FOUND]
AnthropicRateLimitError = ERRORS[ErrorKind.RATE_LIMIT]
AnthropicTimeoutError = ERRORS[ErrorKind.TIMEOUT]
AnthropicConnectionError = ERRORS[ErrorKind.CONNECTION]
AnthropicContextOverflowError = ERRORS[ErrorKind.CONTEXT_OVERFLOW]
AnthropicInvalidRequestError = ERRORS[ErrorKind.INVALID_REQUEST]
AnthropicAPIError = ERRORS[ErrorKind.API]

# The statuses with an SDK class of their own, under the names of those classes.
AnthropicBadRequestError = ERRORS.variant(ErrorKind.INVALID_REQUEST, anthropic.BadRequestError)
AnthropicRequestTooLargeError = ERRORS.variant(
    ErrorKind.INVALID_REQUEST, anthropic.ContentTooLargeError, name="AnthropicRequestTooLargeError"
)
AnthropicInternalServerError = ERRORS.variant(ErrorKind.API, anthropic.InternalServerError)
AnthropicOverloadedError = ERRORS.variant(ErrorKind.API, anthropic.OverloadedError)

STREAM_ERRORS = ErrorFamily(
    "anthropic",
    __name__,
    {
        ErrorKind.API: (anthropic.APIStatusError,),
        ErrorKind.CONTEXT_OVERFLOW: (anthropic.APIStatusError,),
        ErrorKind.RATE_LIMIT: (anthropic.APIStatusError,),
    },
    prefix="AnthropicStream",
    names={
        ErrorKind.API: "AnthropicStreamError",
        ErrorKind.CONTEXT_OVERFLOW: "_StreamContextOverflowError",
        ErrorKind.RATE_LIMIT: "_StreamRateLimitError",
    },
    docs={
        ErrorKind.API: "Anthropic sent an ``error`` event in the middle of a stream (an "
        "``overloaded_error``, an ``api_error``...).",
        ErrorKind.CONTEXT_OVERFLOW: "A mid-stream error event saying the context window was "
        "exceeded.",
        ErrorKind.RATE_LIMIT: "A mid-stream ``rate_limit_error`` event.",
    },
    partial=True,
)
"""The classes of ``error`` events inside a stream: the SDK raises those as a plain
``anthropic.APIStatusError`` (the response's status is the stream's 200); another kind's
event is an :data:`AnthropicStreamError`."""

AnthropicStreamError = STREAM_ERRORS[ErrorKind.API]
_StreamContextOverflowError = STREAM_ERRORS[ErrorKind.CONTEXT_OVERFLOW]
_StreamRateLimitError = STREAM_ERRORS[ErrorKind.RATE_LIMIT]

_TYPE_KINDS = {
    "invalid_request_error": ErrorKind.INVALID_REQUEST,
    "authentication_error": ErrorKind.AUTHENTICATION,
    "permission_error": ErrorKind.PERMISSION_DENIED,
    "not_found_error": ErrorKind.NOT_FOUND,
    "request_too_large": ErrorKind.INVALID_REQUEST,
    "rate_limit_error": ErrorKind.RATE_LIMIT,
    "api_error": ErrorKind.API,
    "overloaded_error": ErrorKind.API,
}
"""Anthropic's ``error.type`` values and their kinds (for errors without a telling status)."""


def error_of(body: Any) -> tuple[str | None, str | None]:
    """The ``(type, message)`` of Anthropic's error envelope, whatever its shape.

    Args:
        body: ``{"type": "error", "error": {"type", "message"}}``, or its inner object.

    Returns:
        The two strings, each ``None`` when absent.
    """
    inner = body.get("error", body) if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        return None, str(body) if body else None
    kind, message = inner.get("type"), inner.get("message")
    return (
        str(kind) if kind is not None else None,
        str(message) if message is not None else None,
    )


_CONNECT_FAILURES = frozenset({"ConnectError", "ConnectTimeout", "ConnectionRefusedError"})


def _connection_message(exc: anthropic.APIConnectionError, where: str) -> str:
    """Name the real cause: no connection at all, or one that broke mid-answer."""
    cause = exc.__cause__
    if getattr(exc, STREAM_BROKE, False):
        return f"anthropic at {where}: {exc.message}"
    names = {cls.__name__ for cls in type(cause).__mro__} if cause is not None else set()
    if cause is None or names & _CONNECT_FAILURES:
        return (
            f"anthropic: could not connect to {where} ({cause or exc}). "
            "Is the server reachable, and is base_url (or ANTHROPIC_BASE_URL) right?"
        )
    return (
        f"anthropic: the connection to {where} broke before the answer was complete "
        f"({type(cause).__name__}: {cause}); the server, or a proxy in between, closed it "
        "mid-response. Retrying may succeed."
    )


def map_anthropic_error(exc: anthropic.AnthropicError, *, base_url: str | None) -> Exception:
    """Turn an ``anthropic`` exception into polyvox's mapped class for it.

    Args:
        exc: What the SDK raised (or what the stream reader raised as the SDK would).
        base_url: The server's base URL, named in connection errors.

    Returns:
        The mapped exception (raise it ``from exc``); ``exc`` itself when it is not an
        API error (a client-side validation error, say).
    """
    where = base_url or "https://api.anthropic.com"
    if isinstance(exc, anthropic.APITimeoutError):
        return ERRORS.rebrand(
            exc,
            ErrorKind.TIMEOUT,
            provider="anthropic",
            message=f"anthropic: no answer from {where} within the timeout ({exc}). "
            "Raise timeout= or stream long answers.",
        )
    if isinstance(exc, anthropic.APIConnectionError):
        return ERRORS.rebrand(
            exc,
            ErrorKind.CONNECTION,
            provider="anthropic",
            message=_connection_message(exc, where),
        )
    if not isinstance(exc, anthropic.APIStatusError):
        return exc
    kind_name, text = error_of(exc.body)
    status = exc.status_code
    if status < 400:  # an error event inside a 200 stream: its type says what it is
        kind = _TYPE_KINDS.get(kind_name or "", ErrorKind.API)
        if kind is ErrorKind.INVALID_REQUEST and is_context_overflow(text):
            kind = ErrorKind.CONTEXT_OVERFLOW
        cls = STREAM_ERRORS.class_for(kind if kind in STREAM_ERRORS else ErrorKind.API, type(exc))
        mapped: Exception = rebrand(
            exc,
            cls,
            provider="anthropic",
            kind=kind,
            message=f"anthropic reported an error mid-stream: {kind_name or 'error'}: "
            f"{text or exc.message}",
        )
        return mapped
    kind = classify(status, text or exc.message, kind_name)
    return ERRORS.rebrand(
        exc, kind, provider="anthropic", retry_after=parse_retry_after(exc.response.headers)
    )
