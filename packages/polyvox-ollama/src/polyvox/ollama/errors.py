"""Ollama failures as classes that are also LangChain ``Model*Error`` s, with advice.

The ``ollama`` SDK raises ``ollama.ResponseError`` (with the HTTP status) for answers; when
Ollama is not running it raises the built-in ``ConnectionError`` for a whole answer and
``httpx.ConnectError`` for a stream (which is what langchain-ollama, always streaming, lets
through); timeouts and broken streams surface as ``httpx`` errors. Each becomes its kind's
class (:class:`~polyvox.core.errors.ErrorFamily`), inheriting from ``ollama.ResponseError``
(or the built-in ``ConnectionError``/``TimeoutError``) and from the matching LangChain class;
a transport failure is also the ``httpx`` class langchain-ollama raises for it (a server
that is not running is always :class:`OllamaConnectError`, an ``httpx.ConnectError``; a
timeout an ``httpx.TimeoutException``). Each message says what to run: ``ollama serve`` when
the server is down, ``ollama pull MODEL`` when the model is missing.
"""

from __future__ import annotations

import json
import re

import httpx
import ollama

from polyvox.core.errors import (
    ErrorFamily,
    ErrorKind,
    ProviderErrorMixin,
    ProviderResponseError,
    classify,
    parse_retry_after,
)

__all__ = [
    "OllamaAPIError",
    "OllamaAuthenticationError",
    "OllamaConnectError",
    "OllamaConnectionError",
    "OllamaContextOverflowError",
    "OllamaInvalidRequestError",
    "OllamaModelNotFoundError",
    "OllamaPermissionDeniedError",
    "OllamaRateLimitError",
    "OllamaTimeoutError",
    "map_ollama_error",
]

ERRORS = ErrorFamily(
    "ollama",
    __name__,
    {
        ErrorKind.NOT_FOUND: (ollama.ResponseError,),
        ErrorKind.AUTHENTICATION: (ollama.ResponseError,),
        ErrorKind.PERMISSION_DENIED: (ollama.ResponseError,),
        ErrorKind.RATE_LIMIT: (ollama.ResponseError,),
        ErrorKind.CONTEXT_OVERFLOW: (ollama.ResponseError,),
        ErrorKind.INVALID_REQUEST: (ollama.ResponseError,),
        ErrorKind.API: (ollama.ResponseError,),
        ErrorKind.CONNECTION: (ConnectionError,),
        ErrorKind.TIMEOUT: (TimeoutError,),
    },
    prefix="Ollama",
    names={ErrorKind.NOT_FOUND: "OllamaModelNotFoundError"},
    docs={
        ErrorKind.NOT_FOUND: "The model is not pulled on this Ollama server (404); the message "
        "says how to pull it.",
        ErrorKind.AUTHENTICATION: "The server (a proxy or ollama.com) rejected the key (401).",
        ErrorKind.PERMISSION_DENIED: "Forbidden (403).",
        ErrorKind.RATE_LIMIT: "Too many requests (429, from ollama.com or a proxy).",
        ErrorKind.CONTEXT_OVERFLOW: "The prompt does not fit the context window (``num_ctx``).",
        ErrorKind.INVALID_REQUEST: "Ollama rejected the request (400 and other 4xx).",
        ErrorKind.API: "Ollama failed (5xx), or reported an error in the middle of a stream.",
        ErrorKind.CONNECTION: "Ollama is not reachable, or the connection broke mid-stream.",
        ErrorKind.TIMEOUT: "Ollama did not answer within ``timeout`` (a model may still be "
        "loading).",
    },
)
"""The classes of Ollama's failures: an answer with an error status is an
``ollama.ResponseError``, as the SDK raises it; no server or no answer in time are the
built-in ``ConnectionError`` and ``TimeoutError``."""

OllamaModelNotFoundError = ERRORS[ErrorKind.NOT_FOUND]
OllamaAuthenticationError = ERRORS[ErrorKind.AUTHENTICATION]
OllamaPermissionDeniedError = ERRORS[ErrorKind.PERMISSION_DENIED]
OllamaRateLimitError = ERRORS[ErrorKind.RATE_LIMIT]
OllamaContextOverflowError = ERRORS[ErrorKind.CONTEXT_OVERFLOW]
OllamaInvalidRequestError = ERRORS[ErrorKind.INVALID_REQUEST]
OllamaAPIError = ERRORS[ErrorKind.API]
OllamaConnectionError = ERRORS[ErrorKind.CONNECTION]
OllamaTimeoutError = ERRORS[ErrorKind.TIMEOUT]
OllamaConnectError = ERRORS.variant(ErrorKind.CONNECTION, httpx.ConnectError)
"""Ollama is not reachable: an :class:`OllamaConnectionError` (so a built-in
``ConnectionError``, as the SDK raises it for a whole answer) that is also the
``httpx.ConnectError`` langchain-ollama lets through, whatever the call."""

_NOT_PULLED = re.compile(r"model ['\"]?([^'\"]+?)['\"]? not found", re.IGNORECASE)
_MISSING = re.compile(r"not found|does not exist|no such model", re.IGNORECASE)


def map_ollama_error(exc: BaseException, *, host: str, model: str) -> BaseException:
    """Turn what the SDK (or its transport) raised into polyvox's class for it.

    Args:
        exc: The exception.
        host: The Ollama server, named in the messages.
        model: The model of the call, named in the pull advice.

    Returns:
        The mapped exception (raise it ``from exc``), or ``exc`` when it is not a server
        or transport failure.
    """
    if isinstance(exc, ProviderErrorMixin):
        return exc  # already mapped (e.g. by show() inside a chat call)
    if isinstance(exc, ollama.ResponseError):
        status = exc.status_code if exc.status_code > 0 else None
        text = str(exc.error)
        if status is None:  # an {"error": ...} line in the middle of a stream (or a pull)
            kind = ErrorKind.NOT_FOUND if _MISSING.search(text) else classify(500, text)
            message = f"Ollama at {host} reported an error mid-stream: {text}"
            return ERRORS.rebrand(exc, kind, provider="ollama", message=message, error=message)
        kind = classify(status, text)
        message = text
        retry_after = _retry_after(exc)
        if kind is ErrorKind.NOT_FOUND and (found := _NOT_PULLED.search(text)):
            name = found.group(1) or model
            message = (
                f"{text} (Ollama at {host}). Pull it first: `ollama pull {name}`, "
                f"`polyvox ollama pull {name}`, or the model's .pull() method."
            )
        # ResponseError shows its `error` attribute, so the advice goes there too
        return ERRORS.rebrand(
            exc,
            kind,
            provider="ollama",
            message=message,
            error=message,
            retry_after=retry_after,
        )
    if isinstance(exc, httpx.TimeoutException):  # stays the httpx class it was raised as
        message = (
            f"Ollama at {host} did not answer within the timeout ({exc!r}); a large model may "
            "still be loading: raise timeout= or warm it up with keep_alive."
        )
        return ERRORS.rebrand(exc, ErrorKind.TIMEOUT, provider="ollama", message=message)
    if isinstance(exc, ConnectionError | httpx.ConnectError):
        message = (
            f"Ollama is not reachable at {host}. Start it with `ollama serve` (or the Ollama "
            "app), or point polyvox at the right server with base_url=... or OLLAMA_HOST."
        )
        # the SDK turns httpx's ConnectError into a bare ConnectionError for a whole answer
        # (keeping it as the context); both become the class that is both
        raw = exc if isinstance(exc, httpx.ConnectError) else exc.__context__
        if not isinstance(raw, httpx.ConnectError):
            raw = httpx.ConnectError(str(exc))
        return ERRORS.rebrand(raw, ErrorKind.CONNECTION, provider="ollama", message=message)
    if isinstance(exc, IncompleteStreamError) and exc.parts == 0:
        error = ProviderResponseError(
            f"Ollama at {host} answered 200 with an empty stream (no part at all); is "
            "base_url an Ollama server, and is a proxy in between cutting answers?",
            provider="ollama",
            body="",
        )
        error.kind = ErrorKind.API
        return error
    if isinstance(exc, IncompleteStreamError):
        return _new(
            OllamaConnectionError,
            f"the stream from Ollama at {host} stopped early ({exc}): the answer is incomplete",
            ErrorKind.CONNECTION,
        )
    if _malformed_answer(exc):
        body = getattr(exc, "doc", None)
        # still the parser's error (json.JSONDecodeError, a ValueError), as langchain-ollama
        # lets it through
        error = ProviderResponseError.wrapping(
            exc,
            f"Ollama at {host} answered 200 with a body that is not an Ollama response "
            f"({type(exc).__name__}: {str(exc)[:200]}); is base_url an Ollama server, and is "
            "a proxy in between cutting or rewriting answers?",
            provider="ollama",
            body=body[:1000] if isinstance(body, str) else None,
        )
        error.kind = ErrorKind.API
        return error
    if isinstance(exc, httpx.TransportError | httpx.StreamError):  # stays that httpx class
        message = f"the connection to Ollama at {host} broke ({exc!r}): the answer is incomplete"
        return ERRORS.rebrand(exc, ErrorKind.CONNECTION, provider="ollama", message=message)
    return exc


def _malformed_answer(exc: BaseException) -> bool:
    """Whether ``exc`` says a 200 answer was not an Ollama response.

    The body (or a stream line) is not JSON, or is JSON of the wrong shape: pydantic's
    ``ValidationError`` for one of the SDK's ``*Response`` models (not for a request the
    caller built wrong, which stays a programming error).
    """
    if isinstance(exc, json.JSONDecodeError):
        return True
    title = getattr(exc, "title", None)
    return (
        isinstance(exc, ValueError)
        and type(exc).__name__ == "ValidationError"
        and isinstance(title, str)
        and title.endswith("Response")
    )


def _retry_after(exc: BaseException) -> float | None:
    """The wait an HTTP answer asked for (``Retry-After``), or ``None``.

    The SDK drops the response, but the ``httpx`` error it came from stays the exception's
    context.
    """
    context = exc.__context__
    if isinstance(context, httpx.HTTPStatusError):
        return parse_retry_after(context.response.headers)
    return None


class IncompleteStreamError(Exception):
    """A stream ended without Ollama's final ``done`` part (mapped to a connection error)."""

    def __init__(self, message: str, *, parts: int = -1) -> None:
        """Say how the stream ended.

        Args:
            message: What happened.
            parts: How many parts arrived before it ended.
        """
        super().__init__(message)
        self.parts = parts
        """Parts received (0: the 200 carried no part at all)."""


def _new(cls: type[Exception], message: str, kind: ErrorKind) -> BaseException:
    error = cls(message)
    error.provider = "ollama"  # type: ignore[attr-defined]
    error.kind = kind  # type: ignore[attr-defined]
    return error
