"""Switch the import: polyvox's OpenAI errors are caught where langchain-openai's are.

Every kind's class is also the ``openai`` SDK's class for it (``OpenAIInvalidRequestError``
is an ``openai.BadRequestError``), and every real failure, produced by calling ``ChatOpenAI``
against the emulator, is an instance of each ``openai`` and ``langchain_core`` class that
langchain-openai's error for the same failure is an instance of. Errors pickle with their
status and body.
"""

from __future__ import annotations

import asyncio
import pickle
import re
import subprocess
import sys
from typing import Any

import httpx2
import openai
import pytest

import polyvox.openai
from polyvox.core.errors import ErrorKind, ProviderErrorMixin
from polyvox.core.urls import missing_v1
from polyvox.openai import ChatOpenAI, errors
from polyvox.testing import Emulator, Fault

langchain_openai = pytest.importorskip("langchain_openai")

SDK_CLASSES: dict[str, tuple[ErrorKind, type[openai.OpenAIError]]] = {
    "OpenAIAuthenticationError": (ErrorKind.AUTHENTICATION, openai.AuthenticationError),
    "OpenAIPermissionDeniedError": (ErrorKind.PERMISSION_DENIED, openai.PermissionDeniedError),
    "OpenAINotFoundError": (ErrorKind.NOT_FOUND, openai.NotFoundError),
    "OpenAIRateLimitError": (ErrorKind.RATE_LIMIT, openai.RateLimitError),
    "OpenAITimeoutError": (ErrorKind.TIMEOUT, openai.APITimeoutError),
    "OpenAIConnectionError": (ErrorKind.CONNECTION, openai.APIConnectionError),
    "OpenAIContextOverflowError": (ErrorKind.CONTEXT_OVERFLOW, openai.BadRequestError),
    "OpenAIInvalidRequestError": (ErrorKind.INVALID_REQUEST, openai.BadRequestError),
    "OpenAIAPIError": (ErrorKind.API, openai.InternalServerError),
    "OpenAIBadRequestError": (ErrorKind.INVALID_REQUEST, openai.BadRequestError),
    "OpenAIConflictError": (ErrorKind.INVALID_REQUEST, openai.ConflictError),
    "OpenAIUnprocessableEntityError": (ErrorKind.INVALID_REQUEST, openai.UnprocessableEntityError),
    "OpenAIInternalServerError": (ErrorKind.API, openai.InternalServerError),
    "OpenAIStreamError": (ErrorKind.API, openai.APIError),
}
"""Public class: (its kind, the most specific ``openai`` class it is)."""

OVERFLOW = (
    "Input tokens exceed the configured limit of 272000 tokens. Your messages resulted in "
    "300000 tokens. Please reduce the length of the messages."
)
"""OpenAI's wording, which langchain-openai also reads as an overflow."""

FAILURES: dict[str, tuple[Fault | None, ErrorKind, str, str]] = {
    "401": (Fault.unauthorized(), ErrorKind.AUTHENTICATION, "AuthenticationError", ""),
    "403": (Fault(status=403), ErrorKind.PERMISSION_DENIED, "PermissionDeniedError", ""),
    "404": (Fault(status=404), ErrorKind.NOT_FOUND, "NotFoundError", ""),
    "429": (Fault.rate_limit(retry_after=None), ErrorKind.RATE_LIMIT, "RateLimitError", ""),
    "slow": (Fault.slow(3.0), ErrorKind.TIMEOUT, "APITimeoutError", "OpenAITimeoutError"),
    "408": (Fault(status=408), ErrorKind.TIMEOUT, "APIStatusError", "OpenAITimeoutError"),
    "refused": (None, ErrorKind.CONNECTION, "APIConnectionError", "OpenAIConnectionError"),
    "400-overflow": (
        Fault(status=400, code="context_length_exceeded", message=OVERFLOW),
        ErrorKind.CONTEXT_OVERFLOW,
        "BadRequestError",
        "OpenAIContextOverflowError",
    ),
    "400": (Fault(status=400), ErrorKind.INVALID_REQUEST, "BadRequestError", ""),
    "409": (Fault(status=409), ErrorKind.INVALID_REQUEST, "ConflictError", ""),
    "422": (Fault(status=422), ErrorKind.INVALID_REQUEST, "UnprocessableEntityError", ""),
    "413": (
        Fault(status=413),
        ErrorKind.INVALID_REQUEST,
        "APIStatusError",
        "OpenAIInvalidRequestError",
    ),
    "500": (Fault.server_error(500), ErrorKind.API, "InternalServerError", ""),
    "503": (Fault.server_error(503), ErrorKind.API, "InternalServerError", ""),
}
"""Failure: (the emulator's fault, or no server; its kind; the ``openai`` class that code
written for langchain-openai catches; polyvox's class when not ``OpenAI<that class>``)."""

TIMEOUT_S = 0.5


def _model(cls: Any, fault: Fault | None, emulator: Emulator) -> Any:
    """A model of ``cls`` whose next call fails with ``fault`` (no server when ``None``)."""
    url = "http://127.0.0.1:1/v1" if fault is None else emulator.openai_base_url
    emulator.reset()
    if fault is not None:
        emulator.fail(fault)
    return cls(
        model="gpt-4o-mini", api_key="sk-test-key", base_url=url, max_retries=0, timeout=TIMEOUT_S
    )


CALLS: dict[str, Any] = {
    "invoke": lambda model: model.invoke("hi"),
    "stream": lambda model: list(model.stream("hi")),
    "ainvoke": lambda model: asyncio.run(model.ainvoke("hi")),
    "astream": lambda model: asyncio.run(_drain(model.astream("hi"))),
}
"""The ways a script calls the model; a failure is caught the same way by each."""


async def _drain(chunks: Any) -> list[Any]:
    return [chunk async for chunk in chunks]


def _catch(model: Any, sdk_class: type[BaseException], call: str = "invoke") -> BaseException:
    try:
        CALLS[call](model)
    except sdk_class as caught:  # the clause code written for the SDK has
        return caught
    raise AssertionError("the call succeeded")


def _shared_classes(cls: type) -> list[type]:
    """The classes of ``cls`` that code can name without langchain-openai installed."""
    return [c for c in cls.__mro__ if c.__module__.split(".")[0] in ("openai", "langchain_core")]


@pytest.mark.parametrize("name", list(SDK_CLASSES))
def test_every_class_is_the_sdks_class_for_its_kind(name: str) -> None:
    kind, sdk_class = SDK_CLASSES[name]
    cls = getattr(polyvox.openai, name)
    assert issubclass(cls, sdk_class)
    assert issubclass(cls, kind.langchain_class)
    assert issubclass(cls, ProviderErrorMixin)
    assert cls.kind is kind
    assert (cls.__module__, cls.__qualname__) == ("polyvox.openai.errors", name)
    assert getattr(errors, name) is cls, "bound to its name: pickle finds it there"


def test_every_kind_has_a_public_class() -> None:
    assert {errors.ERRORS[kind].__name__ for kind in ErrorKind} <= set(SDK_CLASSES)
    assert set(polyvox.openai.__all__) >= set(SDK_CLASSES)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("OpenAIAuthenticationError", "OpenAIAuthenticationError"),
        ("OpenAIPermissionDeniedError", "OpenAIPermissionDeniedError"),
        ("OpenAINotFoundError", "OpenAIModelNotFoundError"),
        ("OpenAIRateLimitError", "OpenAIRateLimitError"),
        ("OpenAITimeoutError", "OpenAITimeoutError"),
        ("OpenAIConnectionError", "OpenAIConnectionError"),
        ("OpenAIContextOverflowError", "OpenAIContextOverflowError"),
        ("OpenAIInvalidRequestError", "OpenAIInvalidRequestError"),
        ("OpenAIAPIError", "OpenAIAPIError"),
    ],
)
def test_each_kind_class_has_the_bases_of_langchain_openais(ours: str, theirs: str) -> None:
    from langchain_openai.chat_models import base

    for cls in _shared_classes(getattr(base, theirs)):
        assert issubclass(getattr(errors, ours), cls), cls


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("failure", list(FAILURES))
def test_switch_the_import(emulator: Emulator, failure: str, call: str) -> None:
    """Where ``except openai.<Error>`` caught langchain-openai's error, it catches polyvox's,
    whether the script invokes or streams, sync or async."""
    fault, kind, sdk_name, polyvox_name = FAILURES[failure]
    sdk_class = getattr(openai, sdk_name)
    reference = _model(langchain_openai.ChatOpenAI, fault, emulator)
    # langchain-openai shares one async client per base URL, bound to the first event loop
    # that used it ("Event loop is closed" in the next asyncio.run): give it its own
    reference.async_client = openai.AsyncOpenAI(
        api_key="sk-test-key",
        base_url=reference.openai_api_base,
        max_retries=0,
        timeout=TIMEOUT_S,
        http_client=openai.DefaultAsyncHttpxClient(),
    ).chat.completions
    theirs = _catch(reference, sdk_class, call)
    ours = _catch(_model(ChatOpenAI, fault, emulator), sdk_class, call)
    missing = [c for c in _shared_classes(type(theirs)) if not isinstance(ours, c)]
    assert not missing, f"{type(ours).__mro__} lacks {missing}"
    assert isinstance(ours, ProviderErrorMixin)
    assert isinstance(ours, kind.langchain_class)
    assert ours.kind is kind
    assert type(ours).__name__.startswith(polyvox_name or f"OpenAI{sdk_name}")


@pytest.mark.parametrize("failure", list(FAILURES))
def test_errors_pickle_with_status_and_body(emulator: Emulator, failure: str) -> None:
    fault, kind, sdk_name, _ = FAILURES[failure]
    error = _catch(_model(ChatOpenAI, fault, emulator), getattr(openai, sdk_name))
    data = pickle.dumps(error)
    assert error.request.headers["authorization"].endswith("sk-test-key")
    assert b"sk-test-key" not in data, "the API key must not travel in a pickled error"
    copy = pickle.loads(data)
    assert "authorization" not in copy.request.headers
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert (copy.kind, copy.provider, copy.retry_after) == (kind, "openai", error.retry_after)
    assert copy.body == error.body
    assert copy.request.url == error.request.url
    if isinstance(error, openai.APIStatusError):
        assert copy.status_code == error.status_code
        assert copy.response.status_code == error.status_code
        assert copy.response.json() == error.response.json()


def test_a_class_made_on_demand_unpickles_in_a_fresh_process(emulator: Emulator) -> None:
    """A 422 saying the prompt is too long: an overflow that stays an UnprocessableEntityError."""
    fault = Fault(status=422, code="context_length_exceeded", message=OVERFLOW)
    error = _catch(_model(ChatOpenAI, fault, emulator), openai.UnprocessableEntityError)
    assert isinstance(error, errors.OpenAIContextOverflowError)
    assert type(error).__name__ == "OpenAIContextOverflowError[UnprocessableEntityError]"
    script = (
        "import pickle, sys, openai\n"
        "from langchain_core.exceptions import ContextOverflowError\n"
        "error = pickle.loads(sys.stdin.buffer.read())\n"
        "assert isinstance(error, openai.UnprocessableEntityError)\n"
        "assert isinstance(error, ContextOverflowError)\n"
        "print(type(error).__name__, error.status_code, error.kind, error.body['code'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=pickle.dumps(error),
        capture_output=True,
        check=True,
    )
    assert done.stdout.decode().split() == [
        "OpenAIContextOverflowError[UnprocessableEntityError]",
        "422",
        "context_overflow",
        "context_length_exceeded",
    ]


def test_the_classes_are_constructed_as_the_sdks_are() -> None:
    request = httpx2.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    response = httpx2.Response(400, request=request, json={"error": {"message": "bad"}})
    error = errors.OpenAIInvalidRequestError("bad", response=response, body={"message": "bad"})
    assert (error.status_code, error.message, error.provider) == (400, "bad", "openai")
    assert isinstance(error, openai.BadRequestError)
    timeout = errors.OpenAITimeoutError(request)
    assert isinstance(timeout, openai.APITimeoutError)
    assert timeout.kind is ErrorKind.TIMEOUT
    stream = errors.OpenAIStreamError("Upstream error", request, body=None)
    assert (stream.message, stream.kind) == ("Upstream error", ErrorKind.API)


def test_a_base_url_without_v1_gets_a_hint(emulator: Emulator) -> None:
    # the emulator, like OpenAI-compatible servers, serves the API under /v1 only
    bare = emulator.openai_base_url.removesuffix("/v1")
    hint = f"{bare} answered 404 Not Found: did you mean {bare}/v1?"
    model = ChatOpenAI(model="gpt-4o-mini", api_key="sk-test", base_url=bare, max_retries=0)
    with pytest.raises(errors.OpenAINotFoundError, match=re.escape(hint)) as caught:
        model.invoke("hi")
    assert isinstance(caught.value, openai.NotFoundError)  # still what the SDK raised
    assert caught.value.status_code == 404
    with pytest.raises(openai.NotFoundError, match=re.escape(hint)):
        list(model.stream("hi"))
    embedder = polyvox.openai.OpenAIEmbeddings(api_key="sk-test", base_url=bare, max_retries=0)
    with pytest.raises(openai.NotFoundError, match=re.escape(hint)):
        embedder.embed_query("hi")
    # with /v1 already there, a 404 means something else: no hint
    right = ChatOpenAI(
        model="gpt-4o-mini", api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0
    )
    emulator.fail(Fault.server_error(404), times=1)
    with pytest.raises(openai.NotFoundError) as other:
        right.invoke("hi")
    assert "did you mean" not in str(other.value)


def test_the_404_hint_never_shows_credentials_of_the_base_url(emulator: Emulator) -> None:
    bare = emulator.openai_base_url.removesuffix("/v1")
    with_secrets = bare.replace("http://", "http://user:PWSECRET@") + "/?api-key=QSECRET"
    model = ChatOpenAI(model="gpt-4o-mini", api_key="sk-test", base_url=with_secrets, max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        model.invoke("hi")
    text = f"{caught.value} {caught.value!r} {pickle.dumps(caught.value)!r}"
    assert "PWSECRET" not in text
    assert "QSECRET" not in text
    assert f"did you mean {bare}/v1?" in str(caught.value)


@pytest.mark.parametrize(
    ("base_url", "hint"),
    [
        ("http://h:8000", "http://h:8000/v1"),
        ("http://u:pw@h:8000/?key=s", "http://h:8000/v1"),
        ("https://h/openai/", "https://h/openai/v1"),
        ("http://h/v1", None),
        ("https://generativelanguage.googleapis.com/v1beta/openai/", None),
        ("http://h/api/v2", None),
        (None, None),
    ],
)
def test_missing_v1_only_where_no_version_is_in_the_path(
    base_url: str | None, hint: str | None
) -> None:
    assert missing_v1(base_url) == hint
