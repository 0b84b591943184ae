"""Provider failures mapped onto LangChain's ``Model*Error`` hierarchy.

Every provider package declares, for each kind of failure, one class that inherits from
*both* its SDK's exception and the matching :mod:`langchain_core.exceptions` class, e.g.::

    class OpenAIRateLimitError(openai.RateLimitError, ProviderErrorMixin, ModelRateLimitError): ...

so ``except openai.RateLimitError`` and ``except ModelRateLimitError`` both keep working.
This module holds what those packages share: the kinds, the classification of an HTTP
status and message into a kind, ``Retry-After`` parsing, and :func:`rebrand`, which turns a
caught SDK exception into the provider's mapped class without losing any of its state.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

__all__ = [
    "ErrorKind",
    "MissingAPIKeyError",
    "ProviderErrorMixin",
    "ProviderResponseError",
    "classify",
    "is_context_overflow",
    "parse_retry_after",
    "rebrand",
]


class ErrorKind(StrEnum):
    """The kinds of provider failure that every provider reports in some form."""

    AUTHENTICATION = "authentication"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    RATE_LIMIT = "rate_limit"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    CONTEXT_OVERFLOW = "context_overflow"
    INVALID_REQUEST = "invalid_request"
    API = "api"

    @property
    def langchain_class(self) -> type[ModelError]:
        """The :mod:`langchain_core.exceptions` class this kind maps to."""
        return _LANGCHAIN_CLASSES[self]


_LANGCHAIN_CLASSES: dict[ErrorKind, type[ModelError]] = {
    ErrorKind.AUTHENTICATION: ModelAuthenticationError,
    ErrorKind.PERMISSION_DENIED: ModelPermissionDeniedError,
    ErrorKind.NOT_FOUND: ModelNotFoundError,
    ErrorKind.RATE_LIMIT: ModelRateLimitError,
    ErrorKind.TIMEOUT: ModelTimeoutError,
    ErrorKind.CONNECTION: ModelConnectionError,
    ErrorKind.CONTEXT_OVERFLOW: ContextOverflowError,
    ErrorKind.INVALID_REQUEST: ModelInvalidRequestError,
    ErrorKind.API: ModelAPIError,
}

# Phrases providers use when a prompt does not fit the model's window.
_OVERFLOW = re.compile(
    r"context[_ ]length[_ ]exceeded|maximum context length|context window|"
    r"prompt is too long|too many tokens|exceeds? the (?:model'?s? )?(?:maximum )?"
    r"(?:context|input)|input (?:is )?too long|reduce the length of the messages|"
    r"string_above_max_length|tokens? limit",
    re.IGNORECASE,
)


def is_context_overflow(message: str | None, code: str | None = None) -> bool:
    """Tell whether a provider's error text or code says the prompt exceeds the window.

    Args:
        message: The provider's error message.
        code: The provider's machine-readable error code, if any.

    Returns:
        True when the error is a context-window overflow.
    """
    text = f"{code or ''} {message or ''}"
    return bool(_OVERFLOW.search(text))


def classify(status: int | None, message: str | None = None, code: str | None = None) -> ErrorKind:
    """Classify a provider failure by HTTP status, refined by its message and code.

    Args:
        status: The HTTP status, or ``None`` when no response arrived.
        message: The provider's error message.
        code: The provider's error code.

    Returns:
        The kind of failure.
    """
    if status is None:
        return ErrorKind.CONNECTION
    if status in (400, 413, 422) and is_context_overflow(message, code):
        return ErrorKind.CONTEXT_OVERFLOW
    if status == 401:
        return ErrorKind.AUTHENTICATION
    if status == 403:
        return ErrorKind.PERMISSION_DENIED
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status == 408:
        return ErrorKind.TIMEOUT
    if status == 429:
        return ErrorKind.RATE_LIMIT
    if 400 <= status < 500:
        return ErrorKind.INVALID_REQUEST
    return ErrorKind.API


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Read how long a provider asks the caller to wait, in seconds.

    Understands ``retry-after-ms`` (milliseconds), ``Retry-After`` as seconds and as an
    HTTP date, and ``x-ratelimit-reset-after``-style seconds where present.

    Args:
        headers: The response headers (case-insensitive mappings and plain dicts both work).
        now: The current time (for dates); defaults to :func:`time.time`.

    Returns:
        Seconds to wait (never negative), or ``None`` when the provider gave no hint.
    """
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(parsed.timestamp() - (time.time() if now is None else now), 0.0)


class ProviderErrorMixin:
    """What every mapped provider error carries beside its SDK's own attributes."""

    provider: str = ""
    """The provider that failed (``"openai"``, ``"openrouter"``, ...)."""

    kind: ErrorKind = ErrorKind.API
    """The kind of failure."""

    retry_after: float | None = None
    """Seconds the provider asked to wait before retrying, when it said."""


class ProviderResponseError(ProviderErrorMixin, ModelAPIError):
    """A provider answered with something that is not its documented response format.

    Raised for malformed bodies and for streams that end or break before the provider
    finished (no final chunk), so that a truncated answer is never passed off as complete.
    """

    def __init__(self, message: str, *, provider: str = "", body: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.body = body
        """The raw body (or its start) that could not be understood."""


class MissingAPIKeyError(ValueError):
    """No API key was given and none was found in the provider's environment variable."""


E = TypeVar("E", bound=BaseException)


def rebrand(exc: BaseException, cls: type[E], **attrs: Any) -> E:
    """Return ``exc`` re-created as an instance of ``cls``, keeping all of its state.

    ``cls`` is normally a subclass of ``type(exc)`` that also inherits a LangChain
    ``Model*Error``; SDK exceptions need their response and body to be constructed, so
    instead of calling the constructor this copies the instance's ``__dict__``, ``args``,
    traceback, cause and context.

    Args:
        exc: The caught exception.
        cls: The class to re-create it as.
        **attrs: Attributes to set on the new instance (``provider``, ``retry_after``, ...);
            ``message`` also replaces the text ``str(exc)`` shows.

    Returns:
        The new exception; raise it ``from exc``.
    """
    new = cls.__new__(cls)
    new.__dict__.update(getattr(exc, "__dict__", {}))
    new.args = (attrs["message"],) if "message" in attrs else exc.args
    for key, value in attrs.items():
        setattr(new, key, value)
    return new.with_traceback(exc.__traceback__)
