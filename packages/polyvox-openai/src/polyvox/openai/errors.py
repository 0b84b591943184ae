"""OpenAI SDK failures as classes that are also LangChain ``Model*Error`` s.

Each class inherits from the ``openai`` exception the SDK raised *and* from the matching
:mod:`langchain_core.exceptions` class, so ``except openai.RateLimitError`` and
``except ModelRateLimitError`` both work. :func:`map_openai_error` does the mapping and
words connection failures so that they name the server that could not be reached.
"""

from __future__ import annotations

from typing import Any

import openai
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from polyvox.core.errors import ErrorKind, ProviderErrorMixin, classify, parse_retry_after, rebrand
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


class OpenAIAuthenticationError(
    openai.AuthenticationError, ProviderErrorMixin, ModelAuthenticationError
):
    """The server rejected the API key (401)."""


class OpenAIPermissionDeniedError(
    openai.PermissionDeniedError, ProviderErrorMixin, ModelPermissionDeniedError
):
    """The key may not use this model or endpoint (403)."""


class OpenAINotFoundError(openai.NotFoundError, ProviderErrorMixin, ModelNotFoundError):
    """The model or endpoint does not exist (404)."""


class OpenAIRateLimitError(openai.RateLimitError, ProviderErrorMixin, ModelRateLimitError):
    """Rate limit or quota exceeded (429); ``retry_after`` says how long to wait."""


class OpenAIContextOverflowError(openai.BadRequestError, ProviderErrorMixin, ContextOverflowError):
    """The prompt does not fit the model's context window."""


class OpenAIInvalidRequestError(
    openai.APIStatusError, ProviderErrorMixin, ModelInvalidRequestError
):
    """The server rejected the request as invalid (400, 409, 422, other 4xx)."""


class OpenAIAPIError(openai.APIStatusError, ProviderErrorMixin, ModelAPIError):
    """The server failed (5xx, including 503 while a model loads)."""


class OpenAIBadRequestError(openai.BadRequestError, OpenAIInvalidRequestError):
    """A 400: still an ``openai.BadRequestError``, as code written for the SDK catches."""


class OpenAIConflictError(openai.ConflictError, OpenAIInvalidRequestError):
    """A 409: still an ``openai.ConflictError``."""


class OpenAIUnprocessableEntityError(openai.UnprocessableEntityError, OpenAIInvalidRequestError):
    """A 422: still an ``openai.UnprocessableEntityError``."""


class OpenAIInternalServerError(openai.InternalServerError, OpenAIAPIError):
    """A 5xx: still an ``openai.InternalServerError``."""


_SDK_SPECIFIC: tuple[tuple[type[openai.APIStatusError], type[openai.APIStatusError]], ...] = (
    (OpenAIInvalidRequestError, OpenAIBadRequestError),
    (OpenAIInvalidRequestError, OpenAIConflictError),
    (OpenAIInvalidRequestError, OpenAIUnprocessableEntityError),
    (OpenAIAPIError, OpenAIInternalServerError),
)
"""(polyvox's class, its subclass that is also the SDK's specific class): a mapped error
stays an instance of the exact SDK class it was raised as."""


class OpenAIConnectionError(openai.APIConnectionError, ProviderErrorMixin, ModelConnectionError):
    """The server could not be reached, or the connection broke (also mid-stream)."""


class OpenAITimeoutError(openai.APITimeoutError, ProviderErrorMixin, ModelTimeoutError):
    """The server did not answer within ``timeout``."""


class OpenAIStreamError(openai.APIError, ProviderErrorMixin, ModelAPIError):
    """The server sent an error event in the middle of a stream."""


class _StreamContextOverflowError(openai.APIError, ProviderErrorMixin, ContextOverflowError):
    """A mid-stream error event saying the context window was exceeded."""


class _StreamRateLimitError(openai.APIError, ProviderErrorMixin, ModelRateLimitError):
    """A mid-stream error event saying a rate limit was hit."""


_STATUS_CLASSES: dict[ErrorKind, type[openai.APIStatusError]] = {
    ErrorKind.AUTHENTICATION: OpenAIAuthenticationError,
    ErrorKind.PERMISSION_DENIED: OpenAIPermissionDeniedError,
    ErrorKind.NOT_FOUND: OpenAINotFoundError,
    ErrorKind.RATE_LIMIT: OpenAIRateLimitError,
    ErrorKind.CONTEXT_OVERFLOW: OpenAIContextOverflowError,
    ErrorKind.INVALID_REQUEST: OpenAIInvalidRequestError,
    ErrorKind.API: OpenAIAPIError,
    ErrorKind.TIMEOUT: OpenAIAPIError,
    ErrorKind.CONNECTION: OpenAIAPIError,
}

_STREAM_CLASSES: dict[ErrorKind, type[openai.APIError]] = {
    ErrorKind.CONTEXT_OVERFLOW: _StreamContextOverflowError,
    ErrorKind.RATE_LIMIT: _StreamRateLimitError,
}


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
    where = base_url or "the default endpoint"
    if isinstance(exc, openai.APITimeoutError):
        return rebrand(
            exc,
            OpenAITimeoutError,
            provider=provider,
            kind=ErrorKind.TIMEOUT,
            message=f"{provider}: no answer from {where} within the timeout ({exc}). "
            "Raise timeout= or check the server.",
        )
    if isinstance(exc, openai.APIConnectionError):
        return rebrand(
            exc,
            OpenAIConnectionError,
            provider=provider,
            kind=ErrorKind.CONNECTION,
            message=_connection_message(exc, provider, where),
        )
    if isinstance(exc, openai.APIStatusError):
        kind = classify(exc.status_code, exc.message, _body_code(exc.body) or exc.code)
        target = _STATUS_CLASSES[kind]
        for general, specific in _SDK_SPECIFIC:
            if target is general and isinstance(exc, specific.__mro__[1]):
                target = specific
                break
        return rebrand(
            exc,
            target,
            provider=provider,
            kind=kind,
            retry_after=parse_retry_after(exc.response.headers),
        )
    if isinstance(exc, openai.APIError):  # an error event inside a stream
        code = _body_code({"error": exc.body}) or exc.code
        status = int(code) if code is not None and str(code).isdigit() else None
        kind = classify(status or 500, exc.message, code)
        return rebrand(
            exc, _STREAM_CLASSES.get(kind, OpenAIStreamError), provider=provider, kind=kind
        )
    return exc
