"""Switch the import: polyvox's Ollama errors are caught where langchain-ollama's are.

An answer with an error status is an ``ollama.ResponseError`` from either package, with the
same status and text, and polyvox's is also its kind's class and LangChain's. The classes
pickle with their status.
"""

from __future__ import annotations

import pickle
from typing import Any

import ollama
import pytest

import polyvox.ollama
from polyvox.core.errors import ErrorKind, ProviderErrorMixin
from polyvox.ollama import ChatOllama, errors
from polyvox.testing import Emulator, Fault

langchain_ollama = pytest.importorskip("langchain_ollama")

SDK_CLASSES: dict[str, tuple[ErrorKind, type[Exception]]] = {
    "OllamaModelNotFoundError": (ErrorKind.NOT_FOUND, ollama.ResponseError),
    "OllamaAuthenticationError": (ErrorKind.AUTHENTICATION, ollama.ResponseError),
    "OllamaPermissionDeniedError": (ErrorKind.PERMISSION_DENIED, ollama.ResponseError),
    "OllamaRateLimitError": (ErrorKind.RATE_LIMIT, ollama.ResponseError),
    "OllamaContextOverflowError": (ErrorKind.CONTEXT_OVERFLOW, ollama.ResponseError),
    "OllamaInvalidRequestError": (ErrorKind.INVALID_REQUEST, ollama.ResponseError),
    "OllamaAPIError": (ErrorKind.API, ollama.ResponseError),
    "OllamaConnectionError": (ErrorKind.CONNECTION, ConnectionError),
    "OllamaTimeoutError": (ErrorKind.TIMEOUT, TimeoutError),
}
"""Class: (its kind, the SDK's or Python's class it is)."""

FAILURES: dict[str, tuple[Fault, ErrorKind]] = {
    "400": (Fault(status=400), ErrorKind.INVALID_REQUEST),
    "400-overflow": (
        Fault(status=400, message="prompt is too long: 300000 tokens > 128000 maximum"),
        ErrorKind.CONTEXT_OVERFLOW,
    ),
    "401": (Fault.unauthorized(), ErrorKind.AUTHENTICATION),
    "403": (Fault(status=403), ErrorKind.PERMISSION_DENIED),
    "404": (Fault(status=404), ErrorKind.NOT_FOUND),
    "408": (Fault(status=408), ErrorKind.TIMEOUT),
    "429": (Fault.rate_limit(retry_after=None), ErrorKind.RATE_LIMIT),
    "500": (Fault.server_error(500), ErrorKind.API),
    "503": (Fault.server_error(503), ErrorKind.API),
}
"""Failure: (the emulator's fault, its kind)."""


def _catch(model: Any, fault: Fault, emulator: Emulator) -> ollama.ResponseError:
    emulator.reset()
    emulator.fail(fault)
    try:
        model.invoke("hi")
    except ollama.ResponseError as caught:  # the clause code written for the SDK has
        return caught
    raise AssertionError("the call succeeded")


@pytest.mark.parametrize("name", list(SDK_CLASSES))
def test_every_class_is_the_sdks_class_for_its_kind(name: str) -> None:
    kind, sdk_class = SDK_CLASSES[name]
    cls = getattr(polyvox.ollama, name, None) or getattr(errors, name)
    assert issubclass(cls, sdk_class)
    assert issubclass(cls, kind.langchain_class)
    assert issubclass(cls, ProviderErrorMixin)
    assert (cls.kind, cls.provider) == (kind, "ollama")
    assert (cls.__module__, cls.__qualname__) == ("polyvox.ollama.errors", name)
    assert getattr(errors, name) is cls is errors.ERRORS[kind]


@pytest.mark.parametrize("failure", list(FAILURES))
def test_switch_the_import(emulator: Emulator, failure: str) -> None:
    """Where ``except ollama.ResponseError`` caught langchain-ollama's error, it catches ours."""
    fault, kind = FAILURES[failure]
    theirs = _catch(
        langchain_ollama.ChatOllama(model="llama3.2", base_url=emulator.ollama_url), fault, emulator
    )
    model = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)
    ours = _catch(model, fault, emulator)
    assert isinstance(ours, errors.ERRORS[kind])
    assert isinstance(ours, kind.langchain_class)
    assert ours.kind is kind
    assert ours.status_code == theirs.status_code
    assert str(ours.error).startswith(str(theirs.error))


@pytest.mark.parametrize("failure", list(FAILURES))
def test_errors_pickle_with_their_status(emulator: Emulator, failure: str) -> None:
    fault, kind = FAILURES[failure]
    model = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)
    error = _catch(model, fault, emulator)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (str(copy), copy.status_code, copy.error) == (str(error), error.status_code, error.error)
    assert (copy.kind, copy.provider) == (kind, "ollama")


def test_the_classes_are_constructed_as_the_sdks_are() -> None:
    error = errors.OllamaInvalidRequestError("bad request", 400)
    assert (str(error), error.status_code, error.kind) == (
        "bad request (status code: 400)",
        400,
        ErrorKind.INVALID_REQUEST,
    )
    down = errors.OllamaConnectionError("Ollama is not reachable")
    assert isinstance(down, ConnectionError)
    assert pickle.loads(pickle.dumps(down)).args == ("Ollama is not reachable",)
