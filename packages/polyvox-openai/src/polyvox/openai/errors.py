"""OpenAI SDK failures as classes that are also LangChain ``Model*Error`` s.

One class per kind of failure (:class:`~polyvox.core.errors.ErrorFamily`), each inheriting
the ``openai`` SDK's own class for that kind *and* the matching
:mod:`langchain_core.exceptions` class, as langchain-openai's do: a 400 is an
``openai.BadRequestError``, a 429 an ``openai.RateLimitError``, so ``except
openai.BadRequestError`` and ``except ModelInvalidRequestError`` both work. A mapped error is
also an instance of the exact class the SDK raised (a 409 stays an ``openai.ConflictError``).
:func:`map_openai_error` does the mapping and words connection failures so that they name
the server that could not be reached.
"""

from __future__ import annotations

from typing import Any

import openai

from polyvox.core.errors import ErrorFamily, ErrorKind, classify, parse_retry_after, rebrand
from polyvox.core.urls import missing_v1, shown_url
from polyvox.openai._sdk import STREAM_BROKE

__all__ = [
    "OpenAIAPIError",
    "OpenAIAuthenticationError",
    "OpenAIBadRequestError",
    "OpenAIConflictError",
    "OpenAIConnectionError",
    "OpenAIContextOverflowError",
    "OpenAIInternalServerError",
    "OpenAIInvalidRequestError",
    "OpenAINotFoundError",
    "OpenAIPermissionDeniedError",
    "OpenAIRateLimitError",
    "OpenAIStreamError",
    "OpenAITimeoutError",
    "OpenAIUnprocessableEntityError",
    "map_openai_error",
]

ERRORS = ErrorFamily(
    "openai",
    __name__,
    {
        ErrorKind.AUTHENTICATION: (openai.AuthenticationError,),
        ErrorKind.PERMISSION_DENIED: (openai.PermissionDeniedError,),
        ErrorKind.NOT_FOUND: (openai.NotFoundError,),
        ErrorKind.RATE_LIMIT: (openai.RateLimitError,),
        ErrorKind.TIMEOUT: (openai.APITimeoutError,),
        ErrorKind.CONNECTION: (openai.APIConnectionError,),
        ErrorKind.CONTEXT_OVERFLOW: (openai.BadRequestError,),
        ErrorKind.INVALID_REQUEST: (openai.BadRequestError,),
        ErrorKind.API: (openai.InternalServerError,),
    },
    prefix="OpenAI",
    docs={
        ErrorKind.CONNECTION: "The server could not be reached, or the connection broke "
        "(also mid-stream).",
        ErrorKind.INVALID_REQUEST: "The server rejected the request as invalid (400, 409, 422, "
        "other 4xx; a 409 or 422 is also the SDK's class for its status).",
        ErrorKind.API: "The server failed (5xx, including 503 while a model loads).",
    },
)
"""The classes of failed calls (an HTTP error status, no connection, no answer in time)."""

OpenAIAuthenticationError = ERRORS[ErrorKind.AUTHENTICATION]
OpenAIPermissionDeniedError = ERRORS[ErrorKind.PERMISSION_DENIED]
OpenAINotFoundError = ERRORS[ErrorKind.NOT_FOUND]
OpenAIRateLimitError = ERRORS[ErrorKind.RATE_LIMIT]
OpenAITimeoutError = ERRORS[ErrorKind.TIMEOUT]
OpenAIConnectionError = ERRORS[ErrorKind.CONNECTION]
OpenAIContextOverflowError = ERRORS[ErrorKind.CONTEXT_OVERFLOW]
OpenAIInvalidRequestError = ERRORS[ErrorKind.INVALID_REQUEST]
OpenAIAPIError = ERRORS[ErrorKind.API]

# The statuses with an SDK class of their own, under the names of those classes.
OpenAIBadRequestError = ERRORS.variant(ErrorKind.INVALID_REQUEST, openai.BadRequestError)
OpenAIConflictError = ERRORS.variant(ErrorKind.INVALID_REQUEST, openai.ConflictError)
OpenAIUnprocessableEntityError = ERRORS.variant(
    ErrorKind.INVALID_REQUEST, openai.UnprocessableEntityError
)
OpenAIInternalServerError = ERRORS.variant(ErrorKind.API, openai.InternalServerError)

STREAM_ERRORS = ErrorFamily(
    "openai",
    __name__,
    {
        ErrorKind.API: (openai.APIError,),
        ErrorKind.CONTEXT_OVERFLOW: (openai.APIError,),
        ErrorKind.RATE_LIMIT: (openai.APIError,),
    },
    prefix="OpenAIStream",
    names={
        ErrorKind.API: "OpenAIStreamError",
        ErrorKind.CONTEXT_OVERFLOW: "_StreamContextOverflowError",
        ErrorKind.RATE_LIMIT: "_StreamRateLimitError",
    },
    docs={
        ErrorKind.API: "The server sent an error event in the middle of a stream.",
        ErrorKind.CONTEXT_OVERFLOW: "A mid-stream error event saying the context window was "
        "exceeded.",
        ErrorKind.RATE_LIMIT: "A mid-stream error event saying a rate limit was hit.",
    },
    partial=True,
)
"""The classes of error events inside a stream (an ``openai.APIError``: no HTTP status);
another kind's event is an :data:`OpenAIStreamError`."""

OpenAIStreamError = STREAM_ERRORS[ErrorKind.API]
_StreamContextOverflowError = STREAM_ERRORS[ErrorKind.CONTEXT_OVERFLOW]
_StreamRateLimitError = STREAM_ERRORS[ErrorKind.RATE_LIMIT]


def _body_code(body: Any) -> str | None:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("code") is not None:
            return str(inner["code"])
    return None


_CONNECT_FAILURES = frozenset({"ConnectError", "ConnectTimeout", "ConnectionRefusedError"})


def _connection_message(exc: openai.APIConnectionError, provider: str, where: str) -> str:
    """Name the real cause: no connection at all, or one that broke mid-answer."""
    cause = exc.__cause__
    if getattr(exc, STREAM_BROKE, False):
        return f"{provider} at {where}: {exc.message}"
    names = {cls.__name__ for cls in type(cause).__mro__} if cause is not None else set()
    if cause is None or names & _CONNECT_FAILURES:
        return (
            f"{provider}: could not connect to {where} ({cause or exc}). "
            "Is the server running, and is base_url right?"
        )
    return (
        f"{provider}: the connection to {where} broke before the answer was complete "
        f"({type(cause).__name__}: {cause}); the server, or a proxy in between, closed it "
        "mid-response. Retrying may succeed."
    )


def _about_a_model(exc: openai.APIStatusError) -> bool:
    """Whether a 404 says the model is unknown (the URL is right: no ``/v1`` hint)."""
    code = _body_code(exc.body) or exc.code
    return code == "model_not_found" or "model" in str(exc.message).lower()


def map_openai_error(exc: openai.OpenAIError, *, provider: str, base_url: str | None) -> Exception:
    """Turn an ``openai`` exception into polyvox's mapped class for it.

    Args:
        exc: What the SDK raised.
        provider: The provider id for the error's ``provider`` attribute.
        base_url: The server's base URL, named in connection errors.

    Returns:
        The mapped exception (raise it ``from exc``); ``exc`` itself when it is not an
        API error (e.g. a client-side validation error).
    """
    where = shown_url(base_url) if base_url else "the default endpoint"
    if isinstance(exc, openai.APITimeoutError):
        return ERRORS.rebrand(
            exc,
            ErrorKind.TIMEOUT,
            provider=provider,
            message=f"{provider}: no answer from {where} within the timeout ({exc}). "
            "Raise timeout= or check the server.",
        )
    if isinstance(exc, openai.APIConnectionError):
        return ERRORS.rebrand(
            exc,
            ErrorKind.CONNECTION,
            provider=provider,
            message=_connection_message(exc, provider, where),
        )
    if isinstance(exc, openai.APIStatusError):
        kind = classify(exc.status_code, exc.message, _body_code(exc.body) or exc.code)
        attrs: dict[str, Any] = {"retry_after": parse_retry_after(exc.response.headers)}
        if (
            exc.status_code == 404
            and not _about_a_model(exc)
            and (fixed := missing_v1(base_url)) is not None
        ):
            attrs["message"] = (
                f"{exc.message} ({where} answered 404 Not Found: did you mean {fixed}? "
                "OpenAI-compatible servers serve the API under /v1)"
            )
        return ERRORS.rebrand(exc, kind, provider=provider, **attrs)
    if isinstance(exc, openai.APIError):  # an error event inside a stream
        code = _body_code({"error": exc.body}) or exc.code
        status = int(code) if code is not None and str(code).isdigit() else None
        kind = classify(status or 500, exc.message, code)
        # an event of another kind is an OpenAIStreamError that says its kind
        cls: type[Exception] = STREAM_ERRORS.class_for(
            kind if kind in STREAM_ERRORS else ErrorKind.API, type(exc)
        )
        return rebrand(exc, cls, provider=provider, kind=kind)
    return exc
