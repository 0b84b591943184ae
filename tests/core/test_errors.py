from __future__ import annotations

import pytest
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

from polyvox.core.errors import (
    ErrorKind,
    ProviderErrorMixin,
    classify,
    is_context_overflow,
    parse_retry_after,
    rebrand,
)


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (None, None, ErrorKind.CONNECTION),
        (400, "bad role", ErrorKind.INVALID_REQUEST),
        (400, "This model's maximum context length is 8192 tokens", ErrorKind.CONTEXT_OVERFLOW),
        (413, "prompt is too long: 250000 tokens > 200000 maximum", ErrorKind.CONTEXT_OVERFLOW),
        (401, "bad key", ErrorKind.AUTHENTICATION),
        (403, "nope", ErrorKind.PERMISSION_DENIED),
        (404, "no such model", ErrorKind.NOT_FOUND),
        (408, "slow", ErrorKind.TIMEOUT),
        (409, "conflict", ErrorKind.INVALID_REQUEST),
        (422, "unprocessable", ErrorKind.INVALID_REQUEST),
        (429, "slow down", ErrorKind.RATE_LIMIT),
        (500, "boom", ErrorKind.API),
        (503, "loading", ErrorKind.API),
    ],
)
def test_classify(status: int | None, message: str | None, kind: ErrorKind) -> None:
    assert classify(status, message) is kind


def test_classify_by_code() -> None:
    assert classify(400, "Bad request", "context_length_exceeded") is ErrorKind.CONTEXT_OVERFLOW


def test_kinds_map_to_langchain_classes() -> None:
    expected = {
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
    assert {k: k.langchain_class for k in ErrorKind} == expected


def test_overflow_phrases() -> None:
    assert is_context_overflow("Input is too long for requested model.")
    assert is_context_overflow("", "string_above_max_length")
    assert not is_context_overflow("Invalid value for temperature")


def test_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480) == 10
    assert parse_retry_after({"retry-after": "garbage"}) is None
    assert parse_retry_after({"retry-after": "-3"}) == 0.0
    assert parse_retry_after({}) is None
    assert parse_retry_after(None) is None


class _SDKError(Exception):
    def __init__(self, message: str, *, response: object, body: object) -> None:
        super().__init__(message)
        self.response = response
        self.body = body


class _MappedError(_SDKError, ProviderErrorMixin, ModelRateLimitError):
    pass


def test_rebrand_keeps_state_and_both_bases() -> None:
    try:
        raise _SDKError("rate limited", response="resp", body={"x": 1})
    except _SDKError as exc:
        caught = exc
    new = rebrand(caught, _MappedError, provider="acme", retry_after=2.0)
    assert isinstance(new, _SDKError)
    assert isinstance(new, ModelRateLimitError)
    assert new.is_retryable
    assert (new.response, new.body, new.provider, new.retry_after) == (
        "resp",
        {"x": 1},
        "acme",
        2.0,
    )
    assert str(new) == "rate limited"
    assert new.__traceback__ is not None
    assert str(rebrand(caught, _MappedError, message="clearer")) == "clearer"
