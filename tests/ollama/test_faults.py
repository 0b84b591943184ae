"""ChatOllama under faults: a malformed 200, ``Retry-After``, retries before a stream starts."""

from __future__ import annotations

import time

import pytest
from langchain_core.exceptions import ModelAPIError, ModelError

from polyvox.core.errors import ProviderResponseError
from polyvox.ollama import ChatOllama
from polyvox.router.errors import error_kind, is_programming_error
from polyvox.testing import Emulator, Fault, Reply
from tests.modes import MODES, call_as


def _chat_requests(emulator: Emulator) -> int:
    return sum(1 for r in emulator.requests if r.path == "/api/chat")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("body", [None, ""], ids=["not-json", "empty"])
async def test_a_malformed_200_is_a_provider_response_error(
    emulator: Emulator, mode: str, body: str | None
) -> None:
    model = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)
    emulator.fail(Fault.malformed_body(body=body))
    with pytest.raises(ProviderResponseError) as caught:
        await call_as(model, mode)
    error = caught.value
    assert isinstance(error, ModelAPIError)
    streamed_empty = body == "" and mode in ("stream", "astream")
    expected = "an empty stream" if streamed_empty else "a body that is not an Ollama response"
    assert f"answered 200 with {expected}" in str(error)
    assert error.provider == "ollama"
    # The router counts it against the deployment's health instead of calling it a bug.
    assert not is_programming_error(error)
    assert error_kind(error).value == "api"


@pytest.mark.parametrize("mode", MODES)
async def test_a_malformed_200_is_retried_like_a_server_error(
    emulator: Emulator, mode: str
) -> None:
    model = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=1)
    emulator.fail(Fault.malformed_body())
    emulator.script(Reply("recovered"))
    assert await call_as(model, mode) == "recovered"
    assert _chat_requests(emulator) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_retry_after_is_honoured(emulator: Emulator, mode: str) -> None:
    model = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=2)
    emulator.fail(Fault.rate_limit(retry_after=0.6), times=2)
    emulator.script(Reply("after waiting"))
    started = time.monotonic()
    assert await call_as(model, mode) == "after waiting"
    assert time.monotonic() - started >= 1.2, "both waits the server asked for were kept"
    assert _chat_requests(emulator) == 3


def test_the_rate_limit_error_carries_the_wait(emulator: Emulator) -> None:
    model = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)
    emulator.fail(Fault.rate_limit(retry_after=7))
    with pytest.raises(ModelError) as caught:
        model.invoke("hi")
    assert getattr(caught.value, "retry_after", None) == 7.0


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_a_stream_is_retried_before_its_first_chunk_only(
    emulator: Emulator, mode: str
) -> None:
    model = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=1)
    emulator.fail(Fault.server_error(503))
    emulator.script(Reply("a whole answer"))
    assert await call_as(model, mode) == "a whole answer"
    assert _chat_requests(emulator) == 2
    emulator.reset()
    # Once text was delivered, a break is raised, never restarted (text would repeat).
    emulator.fail(Fault.broken_stream(after=2))
    emulator.script(Reply("one two three four five six"))
    with pytest.raises(ModelError, match="incomplete"):
        await call_as(model, mode)
    assert _chat_requests(emulator) == 1
