"""GigaChat failures as classes that are also LangChain ``Model*Error`` s.

One class per kind of failure (:class:`~polyvox.core.errors.ErrorFamily`), each inheriting
the ``gigachat`` SDK's own class for that kind *and* the matching
:mod:`langchain_core.exceptions` class: a 401 is a ``gigachat.exceptions.AuthenticationError``,
a 429 a ``gigachat.exceptions.RateLimitError`` (with its ``retry_after``), a 5xx a
``gigachat.exceptions.ServerError``, so ``except`` clauses written for langchain-gigachat
(which lets the SDK's exceptions through) keep matching, and so does
``except ModelRateLimitError``. The SDK lets ``httpx`` errors through for timeouts and
connections; their classes here are ``httpx``'s too (a refused connection stays an
``httpx.ConnectError``).

:func:`map_gigachat_error` words each failure after its real cause: the OAuth endpoint
refusing the authorization key is not the API refusing a token, and a TLS verification
failure says that GigaChat needs the Russian Trusted Root CA and how to give it
(:data:`CERTIFICATE_HELP`).
"""

from __future__ import annotations

import json
import ssl
from typing import Any

import httpx
import pydantic
from gigachat import exceptions as sdk_errors

from polyvox.core.errors import (
    ErrorFamily,
    ErrorKind,
    ProviderResponseError,
    classify,
    parse_retry_after,
    rebrand,
)

__all__ = [
    "CERTIFICATE_HELP",
    "GigaChatAPIError",
    "GigaChatAuthenticationError",
    "GigaChatBadRequestError",
    "GigaChatCertificateError",
    "GigaChatConnectError",
    "GigaChatConnectionError",
    "GigaChatContextOverflowError",
    "GigaChatInvalidRequestError",
    "GigaChatNotFoundError",
    "GigaChatPermissionDeniedError",
    "GigaChatRateLimitError",
    "GigaChatRequestEntityTooLargeError",
    "GigaChatTimeoutError",
    "GigaChatUnprocessableEntityError",
    "map_gigachat_error",
]

ERRORS = ErrorFamily(
    "gigachat",
    __name__,
    {
        ErrorKind.AUTHENTICATION: (sdk_errors.AuthenticationError,),
        ErrorKind.PERMISSION_DENIED: (sdk_errors.ForbiddenError,),
        ErrorKind.NOT_FOUND: (sdk_errors.NotFoundError,),
        ErrorKind.RATE_LIMIT: (sdk_errors.RateLimitError,),
        ErrorKind.TIMEOUT: (httpx.TimeoutException,),
        ErrorKind.CONNECTION: (httpx.TransportError,),
        ErrorKind.CONTEXT_OVERFLOW: (sdk_errors.BadRequestError,),
        ErrorKind.INVALID_REQUEST: (sdk_errors.BadRequestError,),
        ErrorKind.API: (sdk_errors.ServerError,),
    },
    prefix="GigaChat",
    docs={
        ErrorKind.AUTHENTICATION: "GigaChat refused the credentials: the OAuth endpoint the "
        "authorization key, or the API the token (401).",
        ErrorKind.PERMISSION_DENIED: "The scope may not use this model or method (403; the "
        "balance is only for prepaid scopes).",
        ErrorKind.NOT_FOUND: "The model or method does not exist (404 ``No such model``).",
        ErrorKind.RATE_LIMIT: "Too many requests (429); ``retry_after`` says how long to wait.",
        ErrorKind.TIMEOUT: "GigaChat did not answer within ``timeout``.",
        ErrorKind.CONNECTION: "GigaChat could not be reached, TLS verification failed, or the "
        "connection broke (also mid-stream).",
        ErrorKind.CONTEXT_OVERFLOW: "The prompt does not fit the model's context window.",
        ErrorKind.INVALID_REQUEST: "GigaChat refused the request (400, 413, 422: a field or "
        "a function schema it does not take).",
        ErrorKind.API: "GigaChat failed (a 5xx).",
    },
)
"""The classes of failed calls."""

GigaChatAuthenticationError = ERRORS[ErrorKind.AUTHENTICATION]
GigaChatPermissionDeniedError = ERRORS[ErrorKind.PERMISSION_DENIED]
GigaChatNotFoundError = ERRORS[ErrorKind.NOT_FOUND]
GigaChatRateLimitError = ERRORS[ErrorKind.RATE_LIMIT]
GigaChatTimeoutError = ERRORS[ErrorKind.TIMEOUT]
GigaChatConnectionError = ERRORS[ErrorKind.CONNECTION]
GigaChatContextOverflowError = ERRORS[ErrorKind.CONTEXT_OVERFLOW]
GigaChatInvalidRequestError = ERRORS[ErrorKind.INVALID_REQUEST]
GigaChatAPIError = ERRORS[ErrorKind.API]


def _asked_wait(self: sdk_errors.ResponseError) -> float | None:
    """Seconds GigaChat asked to wait (``Retry-After``); ``None`` when it did not say.

    The SDK's ``RateLimitError.retry_after`` is a read-only property that says 0.0 for "not
    said"; polyvox's retries tell the two apart (no hint: exponential backoff).
    """
    return parse_retry_after(self.headers)


GigaChatRateLimitError.retry_after = property(_asked_wait)


def _message(self: BaseException) -> str:
    """The text polyvox wrote for the failure.

    The SDK's ``ResponseError.__str__`` shows the raw body and every response header
    instead of ``args``.
    """
    return str(self.args[0]) if self.args else ""


for _home in ERRORS.classes():  # the SDK's subclasses word nothing: the homes' wording holds
    if issubclass(_home, sdk_errors.ResponseError):
        _home.__str__ = _message  # type: ignore[method-assign]

# The statuses and transport failures with an SDK (or httpx) class of their own.
GigaChatBadRequestError = ERRORS.variant(ErrorKind.INVALID_REQUEST, sdk_errors.BadRequestError)
GigaChatUnprocessableEntityError = ERRORS.variant(
    ErrorKind.INVALID_REQUEST, sdk_errors.UnprocessableEntityError
)
GigaChatRequestEntityTooLargeError = ERRORS.variant(
    ErrorKind.INVALID_REQUEST, sdk_errors.RequestEntityTooLargeError
)
GigaChatConnectError = ERRORS.variant(ErrorKind.CONNECTION, httpx.ConnectError)


class GigaChatCertificateError(GigaChatConnectError):  # type: ignore[misc,valid-type]
    """TLS verification of a GigaChat server failed: its CA is not trusted here.

    GigaChat's servers present certificates of the Russian Trusted Root CA (Минцифры), which
    certifi and most operating systems do not ship. The message says how to install it
    (:data:`CERTIFICATE_HELP`). Also an ``httpx.ConnectError`` and a
    ``ModelConnectionError``.
    """


CERTIFICATE_HELP = (
    "GigaChat's servers use certificates of the Russian Trusted Root CA, which default "
    "trust stores lack. Download the root certificate (russian_trusted_root_ca_pem.crt) "
    "from https://www.gosuslugi.ru/crt and pass its path as ca_bundle_file= (or set "
    "GIGACHAT_CA_BUNDLE_FILE); to trust it everywhere, append it to a bundle that also "
    "holds the usual roots (cat $(python -m certifi) russian_trusted_root_ca_pem.crt > "
    "bundle.pem) and give that file. verify_ssl_certs=False turns verification off "
    "(insecure: for tests only)."
)
"""What a TLS verification failure tells the user to do."""

_CONNECT_FAILURES = (httpx.ConnectError, httpx.ConnectTimeout, ConnectionRefusedError)


def _url_of(exc: BaseException, default: str) -> str:
    url = getattr(exc, "url", None)
    if url is None:
        try:
            url = exc.request.url  # type: ignore[attr-defined]
        except (AttributeError, RuntimeError):  # httpx: an error raised without a request
            url = None
    return str(url) if url is not None else default


def _is_certificate_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):  # the chain: httpx, httpcore, ssl
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def error_message(content: bytes | str | None) -> tuple[str | None, Any]:
    """The message of GigaChat's error body, and the body as parsed.

    Args:
        content: ``{"status": 404, "message": "No such model"}`` (the API) or
            ``{"code": 6, "message": "..."}`` (OAuth), as bytes or text.

    Returns:
        The message (``None`` when the body has none) and the parsed body (the text when it
        is not JSON).
    """
    if content is None:
        return None, None
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    try:
        body: Any = json.loads(text)
    except ValueError:
        return (text.strip()[:300] or None), text
    if isinstance(body, dict):
        message = body.get("message") or body.get("error_description") or body.get("error")
        return (str(message) if message else None), body
    return None, body


def _status_message(exc: sdk_errors.ResponseError, base_url: str, auth_url: str) -> str:
    text, _ = error_message(exc.content)
    url = str(exc.url)
    oauth = url.rstrip("/").endswith(("/oauth", "/token")) or url == auth_url
    detail = f": {text}" if text else ""
    if oauth and exc.status_code in (400, 401, 403):
        return (
            f"GigaChat's OAuth endpoint {url} refused the credentials ({exc.status_code}"
            f"{detail}). Check the authorization key (credentials= or GIGACHAT_CREDENTIALS: "
            "base64 of client_id:client_secret, not the client secret) and that scope= "
            "(GIGACHAT_API_PERS, _B2B or _CORP) is the one your key was issued for."
        )
    if exc.status_code == 401:
        return (
            f"GigaChat answered 401 at {url}{detail}: the API refused the access token (a "
            "token that had worked is renewed once before this error is raised)."
        )
    return f"GigaChat answered {exc.status_code} at {url}{detail}"


def _response_error(exc: BaseException, where: str) -> ProviderResponseError:
    """A body that is not what GigaChat documents (or an error event inside a stream)."""
    if isinstance(exc, pydantic.ValidationError):
        raw = exc.errors()[0].get("input") if exc.errors() else None
        if isinstance(raw, dict) and "message" in raw and "choices" not in raw:
            status = raw.get("status") or raw.get("code") or "error"
            message = f"GigaChat at {where} reported an error mid-stream: {status} {raw['message']}"
            return ProviderResponseError(message, provider="gigachat", body=json.dumps(raw))
        message = (
            f"GigaChat at {where} returned a response that is not a GigaChat response: "
            f"{exc.error_count()} field(s) missing or invalid ({exc.errors()[0]['loc']}: "
            f"{exc.errors()[0]['msg']})"
        )
        return ProviderResponseError(message, provider="gigachat")
    message = f"GigaChat at {where} returned a body that is not JSON ({exc})"
    return ProviderResponseError(message, provider="gigachat")


def map_gigachat_error(exc: BaseException, *, base_url: str, auth_url: str) -> BaseException:
    """Turn what a GigaChat SDK call raised into polyvox's mapped class for it.

    Args:
        exc: What the SDK (or ``httpx`` under it) raised.
        base_url: The API's root, named where the failing URL is unknown.
        auth_url: The OAuth endpoint (failures there are worded as credential problems).

    Returns:
        The mapped exception (raise it ``from exc``); ``exc`` itself when it is not a
        failure of the call (a programming error).
    """
    where = _url_of(exc, base_url)
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return ERRORS.rebrand(
            exc,
            ErrorKind.TIMEOUT,
            provider="gigachat",
            message=f"GigaChat: no answer from {where} within the timeout ({exc}). Raise "
            "timeout= or stream long answers.",
        )
    if isinstance(exc, httpx.TransportError) and str(exc).startswith("Expected response"):
        message = f"GigaChat at {where} answered a stream request with something else: {exc}"
        return ProviderResponseError(message, provider="gigachat")
    if isinstance(exc, httpx.TransportError | httpx.StreamError):
        if _is_certificate_failure(exc):
            return rebrand(
                exc,
                GigaChatCertificateError,
                kind=ErrorKind.CONNECTION,
                provider="gigachat",
                message=f"GigaChat: TLS certificate verification failed for {where} ({exc}). "
                + CERTIFICATE_HELP,
            )
        if isinstance(exc, _CONNECT_FAILURES):
            message = (
                f"GigaChat: could not connect to {where} ({exc}). Is the server reachable, "
                "and are base_url (GIGACHAT_BASE_URL) and auth_url (GIGACHAT_AUTH_URL) right?"
            )
        else:
            message = (
                f"GigaChat: the connection to {where} broke before the answer was complete "
                f"({type(exc).__name__}: {exc}); the server, or a proxy in between, closed it "
                "mid-response. Retrying may succeed."
            )
        if not isinstance(exc, httpx.TransportError):  # a StreamError: no transport class
            return ProviderResponseError(message, provider="gigachat")
        return ERRORS.rebrand(exc, ErrorKind.CONNECTION, provider="gigachat", message=message)
    if isinstance(exc, sdk_errors.ResponseError):
        text, _ = error_message(exc.content)
        kind = classify(exc.status_code, text)
        attrs: dict[str, Any] = {"message": _status_message(exc, base_url, auth_url)}
        if kind is not ErrorKind.RATE_LIMIT:  # its class reads Retry-After itself
            attrs["retry_after"] = parse_retry_after(exc.headers)
        return ERRORS.rebrand(exc, kind, provider="gigachat", **attrs)
    if isinstance(exc, ValueError):
        return _response_error(exc, where)
    return exc
