from __future__ import annotations

import json
import pickle
from typing import Any

import httpx
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
    ErrorFamily,
    ErrorKind,
    ProviderErrorMixin,
    ProviderResponseError,
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
    assert parse_retry_after(httpx.Headers({"Retry-After-Ms": "250"})) == 0.25
    assert parse_retry_after(httpx.Headers({"RETRY-AFTER": "3", "x-other": "1"})) == 3.0
    assert parse_retry_after(httpx.Headers({"x-other": "1"})) is None
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


# ErrorFamily, against a small SDK of its own: errors that need a response to be built.


class SDKError(Exception):
    def __init__(self, message: str, *, response: dict[str, int], body: object) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response["status"]
        self.body = body


class BadRequestError(SDKError):
    pass


class ConflictError(SDKError):
    pass


class GoneError(BadRequestError):
    pass


_SDK_BASES: dict[ErrorKind, tuple[type[Exception], ...]] = {
    **dict.fromkeys(ErrorKind, (SDKError,)),
    ErrorKind.INVALID_REQUEST: (BadRequestError,),
    ErrorKind.TIMEOUT: (TimeoutError,),
}


def _family(**kwargs: Any) -> ErrorFamily:
    return ErrorFamily("acme", __name__, _SDK_BASES, prefix="Acme", **kwargs)


ACME = _family()
"""A family bound to its names here, as a provider's ``errors.py`` binds its own."""
AcmeRateLimitError = ACME[ErrorKind.RATE_LIMIT]
AcmeInvalidRequestError = ACME[ErrorKind.INVALID_REQUEST]


def _raised(cls: type[SDKError], status: int) -> SDKError:
    try:
        raise cls(f"failed with {status}", response={"status": status}, body={"why": status})
    except SDKError as exc:
        return exc


def test_kind_class_stems() -> None:
    assert {kind: kind.class_stem for kind in ErrorKind} == {
        ErrorKind.AUTHENTICATION: "Authentication",
        ErrorKind.PERMISSION_DENIED: "PermissionDenied",
        ErrorKind.NOT_FOUND: "NotFound",
        ErrorKind.RATE_LIMIT: "RateLimit",
        ErrorKind.TIMEOUT: "Timeout",
        ErrorKind.CONNECTION: "Connection",
        ErrorKind.CONTEXT_OVERFLOW: "ContextOverflow",
        ErrorKind.INVALID_REQUEST: "InvalidRequest",
        ErrorKind.API: "API",
    }


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_a_family_has_a_class_per_kind_with_the_sdks_and_langchains_bases(kind: ErrorKind) -> None:
    family = _family(names={ErrorKind.NOT_FOUND: "AcmeModelNotFoundError"})
    cls = family[kind]
    expected_name = (
        "AcmeModelNotFoundError" if kind is ErrorKind.NOT_FOUND else f"Acme{kind.class_stem}Error"
    )
    assert (cls.__name__, cls.__qualname__, cls.__module__) == (
        expected_name,
        expected_name,
        __name__,
    )
    assert cls.__bases__ == (*_SDK_BASES[kind], ProviderErrorMixin, kind.langchain_class)
    assert (cls.provider, cls.kind) == ("acme", kind)
    assert kind.langchain_class.__name__ in cls.__doc__
    assert kind in family


def test_a_family_takes_its_own_wording_of_a_kind() -> None:
    family = _family(docs={ErrorKind.RATE_LIMIT: "Slow down (429)."})
    doc = family[ErrorKind.RATE_LIMIT].__doc__
    assert doc.startswith("Slow down (429).")
    assert "SDKError" in doc
    assert "ModelRateLimitError" in doc


def test_a_family_covers_every_kind_unless_partial() -> None:
    bases = {ErrorKind.API: (SDKError,)}
    with pytest.raises(ValueError, match="rate_limit"):
        ErrorFamily("acme", __name__, bases, prefix="Acme")
    partial = ErrorFamily("acme", __name__, bases, prefix="AcmeStream", partial=True)
    assert ErrorKind.API in partial
    assert ErrorKind.RATE_LIMIT not in partial
    with pytest.raises(KeyError):
        partial[ErrorKind.RATE_LIMIT]
    with pytest.raises(ValueError, match="no SDK class"):
        ErrorFamily("acme", __name__, {**_SDK_BASES, ErrorKind.API: ()}, prefix="Acme")


def test_kind_classes_keep_the_sdks_constructor() -> None:
    family = _family()
    error = family[ErrorKind.RATE_LIMIT]("slow down", response={"status": 429}, body=None)
    assert (str(error), error.status_code, error.provider, error.kind) == (
        "slow down",
        429,
        "acme",
        ErrorKind.RATE_LIMIT,
    )
    assert isinstance(error, ModelRateLimitError)
    assert error.is_retryable


def test_a_declared_variant_is_what_class_for_gives_for_its_sdk_class() -> None:
    family = _family()
    conflict = family.variant(ErrorKind.INVALID_REQUEST, ConflictError)
    assert conflict.__name__ == "AcmeConflictError"
    assert issubclass(conflict, ConflictError)
    assert issubclass(conflict, family[ErrorKind.INVALID_REQUEST])
    assert family.class_for(ErrorKind.INVALID_REQUEST, ConflictError) is conflict
    # a variant for a class the kind's class already is: a name for it
    bad = family.variant(ErrorKind.INVALID_REQUEST, BadRequestError, name="AcmeBadError")
    assert bad.__bases__ == (family[ErrorKind.INVALID_REQUEST],)
    assert family.class_for(ErrorKind.INVALID_REQUEST, BadRequestError) is bad
    assert family.variant(ErrorKind.INVALID_REQUEST, ConflictError) is conflict
    with pytest.raises(ValueError, match="already"):
        family.variant(ErrorKind.INVALID_REQUEST, ConflictError, name="Other")
    assert {conflict, bad} <= set(family.classes())


def test_class_for_keeps_the_exact_class_the_sdk_raised() -> None:
    family = _family()
    home = family[ErrorKind.INVALID_REQUEST]
    assert family.class_for(ErrorKind.INVALID_REQUEST, BadRequestError) is home
    assert family.class_for(ErrorKind.INVALID_REQUEST, SDKError) is home  # an ancestor
    gone = family.class_for(ErrorKind.INVALID_REQUEST, GoneError)
    assert gone.__name__ == "AcmeInvalidRequestError[GoneError]"
    assert issubclass(gone, GoneError)
    assert issubclass(gone, home)
    assert family.class_for(ErrorKind.INVALID_REQUEST, GoneError) is gone, "made once"
    assert family.class_for(ErrorKind.INVALID_REQUEST, gone) is gone, "already mapped"
    # a timeout whose SDK class is not TimeoutError is still both
    timeout = family.class_for(ErrorKind.TIMEOUT, SDKError)
    assert issubclass(timeout, SDKError)
    assert issubclass(timeout, TimeoutError)
    assert issubclass(timeout, ModelTimeoutError)


def test_class_for_falls_back_to_the_kind_class_when_no_subclass_of_both_can_exist() -> None:
    class _LeftError(Exception):
        pass

    class _RightError(Exception):
        pass

    class _LeftRightError(_LeftError, _RightError):
        pass

    class _RightLeftError(_RightError, _LeftError):
        pass

    bases = dict.fromkeys(ErrorKind, (_LeftRightError,))
    family = ErrorFamily("acme", __name__, bases, prefix="Acme")
    assert family.class_for(ErrorKind.API, _RightLeftError) is family[ErrorKind.API]


def test_family_rebrand_keeps_state_and_sets_the_kind() -> None:
    family = _family()
    raised = _raised(GoneError, 410)
    new = family.rebrand(raised, ErrorKind.INVALID_REQUEST, provider="acme-eu", retry_after=1.5)
    assert isinstance(new, GoneError)
    assert isinstance(new, family[ErrorKind.INVALID_REQUEST])
    assert isinstance(new, ModelInvalidRequestError)
    assert (new.status_code, new.body, new.provider, new.kind, new.retry_after) == (
        410,
        {"why": 410},
        "acme-eu",
        ErrorKind.INVALID_REQUEST,
        1.5,
    )
    assert new.__traceback__ is raised.__traceback__


@pytest.mark.parametrize(
    ("kind", "raised"),
    [(ErrorKind.RATE_LIMIT, SDKError), (ErrorKind.INVALID_REQUEST, GoneError)],
    ids=["kind-class", "made-on-demand"],
)
def test_family_errors_pickle_without_calling_the_sdks_constructor(
    kind: ErrorKind, raised: type[SDKError]
) -> None:
    error = ACME.rebrand(_raised(raised, 418), kind, retry_after=2.0)
    error.add_note("a note")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (str(copy), copy.status_code, copy.body, copy.kind, copy.retry_after) == (
        "failed with 418",
        418,
        {"why": 418},
        kind,
        2.0,
    )
    assert copy.__notes__ == ["a note"]


def _parse_error(parse: Any, text: str) -> Exception:
    try:
        parse(text)
    except Exception as exc:
        return exc
    raise AssertionError("it parsed")


def test_a_response_error_stays_the_parsers_error() -> None:
    """``except json.JSONDecodeError`` (or ``ValueError``) still catches a malformed body."""
    import pydantic

    class Answer(pydantic.BaseModel):
        n: int

    decode = _parse_error(json.loads, '{"n": ')
    error = ProviderResponseError.wrapping(decode, "not JSON", provider="acme", body='{"n": ')
    assert isinstance(error, json.JSONDecodeError)
    assert isinstance(error, ProviderResponseError)
    assert (str(error), error.provider, error.body, error.pos) == ("not JSON", "acme", '{"n": ', 6)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (str(copy), copy.body, copy.pos) == ("not JSON", '{"n": ', 6)
    # pydantic's ValidationError cannot be re-created without its arguments: a ValueError
    invalid = _parse_error(Answer.model_validate_json, '{"n": "x"}')
    error = ProviderResponseError.wrapping(invalid, "wrong shape", provider="acme")
    assert isinstance(error, ValueError)
    assert not isinstance(error, pydantic.ValidationError)
    assert isinstance(error, ModelAPIError)
    assert (str(error), error.provider) == ("wrong shape", "acme")
    assert type(pickle.loads(pickle.dumps(error))) is type(error)
    assert type(ProviderResponseError.wrapping(RuntimeError("x"), "odd")).__mro__[1:3] == (
        RuntimeError,
        ProviderResponseError,
    )


def test_a_wrapped_unicode_error_keeps_its_message() -> None:
    bad = b"\xff".decode  # a body that is not UTF-8
    try:
        bad("utf-8")
    except UnicodeDecodeError as exc:
        error = ProviderResponseError.wrapping(exc, "not UTF-8", provider="acme")
    assert str(error) == "not UTF-8"
    assert isinstance(error, ValueError)
    assert isinstance(error, ProviderResponseError)
