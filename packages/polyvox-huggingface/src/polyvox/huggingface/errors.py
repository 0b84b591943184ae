"""huggingface_hub failures as classes that are also LangChain ``Model*Error`` s.

One class per kind of failure (:class:`~polyvox.core.errors.ErrorFamily`), each inheriting
the SDK's own class *and* the matching :mod:`langchain_core.exceptions` class, so code
written for langchain-huggingface (``except HfHubHTTPError``, ``except BadRequestError``,
``except huggingface_hub.errors.ValidationError``) and code written for LangChain
(``except ModelRateLimitError``) both keep catching them. A mapped error stays an instance of
the exact class the SDK raised: a 400 is still a ``huggingface_hub.errors.BadRequestError``,
TGI's ``validation`` error a ``huggingface_hub.errors.ValidationError``, and ``.response``,
``.server_message`` and ``.request_id`` are the SDK's.

What Hugging Face says is kept: a 503 whose body carries ``estimated_time`` is a model still
loading (:attr:`loading_estimate`, which the models wait on); a 429's wait comes from
``Retry-After`` or the IETF ``RateLimit`` header the Hub sends (``"api";r=0;t=55``); TGI's
``error_type`` (``validation``, ``overloaded``, ``generation``) decides the kind where no
status is known (an error inside a stream).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx2
from huggingface_hub import errors as hf

from polyvox.core.errors import (
    ErrorFamily,
    ErrorKind,
    classify,
    is_context_overflow,
    parse_retry_after,
)

__all__ = [
    "HuggingFaceAPIError",
    "HuggingFaceAuthenticationError",
    "HuggingFaceBadRequestError",
    "HuggingFaceConnectionError",
    "HuggingFaceContextOverflowError",
    "HuggingFaceGenerationError",
    "HuggingFaceInvalidRequestError",
    "HuggingFaceNotFoundError",
    "HuggingFaceOverloadedError",
    "HuggingFacePermissionDeniedError",
    "HuggingFaceRateLimitError",
    "HuggingFaceTimeoutError",
    "HuggingFaceValidationError",
    "loading_estimate",
    "map_hf_error",
]

ERRORS = ErrorFamily(
    "huggingface",
    __name__,
    {
        ErrorKind.AUTHENTICATION: (hf.HfHubHTTPError,),
        ErrorKind.PERMISSION_DENIED: (hf.HfHubHTTPError,),
        ErrorKind.NOT_FOUND: (hf.HfHubHTTPError,),
        ErrorKind.RATE_LIMIT: (hf.HfHubHTTPError,),
        ErrorKind.TIMEOUT: (hf.InferenceTimeoutError,),
        ErrorKind.CONNECTION: (httpx2.TransportError,),
        ErrorKind.CONTEXT_OVERFLOW: (hf.HfHubHTTPError,),
        ErrorKind.INVALID_REQUEST: (hf.HfHubHTTPError,),
        ErrorKind.API: (hf.HfHubHTTPError,),
    },
    prefix="HuggingFace",
    docs={
        ErrorKind.AUTHENTICATION: "The token was refused (401): the router needs a Hugging Face "
        "token (``hf_...``, ``HF_TOKEN``).",
        ErrorKind.RATE_LIMIT: "Rate limit or quota exceeded (429), or TGI overloaded; "
        "``retry_after`` is what ``Retry-After`` or the ``RateLimit`` header asked.",
        ErrorKind.TIMEOUT: "No answer within ``timeout`` (the SDK's ``InferenceTimeoutError``).",
        ErrorKind.CONNECTION: "The server could not be reached, or the connection broke "
        "(also mid-stream); the SDK's HTTP library's ``httpx2.TransportError``.",
        ErrorKind.INVALID_REQUEST: "The server rejected the request (400, 422 TGI validation, "
        "other 4xx).",
        ErrorKind.API: "The server failed (5xx; a 503 while the model loads, once the wait "
        "for it is spent).",
    },
)
"""The classes of failed calls."""

HuggingFaceAuthenticationError = ERRORS[ErrorKind.AUTHENTICATION]
HuggingFacePermissionDeniedError = ERRORS[ErrorKind.PERMISSION_DENIED]
HuggingFaceNotFoundError = ERRORS[ErrorKind.NOT_FOUND]
HuggingFaceRateLimitError = ERRORS[ErrorKind.RATE_LIMIT]
HuggingFaceTimeoutError = ERRORS[ErrorKind.TIMEOUT]
HuggingFaceConnectionError = ERRORS[ErrorKind.CONNECTION]
HuggingFaceContextOverflowError = ERRORS[ErrorKind.CONTEXT_OVERFLOW]
HuggingFaceInvalidRequestError = ERRORS[ErrorKind.INVALID_REQUEST]
HuggingFaceAPIError = ERRORS[ErrorKind.API]

# The SDK's classes of their own, under their names.
HuggingFaceBadRequestError = ERRORS.variant(ErrorKind.INVALID_REQUEST, hf.BadRequestError)
HuggingFaceValidationError = ERRORS.variant(ErrorKind.INVALID_REQUEST, hf.ValidationError)
HuggingFaceOverloadedError = ERRORS.variant(ErrorKind.RATE_LIMIT, hf.OverloadedError)
HuggingFaceGenerationError = ERRORS.variant(ErrorKind.API, hf.GenerationError)

_TGI_KINDS = {
    "validation": ErrorKind.INVALID_REQUEST,
    "overloaded": ErrorKind.RATE_LIMIT,
    "generation": ErrorKind.API,
    "incomplete_generation": ErrorKind.API,
}
_LOADING = re.compile(r"currently loading|is loading", re.IGNORECASE)


def _response(exc: BaseException) -> Any:
    """The HTTP response behind an SDK error (TGI errors keep it on their cause)."""
    for err in (exc, exc.__cause__):
        response = getattr(err, "response", None) if err is not None else None
        if response is not None and hasattr(response, "status_code"):
            return response
    return None


def _body(response: Any) -> Mapping[str, Any]:
    try:
        data = response.json()
    except Exception:  # not JSON, or a stream not read: no body to read
        return {}
    return data if isinstance(data, Mapping) else {}


def loading_estimate(body: Mapping[str, Any]) -> float | None:
    """The seconds a 503 body says the model needs to load (``estimated_time``).

    Args:
        body: The error body.

    Returns:
        The estimate, ``0.0`` for a loading message without one, ``None`` when the body
        does not say the model is loading.
    """
    estimate = body.get("estimated_time")
    if isinstance(estimate, int | float) and not isinstance(estimate, bool):
        return max(float(estimate), 0.0)
    error = body.get("error")
    if isinstance(error, str) and _LOADING.search(error):
        return 0.0
    return None


def _wait(headers: Mapping[str, str] | None) -> float | None:
    wait = parse_retry_after(headers)
    if wait is None and headers is not None:
        from huggingface_hub.utils._http import parse_ratelimit_headers

        info = parse_ratelimit_headers(headers)
        if info is not None and info.remaining == 0:
            wait = float(info.reset_in_seconds)
    return wait


def _server_text(exc: BaseException, body: Mapping[str, Any]) -> str:
    error = body.get("error")
    if isinstance(error, Mapping):
        error = error.get("message")
    if isinstance(error, list):
        error = "; ".join(str(e) for e in error)
    if isinstance(error, str) and error:
        return error
    server = getattr(exc, "server_message", None)
    return server if isinstance(server, str) and server else str(exc).strip()


def map_hf_error(
    exc: BaseException, *, provider: str, where: str, events: int = 0
) -> BaseException:
    """Turn what the SDK raised into polyvox's mapped class for it.

    Args:
        exc: The SDK's ``HfHubHTTPError`` / ``TextGenerationError`` /
            ``InferenceTimeoutError``, or its HTTP library's transport error.
        provider: The provider id for the error's ``provider`` attribute.
        where: The server called (a URL, or "the Inference Providers router").
        events: Stream events received before the failure (an error inside a stream).

    Returns:
        The mapped exception (raise it ``from exc``); ``exc`` itself for anything else.
    """
    if isinstance(exc, hf.InferenceTimeoutError | httpx2.TimeoutException):
        message = (
            f"{provider}: no answer from {where} within the timeout. Raise timeout= or check "
            "the server."
        )
        return ERRORS.rebrand(exc, ErrorKind.TIMEOUT, provider=provider, message=message)
    if isinstance(exc, httpx2.TransportError | httpx2.StreamError):
        if isinstance(exc, httpx2.ConnectError):
            message = (
                f"{provider}: could not connect to {where} ({exc}). Is the URL right, and is "
                "the server up?"
            )
        else:
            message = (
                f"{provider}: the connection to {where} broke before the answer was complete "
                f"({type(exc).__name__}: {exc}"
                + (f", after {events} stream events" if events else "")
                + "). Retrying may succeed."
            )
        return ERRORS.rebrand(exc, ErrorKind.CONNECTION, provider=provider, message=message)
    if not isinstance(exc, hf.HfHubHTTPError | hf.TextGenerationError):
        return exc
    response = _response(exc)
    status = response.status_code if response is not None else None
    body = _body(response) if response is not None else {}
    text = _server_text(exc, body)
    error_type = body.get("error_type")
    if status is None or isinstance(exc, hf.TextGenerationError):
        tgi_type = error_type or _tgi_type(exc)
        kind = _TGI_KINDS.get(str(tgi_type), ErrorKind.API)
        if kind is ErrorKind.INVALID_REQUEST and is_context_overflow(text):
            kind = ErrorKind.CONTEXT_OVERFLOW
        if status is not None and kind is ErrorKind.API:
            kind = classify(status, text)
    else:
        kind = classify(status, text)
    attrs: dict[str, Any] = {"provider": provider}
    headers = response.headers if response is not None else None
    attrs["retry_after"] = _wait(headers)
    if status == 503 and (estimate := loading_estimate(body)) is not None:
        attrs["loading_estimate"] = estimate
    head = f"{provider}: {status} from {where}" if status is not None else f"{provider}: {where}"
    if events:
        head = f"{provider} reported an error mid-stream, after {events} events, from {where}"
    message = f"{head}: {text}"
    if kind is ErrorKind.AUTHENTICATION:
        message += " Check api_key (HF_TOKEN): the router takes a Hugging Face token, hf_..."
    return ERRORS.rebrand(exc, kind, message=message, **attrs)


def _tgi_type(exc: BaseException) -> str | None:
    names = {
        hf.ValidationError: "validation",
        hf.OverloadedError: "overloaded",
        hf.GenerationError: "generation",
        hf.IncompleteGenerationError: "incomplete_generation",
    }
    return next((name for cls, name in names.items() if isinstance(exc, cls)), None)
