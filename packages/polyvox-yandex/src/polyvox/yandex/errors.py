"""Yandex AI Studio failures as classes that are also LangChain ``Model*Error`` s.

The SDK calls the foundation-models services over gRPC and raises
``yandex_ai_studio_sdk.exceptions.AioRpcError`` (a ``grpc.aio.AioRpcError``, so also a
``grpc.RpcError``) for every failed call, whatever its status code. Each of polyvox's
classes (:class:`~polyvox.core.errors.ErrorFamily`) inherits that class *and* the matching
:mod:`langchain_core.exceptions` class, so ``except grpc.RpcError``,
``except AioRpcError`` and ``except ModelRateLimitError`` all catch it, and ``.code()``,
``.details()`` and the metadata are the SDK's.

The kind comes from the gRPC status code (the REST API's ``grpcCode``):
``UNAUTHENTICATED`` → authentication, ``PERMISSION_DENIED``, ``NOT_FOUND``,
``RESOURCE_EXHAUSTED`` → rate limit, ``DEADLINE_EXCEEDED`` → timeout, ``UNAVAILABLE``
with no connection → connection, ``INVALID_ARGUMENT`` → invalid request (or context
overflow when it says the prompt is too long), anything else → API error. The SDK has
already retried ``UNAVAILABLE`` and ``RESOURCE_EXHAUSTED`` (``max_retries``) before one
of these is raised.
"""

from __future__ import annotations

import re
from typing import Any

import grpc
import grpc.aio
from yandex_ai_studio_sdk.exceptions import AioRpcError

from polyvox.core.errors import (
    ErrorFamily,
    ErrorKind,
    ProviderResponseError,
    is_context_overflow,
)

__all__ = [
    "UNREADABLE",
    "YandexAPIError",
    "YandexAuthenticationError",
    "YandexConnectionError",
    "YandexContextOverflowError",
    "YandexInvalidRequestError",
    "YandexNotFoundError",
    "YandexPermissionDeniedError",
    "YandexRateLimitError",
    "YandexTimeoutError",
    "kind_of_status",
    "map_yandex_error",
    "unreadable_answer",
]

ERRORS = ErrorFamily(
    "yandex",
    __name__,
    dict.fromkeys(ErrorKind, (AioRpcError,)),
    prefix="Yandex",
    docs={
        ErrorKind.AUTHENTICATION: "The credentials were refused (``UNAUTHENTICATED``, HTTP "
        "401): a wrong or expired API key or IAM token.",
        ErrorKind.PERMISSION_DENIED: "The credentials may not use this model or folder "
        "(``PERMISSION_DENIED``, HTTP 403).",
        ErrorKind.NOT_FOUND: "No such model or operation (``NOT_FOUND``, HTTP 404).",
        ErrorKind.RATE_LIMIT: "Quota or rate limit exceeded (``RESOURCE_EXHAUSTED``, HTTP "
        "429), after the SDK's retries.",
        ErrorKind.TIMEOUT: "No answer within ``timeout`` (``DEADLINE_EXCEEDED``).",
        ErrorKind.CONNECTION: "The service could not be reached, or the connection broke "
        "(``UNAVAILABLE`` without an answer), after the SDK's retries.",
        ErrorKind.API: "The service failed (``INTERNAL``, ``UNAVAILABLE``, HTTP 5xx).",
    },
)
"""The classes of failed calls."""

YandexAuthenticationError = ERRORS[ErrorKind.AUTHENTICATION]
YandexPermissionDeniedError = ERRORS[ErrorKind.PERMISSION_DENIED]
YandexNotFoundError = ERRORS[ErrorKind.NOT_FOUND]
YandexRateLimitError = ERRORS[ErrorKind.RATE_LIMIT]
YandexTimeoutError = ERRORS[ErrorKind.TIMEOUT]
YandexConnectionError = ERRORS[ErrorKind.CONNECTION]
YandexContextOverflowError = ERRORS[ErrorKind.CONTEXT_OVERFLOW]
YandexInvalidRequestError = ERRORS[ErrorKind.INVALID_REQUEST]
YandexAPIError = ERRORS[ErrorKind.API]

_STATUS_KINDS = {
    "UNAUTHENTICATED": ErrorKind.AUTHENTICATION,
    "PERMISSION_DENIED": ErrorKind.PERMISSION_DENIED,
    "NOT_FOUND": ErrorKind.NOT_FOUND,
    "RESOURCE_EXHAUSTED": ErrorKind.RATE_LIMIT,
    "DEADLINE_EXCEEDED": ErrorKind.TIMEOUT,
    "INVALID_ARGUMENT": ErrorKind.INVALID_REQUEST,
    "FAILED_PRECONDITION": ErrorKind.INVALID_REQUEST,
    "OUT_OF_RANGE": ErrorKind.INVALID_REQUEST,
}
_BROKE = re.compile(
    r"socket closed|connection reset|broken pipe|stream removed|end of tcp stream|recvmsg", re.I
)
"""``UNAVAILABLE`` details of a connection that broke once made."""
_NO_CONNECTION = re.compile(
    r"failed to connect|connection refused|connect failed|dns resolution|" + _BROKE.pattern, re.I
)
"""``UNAVAILABLE`` details of a connection that failed, to be made or once made."""
_RETRIED = frozenset({"UNAVAILABLE", "RESOURCE_EXHAUSTED"})


def kind_of_status(status: str, details: str | None) -> ErrorKind:
    """The kind of a gRPC status (``"RESOURCE_EXHAUSTED"``) and its details.

    Args:
        status: The status code's name.
        details: The status message.

    Returns:
        The kind.
    """
    text = details or ""
    if status == "UNAVAILABLE" and _NO_CONNECTION.search(text):
        return ErrorKind.CONNECTION
    kind = _STATUS_KINDS.get(status, ErrorKind.API)
    if kind is ErrorKind.INVALID_REQUEST and is_context_overflow(text):
        return ErrorKind.CONTEXT_OVERFLOW
    return kind


def _advice(kind: ErrorKind, where: str, retries: int, broke: bool) -> str:
    if kind is ErrorKind.AUTHENTICATION:
        return (
            " Check the credentials: api_key (YC_API_KEY), iam_token (YC_IAM_TOKEN; IAM "
            "tokens expire after 12 hours) or service_account_key."
        )
    if kind is ErrorKind.PERMISSION_DENIED:
        return (
            " Check folder_id (YC_FOLDER_ID) and the roles of the account (ai.languageModels.user)."
        )
    if kind is ErrorKind.NOT_FOUND:
        return " Check the model URI (gpt://<folder>/<model>/<latest|rc|deprecated>)."
    if kind is ErrorKind.CONNECTION and broke:
        return f" The connection to {where} broke before the answer was complete: retry."
    if kind is ErrorKind.CONNECTION:
        return f" Could not connect to {where}: is base_url right, and is the network up?"
    if kind is ErrorKind.TIMEOUT:
        return f" No answer from {where} within the timeout: raise timeout= or retry later."
    if kind is ErrorKind.RATE_LIMIT:
        return f" Quota exhausted after {retries + 1} attempts: wait, or raise the folder's quotas."
    return ""


def map_yandex_error(
    exc: BaseException,
    *,
    provider: str,
    where: str,
    retries: int = 0,
    events: int = 0,
) -> BaseException:
    """Turn what the SDK raised into polyvox's mapped class for it.

    The error keeps the SDK's class and state; its details (``.details()``, and what
    ``str()`` shows) become a sentence naming the cause and what to do, with the server's
    own details in it.

    Args:
        exc: What the SDK raised (a ``grpc.aio.AioRpcError``).
        provider: The provider id for the error's ``provider`` attribute.
        where: The endpoint, named in connection and timeout errors.
        retries: The retries the SDK made (``max_retries``) before giving up.
        events: Stream messages received before the failure.

    Returns:
        The mapped exception (raise it ``from exc``), or ``exc`` itself when it is not a
        gRPC error (a client-side validation error, say).
    """
    if not isinstance(exc, grpc.aio.AioRpcError):
        return exc
    code: Any = exc.code()
    status = str(getattr(code, "name", code))
    details = exc.details() or ""
    kind = kind_of_status(status, details)
    head = f"{provider}: {status}: {details}" if details else f"{provider}: {status}"
    if events:
        head = (
            f"{provider} reported an error mid-stream, after {events} messages: {status}: {details}"
        )
    if status in _RETRIED and retries:
        head += f" (after {retries} retries)"
    message = head + _advice(kind, where, retries, bool(events or _BROKE.search(details)))
    extra: dict[str, Any] = {}
    if not isinstance(exc, AioRpcError):  # raised before the SDK wrapped it (endpoint discovery)
        extra = {
            "_endpoint": where,
            "_auth": None,
            "_stub_class": type(exc),
            "_client_request_id": "",
        }
    return ERRORS.rebrand(exc, kind, provider=provider, message=message, _details=message, **extra)


UNREADABLE = (AttributeError, RuntimeError)
"""What the SDK raises for an answer it could not read: grpc hands it ``None`` for a message
that does not parse (the SDK then fails with an ``AttributeError``), and a call that ended
with no message at all is the SDK's ``RuntimeError("call returned less then one result")``."""


def unreadable_answer(exc: BaseException, *, provider: str, where: str) -> ProviderResponseError:
    """The error for a call that succeeded (gRPC ``OK``) with no answer the SDK could read.

    Args:
        exc: What the SDK raised (one of :data:`UNREADABLE`).
        provider: The provider id.
        where: The endpoint that answered.

    Returns:
        A :class:`~polyvox.core.errors.ProviderResponseError` that is still of ``exc``'s
        class; raise it ``from exc``.
    """
    message = (
        f"{provider}: {where} answered OK but not with a CompletionResponse the SDK could read "
        f"({type(exc).__name__}: {exc}); a proxy in between may be mangling gRPC, or base_url "
        "is not a Yandex foundation-models endpoint"
    )
    return ProviderResponseError.wrapping(exc, message, provider=provider)
