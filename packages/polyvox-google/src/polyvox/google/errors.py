"""google-genai SDK failures as classes that are also LangChain ``Model*Error`` s.

One class per kind of failure (:class:`~polyvox.core.errors.ErrorFamily`). The SDK has
two classes for failed calls, ``google.genai.errors.ClientError`` (4xx) and
``ServerError`` (5xx), under ``APIError``: each of polyvox's classes inherits the one the
SDK raises for its kind *and* the matching :mod:`langchain_core.exceptions` class, so
``except genai.errors.ClientError`` and ``except ModelRateLimitError`` both work, and
``.code``, ``.status``, ``.message`` and ``.details`` are the SDK's. The SDK raises its
HTTP library's exceptions for a connection that fails or times out: those become
:data:`GoogleConnectionError` / :data:`GoogleTimeoutError`, which are also the exact
``httpx2`` class raised.

What the Gemini API says is kept: a 400 ``INVALID_ARGUMENT`` whose ``ErrorInfo`` reason is
``API_KEY_INVALID`` is an authentication error, not a bad request; a 429
``RESOURCE_EXHAUSTED`` carries its wait in the body (``RetryInfo.retryDelay``, no header),
which becomes the error's ``retry_after`` and is honoured by polyvox's retries; a 400
saying the input token count exceeds the limit is a context overflow.

Code written for langchain-google-genai keeps working with its imports switched: the
classes have its names (``GoogleModelNotFoundError`` included), and every 4xx class is also
a :class:`ChatGoogleGenerativeAIError`, which is what that package raises for a failed
call (where it does not keep the SDK's ``ClientError``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from google.genai import errors as genai_errors

from polyvox.core.errors import ErrorFamily, ErrorKind, classify, parse_retry_after

__all__ = [
    "ChatGoogleGenerativeAIError",
    "GoogleAPIError",
    "GoogleAuthenticationError",
    "GoogleConnectionError",
    "GoogleContextOverflowError",
    "GoogleInvalidRequestError",
    "GoogleModelNotFoundError",
    "GoogleNotFoundError",
    "GooglePermissionDeniedError",
    "GoogleRateLimitError",
    "GoogleTimeoutError",
    "map_google_error",
    "retry_delay",
]


class ChatGoogleGenerativeAIError(Exception):
    """A call the API refused (4xx), by the name langchain-google-genai gives it.

    langchain-google-genai raises its ``ChatGoogleGenerativeAIError`` (under a
    ``Model*Error``) where the SDK raised ``ClientError``; every 4xx class here inherits this
    one as well as the SDK's ``ClientError``, so ``except ChatGoogleGenerativeAIError``,
    imported from :mod:`polyvox.google`, catches what it caught. polyvox never raises it
    bare.
    """


_CLIENT = (genai_errors.ClientError, ChatGoogleGenerativeAIError)

ERRORS = ErrorFamily(
    "google",
    __name__,
    {
        ErrorKind.AUTHENTICATION: _CLIENT,
        ErrorKind.PERMISSION_DENIED: _CLIENT,
        ErrorKind.NOT_FOUND: _CLIENT,
        ErrorKind.RATE_LIMIT: _CLIENT,
        ErrorKind.TIMEOUT: (genai_errors.APIError,),
        ErrorKind.CONNECTION: (genai_errors.APIError,),
        ErrorKind.CONTEXT_OVERFLOW: _CLIENT,
        ErrorKind.INVALID_REQUEST: _CLIENT,
        ErrorKind.API: (genai_errors.ServerError,),
    },
    prefix="Google",
    docs={
        ErrorKind.AUTHENTICATION: "The API rejected the key or credentials (400 "
        "``API_KEY_INVALID``, 401 ``UNAUTHENTICATED``).",
        ErrorKind.RATE_LIMIT: "Quota or rate limit exceeded (429 ``RESOURCE_EXHAUSTED``); "
        "``retry_after`` is the ``RetryInfo.retryDelay`` the body carried.",
        ErrorKind.TIMEOUT: "No answer within ``timeout`` (the SDK's HTTP library timed out, "
        "or 408/504 ``DEADLINE_EXCEEDED``).",
        ErrorKind.CONNECTION: "The API could not be reached, or the connection broke "
        "(also mid-stream).",
        ErrorKind.API: "The API failed (5xx: 500 ``INTERNAL``, 503 ``UNAVAILABLE`` when the "
        "model is overloaded).",
    },
)
"""The classes of failed calls."""

GoogleAuthenticationError = ERRORS[ErrorKind.AUTHENTICATION]
GooglePermissionDeniedError = ERRORS[ErrorKind.PERMISSION_DENIED]
GoogleNotFoundError = ERRORS[ErrorKind.NOT_FOUND]
GoogleRateLimitError = ERRORS[ErrorKind.RATE_LIMIT]
GoogleTimeoutError = ERRORS[ErrorKind.TIMEOUT]
GoogleConnectionError = ERRORS[ErrorKind.CONNECTION]
GoogleContextOverflowError = ERRORS[ErrorKind.CONTEXT_OVERFLOW]
GoogleInvalidRequestError = ERRORS[ErrorKind.INVALID_REQUEST]
GoogleAPIError = ERRORS[ErrorKind.API]

GoogleModelNotFoundError = GoogleNotFoundError
"""langchain-google-genai's name for :data:`GoogleNotFoundError` (a 404: no such model)."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
_OVERFLOW = re.compile(r"input token count.*exceeds|exceeds the maximum number of tokens", re.I)
_BAD_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "ACCESS_TOKEN_EXPIRED"})


def _details(body: Any) -> list[Mapping[str, Any]]:
    error = body.get("error", body) if isinstance(body, Mapping) else None
    details = error.get("details") if isinstance(error, Mapping) else None
    return [d for d in details or () if isinstance(d, Mapping)]


def retry_delay(body: Any) -> float | None:
    """The wait a Gemini error body asks for (``RetryInfo.retryDelay``), in seconds.

    Args:
        body: The error's JSON body (``{"error": {..., "details": [...]}}``).

    Returns:
        Seconds (``"32s"`` is 32.0), or ``None`` when the body has no ``RetryInfo``.
    """
    for detail in _details(body):
        if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _reasons(body: Any) -> set[str]:
    return {
        str(d["reason"])
        for d in _details(body)
        if str(d.get("@type", "")).endswith("google.rpc.ErrorInfo") and d.get("reason")
    }


def _kind(exc: genai_errors.APIError) -> ErrorKind:
    code = exc.code if isinstance(exc.code, int) else None
    message = exc.message if isinstance(exc.message, str) else str(exc)
    if code == 400 and _reasons(exc.details) & _BAD_KEY_REASONS:
        return ErrorKind.AUTHENTICATION
    if code == 400 and _OVERFLOW.search(message):
        return ErrorKind.CONTEXT_OVERFLOW
    if code == 504:
        return ErrorKind.TIMEOUT if isinstance(exc, genai_errors.ClientError) else ErrorKind.API
    return classify(code if code is not None else 500, message, exc.status)


def _headers(exc: BaseException) -> Mapping[str, str] | None:
    headers = getattr(getattr(exc, "response", None), "headers", None)
    return headers if isinstance(headers, Mapping) else None


def map_google_error(
    exc: BaseException, *, provider: str, base_url: str | None, events: int = 0
) -> BaseException:
    """Turn what the SDK raised into polyvox's mapped class for it.

    Args:
        exc: The SDK's ``APIError``, or its HTTP library's transport error.
        provider: The provider id for the error's ``provider`` attribute.
        base_url: The API's base URL, named in connection errors.
        events: Stream events received before the failure (an error inside a stream).

    Returns:
        The mapped exception (raise it ``from exc``); ``exc`` itself when it is neither
        (a client-side validation error, say).
    """
    from polyvox.google._sdk import transport_errors

    where = base_url or "the Gemini API"
    if isinstance(exc, genai_errors.APIError):
        kind = _kind(exc)
        wait = retry_delay(exc.details)
        if wait is None:
            wait = parse_retry_after(_headers(exc))
        text = exc.message or str(exc)
        message = f"{provider}: {exc.code} {exc.status}: {text}"
        if events:
            message = f"{provider} reported an error mid-stream, after {events} events: " + (
                f"{exc.code} {exc.status}: {text}"
            )
        if kind is ErrorKind.AUTHENTICATION:
            message += " Check api_key (GOOGLE_API_KEY or GEMINI_API_KEY)."
        return ERRORS.rebrand(exc, kind, provider=provider, retry_after=wait, message=message)
    if isinstance(exc, transport_errors()):
        import httpx2

        if isinstance(exc, httpx2.TimeoutException):
            message = (
                f"{provider}: no answer from {where} within the timeout ({exc!r}). Raise "
                "timeout= or check the network."
            )
            kind = ErrorKind.TIMEOUT
        elif isinstance(exc, httpx2.ConnectError):
            message = (
                f"{provider}: could not connect to {where} ({exc}). Is base_url right, and is "
                "the network up?"
            )
            kind = ErrorKind.CONNECTION
        else:
            message = (
                f"{provider}: the connection to {where} broke before the answer was complete "
                f"({type(exc).__name__}: {exc}"
                + (f", after {events} stream events" if events else "")
                + "). Retrying may succeed."
            )
            kind = ErrorKind.CONNECTION
        return ERRORS.rebrand(
            exc, kind, provider=provider, code=None, status=None, details=None, message=message
        )
    return exc
