"""Switch the import: the same script with langchain-ollama's classes and with polyvox's.

``ChatOllama``, ``OllamaLLM`` and ``OllamaEmbeddings`` from ``langchain_ollama`` and from
``polyvox.ollama`` run the same calls against the emulator's Ollama API: the results are of
the same types with the same text, tool calls, ``usage_metadata`` and the same
``response_metadata`` keys (polyvox adds keys, it never lacks one); a failure is caught by
every ``except`` clause that caught langchain-ollama's (``ollama.ResponseError``,
``httpx.ConnectError``, ``httpx.TimeoutException``, ``ValueError``, ...) and is also
polyvox's class for its kind and LangChain's. HTTP statuses for ``invoke`` are in
``test_error_classes.py``; this module covers the other calls and the transport failures.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import ollama
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, trim_messages
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool

import polyvox.ollama
from polyvox.core import TokenEstimateWarning
from polyvox.core.errors import ErrorKind, ProviderErrorMixin, ProviderResponseError
from polyvox.ollama import errors
from polyvox.testing import Emulator, Fault

langchain_ollama = pytest.importorskip("langchain_ollama")

TIMEOUT_S = 0.5
CLOSED = "http://127.0.0.1:1"
"""A port nothing listens on: a server that is not running."""


@tool
def add(a: int, b: int) -> int:
    """Add two integers and return their sum."""
    return a + b


def _chat(package: Any, url: str, **kwargs: Any) -> Any:
    """``package``'s ``ChatOllama`` as its users make it (polyvox's without retries)."""
    if package is polyvox.ollama:
        return package.ChatOllama(
            model="llama3.2", base_url=url, max_retries=0, timeout=TIMEOUT_S, **kwargs
        )
    return package.ChatOllama(
        model="llama3.2", base_url=url, client_kwargs={"timeout": TIMEOUT_S}, **kwargs
    )


def _llm(package: Any, url: str) -> Any:
    if package is polyvox.ollama:
        return package.OllamaLLM(model="llama3.2", base_url=url, max_retries=0, timeout=TIMEOUT_S)
    return package.OllamaLLM(model="llama3.2", base_url=url, client_kwargs={"timeout": TIMEOUT_S})


def _embeddings(package: Any, url: str) -> Any:
    if package is polyvox.ollama:
        return package.OllamaEmbeddings(model="nomic-embed-text", base_url=url, timeout=TIMEOUT_S)
    return package.OllamaEmbeddings(
        model="nomic-embed-text", base_url=url, client_kwargs={"timeout": TIMEOUT_S}
    )


PACKAGES = {"theirs": langchain_ollama, "ours": polyvox.ollama}


def _aggregate(chunks: list[Any]) -> Any:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def _script(model: Any) -> dict[str, Any]:
    """What a user's script does with a chat model: invoke, stream, and call a tool."""
    chunks = list(model.stream("hi"))
    return {
        "invoke": model.invoke("hi"),
        "chunks": chunks,
        "stream": _aggregate(chunks),
        "tools": model.bind_tools([add]).invoke("What is 17 plus 25?"),
    }


async def _ascript(model: Any) -> dict[str, Any]:
    chunks = [chunk async for chunk in model.astream("hi")]
    return {
        "invoke": await model.ainvoke("hi"),
        "chunks": chunks,
        "stream": _aggregate(chunks),
        "tools": await model.bind_tools([add]).ainvoke("What is 17 plus 25?"),
    }


def _both(emulator: Emulator, run: Callable[[Any], Any]) -> tuple[Any, Any]:
    """(langchain-ollama's result, polyvox's) of ``run`` on each package's chat model."""
    results = []
    for package in PACKAGES.values():
        emulator.reset()
        results.append(run(_chat(package, emulator.ollama_url)))
    return results[0], results[1]


def _assert_same_results(theirs: dict[str, Any], ours: dict[str, Any]) -> None:
    for result in (theirs, ours):
        assert type(result["invoke"]) is AIMessage
        assert type(result["tools"]) is AIMessage
        assert all(type(chunk) is AIMessageChunk for chunk in result["chunks"])
        assert result["stream"].text == result["invoke"].text == "You said: hi"
    assert len(ours["chunks"]) > 2
    for key in ("invoke", "stream"):
        assert ours[key].text == theirs[key].text
        assert ours[key].usage_metadata == theirs[key].usage_metadata
        assert ours[key].usage_metadata["total_tokens"] > 0
    their_calls, our_calls = theirs["tools"].tool_calls, ours["tools"].tool_calls
    assert [(c["name"], c["args"], c["type"]) for c in our_calls] == [
        (c["name"], c["args"], c["type"]) for c in their_calls
    ]
    assert [(c["name"], c["args"]) for c in our_calls] == [("add", {"a": 17, "b": 25})]
    assert all(isinstance(c["id"], str) and c["id"] for c in our_calls)
    assert ours["tools"].usage_metadata == theirs["tools"].usage_metadata


def _assert_metadata_keys(theirs: dict[str, Any], ours: dict[str, Any]) -> None:
    """Every key langchain-ollama sets is there, with the same value (but the clock's)."""
    for key in ("invoke", "stream", "tools"):
        their_meta, our_meta = theirs[key].response_metadata, ours[key].response_metadata
        assert {"done_reason", "eval_count", "model", "model_name"} <= set(their_meta)
        missing = set(their_meta) - set(our_meta)
        assert not missing, f"{key}: polyvox's response_metadata lacks {sorted(missing)}"
        differ = {
            k: (their_meta[k], our_meta[k])
            for k in their_meta
            if k != "created_at" and their_meta[k] != our_meta[k]
        }
        assert not differ, f"{key}: {differ}"
        assert our_meta["finish_reason"] == our_meta["done_reason"] == "stop"
        assert set(ours[key].usage_metadata) == set(theirs[key].usage_metadata)


def test_the_chat_script_gives_the_same_results(emulator: Emulator) -> None:
    theirs, ours = _both(emulator, _script)
    _assert_same_results(theirs, ours)
    _assert_metadata_keys(theirs, ours)


def test_the_async_chat_script_gives_the_same_results(emulator: Emulator) -> None:
    theirs, ours = _both(emulator, lambda model: asyncio.run(_ascript(model)))
    _assert_same_results(theirs, ours)
    _assert_metadata_keys(theirs, ours)


def test_tools_given_as_dicts_and_tool_choice(emulator: Emulator) -> None:
    def run(model: Any) -> AIMessage:
        bound = model.bind_tools([convert_to_openai_tool(add)], tool_choice="add")
        answer: AIMessage = bound.invoke([HumanMessage("What is 17 plus 25?")])
        return answer

    theirs, ours = _both(emulator, run)
    assert [(c["name"], c["args"]) for c in ours.tool_calls] == [
        (c["name"], c["args"]) for c in theirs.tool_calls
    ]
    assert set(theirs.response_metadata) <= set(ours.response_metadata)


def test_the_llm_and_embeddings_give_the_same_results(emulator: Emulator) -> None:
    results = []
    for package in PACKAGES.values():
        emulator.reset()
        llm = _llm(package, emulator.ollama_url)
        embedder = _embeddings(package, emulator.ollama_url)
        results.append(
            (
                llm.invoke("hi"),
                list(llm.stream("hi")),
                embedder.embed_query("hello"),
                embedder.embed_documents(["a", "b"]),
            )
        )
    (text, pieces, vector, vectors), theirs = results[1], results[0]
    assert type(text) is str
    assert text == theirs[0] == "You said: hi"
    assert all(type(piece) is str for piece in pieces)
    assert "".join(pieces) == "".join(theirs[1])
    assert type(vector) is list
    assert all(type(x) is float for x in vector)
    assert vector == theirs[2]
    assert vectors == theirs[3]


def test_token_counts_where_langchain_ollama_needs_transformers() -> None:
    """langchain-ollama counts with a Hugging Face GPT-2 tokenizer (``transformers``, and a
    download); polyvox estimates, said once with a warning, and never raises."""
    ours = _chat(polyvox.ollama, CLOSED)
    theirs = _chat(langchain_ollama, CLOSED)
    try:
        import transformers  # noqa: F401
    except ImportError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # langchain-core's "fallback GPT-2 tokenizer"
            with pytest.raises(ImportError, match="transformers"):
                theirs.get_num_tokens("hello world")
    messages = [HumanMessage("What is the capital of Poland?"), AIMessage("Warsaw.")]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        short, long = ours.get_num_tokens("hello world"), ours.get_num_tokens("hello world " * 10)
        counted = ours.get_num_tokens_from_messages(messages)
        kept = trim_messages(messages, max_tokens=counted, token_counter=ours, strategy="last")
    assert 0 < short < long
    assert counted > ours.get_num_tokens("What is the capital of Poland?")
    assert kept == messages
    assert any(issubclass(w.category, TokenEstimateWarning) for w in seen)


# ---- the same exceptions for the same faults ---------------------------------------------

FAULTS: dict[str, tuple[Fault | None, ErrorKind, type[BaseException]]] = {
    "refused": (None, ErrorKind.CONNECTION, httpx.ConnectError),
    "slow": (Fault.slow(4 * TIMEOUT_S), ErrorKind.TIMEOUT, httpx.ReadTimeout),
    "broken": (Fault.broken_stream(), ErrorKind.CONNECTION, httpx.RemoteProtocolError),
    "malformed": (Fault.malformed_body(), ErrorKind.API, json.JSONDecodeError),
    "404": (Fault(status=404), ErrorKind.NOT_FOUND, ollama.ResponseError),
    "500": (Fault.server_error(500), ErrorKind.API, ollama.ResponseError),
}
"""Fault (``None``: no server): its kind, and the class langchain-ollama's chat raises."""

CALLS: dict[str, Callable[[Any, str], Any]] = {
    "chat.invoke": lambda p, url: _chat(p, url).invoke("hi"),
    "chat.stream": lambda p, url: list(_chat(p, url).stream("hi")),
    "chat.ainvoke": lambda p, url: asyncio.run(_chat(p, url).ainvoke("hi")),
    "llm.invoke": lambda p, url: _llm(p, url).invoke("hi"),
    "embeddings": lambda p, url: _embeddings(p, url).embed_query("hi"),
}


def _raised(package: Any, call: str, fault: Fault | None, emulator: Emulator) -> BaseException:
    emulator.reset()
    if fault is not None:
        emulator.fail(fault, times=None)
    try:
        CALLS[call](package, CLOSED if fault is None else emulator.ollama_url)
    except Exception as caught:
        return caught
    finally:
        emulator.reset()
    raise AssertionError(f"{package.__name__}: the call succeeded")


def _public_classes(cls: type) -> list[type]:
    """The classes of ``cls`` an ``except`` clause can name (all but polyvox's own)."""
    return [c for c in cls.__mro__ if c.__module__.split(".")[0] != "polyvox"]


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("fault", list(FAULTS))
def test_the_same_except_clauses_catch_the_same_faults(
    emulator: Emulator, fault: str, call: str
) -> None:
    the_fault, kind, _ = FAULTS[fault]
    if fault == "broken" and call == "embeddings":
        pytest.skip("an embedding is no stream: the emulator has nothing to break")
    theirs = _raised(langchain_ollama, call, the_fault, emulator)
    ours = _raised(polyvox.ollama, call, the_fault, emulator)
    missing = [c for c in _public_classes(type(theirs)) if not isinstance(ours, c)]
    assert not missing, f"{type(ours).__mro__} is not a {missing} (theirs: {theirs!r})"
    assert isinstance(ours, ProviderErrorMixin)
    assert isinstance(ours, kind.langchain_class)
    assert ours.kind is kind
    assert ours.provider == "ollama"
    if not isinstance(ours, ProviderResponseError):  # a 200 that is no Ollama answer
        assert isinstance(ours, errors.ERRORS[kind])


@pytest.mark.parametrize("fault", list(FAULTS))
def test_the_chat_raises_what_the_table_says(emulator: Emulator, fault: str) -> None:
    """The table is what langchain-ollama raises (a change in it shows here first)."""
    the_fault, _, their_class = FAULTS[fault]
    assert type(_raised(langchain_ollama, "chat.invoke", the_fault, emulator)) is their_class


def test_a_server_that_is_not_running() -> None:
    """``except httpx.ConnectError`` (langchain-ollama's chat), ``except ConnectionError``
    (its embeddings, the SDK's whole answers) and ``except ModelConnectionError`` all catch
    it; the message says what to run."""
    from langchain_core.exceptions import ModelConnectionError

    cls = polyvox.ollama.OllamaConnectError
    assert cls is errors.OllamaConnectError
    for base in (httpx.ConnectError, ConnectionError, errors.OllamaConnectionError):
        assert issubclass(cls, base)
    assert issubclass(cls, ModelConnectionError)
    assert (cls.__module__, cls.__qualname__) == ("polyvox.ollama.errors", "OllamaConnectError")
    model = _chat(polyvox.ollama, CLOSED)
    for run in (lambda: model.invoke("hi"), lambda: list(model.stream("hi")), model.list_models):
        with pytest.raises(httpx.ConnectError, match="ollama serve") as caught:
            run()
        assert type(caught.value) is cls
        assert "127.0.0.1:1" in str(caught.value)


@pytest.mark.parametrize("fault", ["refused", "slow", "broken", "malformed"])
def test_the_errors_pickle_without_the_key(emulator: Emulator, fault: str) -> None:
    the_fault = FAULTS[fault][0]
    emulator.reset()
    if the_fault is not None:
        emulator.fail(the_fault, times=None)
    model = _chat(
        polyvox.ollama, CLOSED if the_fault is None else emulator.ollama_url, api_key="sk-secret"
    )
    with pytest.raises(Exception) as caught:
        list(model.stream("hi"))
    emulator.reset()
    error = caught.value
    data = pickle.dumps(error)
    assert b"sk-secret" not in data, "the API key must not travel in a pickled error"
    copy = pickle.loads(data)
    assert type(copy) is type(error)
    assert (str(copy), copy.kind, copy.provider) == (str(error), error.kind, "ollama")
    if isinstance(error, httpx.RequestError):
        assert copy.request.url == error.request.url
