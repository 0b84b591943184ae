"""Failures, end to end: injected faults, bad input and safety blocks, sync and async."""

from __future__ import annotations

import openai
import pytest
from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.messages import AIMessageChunk
from pydantic import ValidationError

from polyvox.core.errors import ErrorKind, ProviderResponseError
from polyvox.openai import ChatOpenAI, OpenAIEmbeddings
from polyvox.testing import Emulator, Fault, Reply


def _collect(model: ChatOpenAI, seen: list[AIMessageChunk]) -> None:
    for chunk in model.stream("tell me a long story about rivers and mountains"):
        seen.append(chunk)


def test_rate_limit_maps_and_carries_retry_after(emulator: Emulator, chat: ChatOpenAI) -> None:
    emulator.fail(Fault.rate_limit(retry_after=7))
    with pytest.raises(ModelRateLimitError) as info:
        chat.invoke("hi")
    err = info.value
    assert isinstance(err, openai.RateLimitError)
    assert err.is_retryable
    assert err.retry_after == 7.0
    assert err.kind is ErrorKind.RATE_LIMIT
    assert err.provider == "openai"


def test_retry_honours_retry_after_then_succeeds(emulator: Emulator) -> None:
    emulator.fail(Fault.rate_limit(retry_after=None, retry_after_ms=20), times=1)
    model = ChatOpenAI(model="m", api_key="k", base_url=emulator.openai_base_url, max_retries=1)
    reply = model.invoke("hello there")
    assert reply.content
    assert len(emulator.requests) == 2


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(emulator: Emulator, chat: ChatOpenAI, status: int) -> None:
    emulator.fail(Fault.server_error(status))
    with pytest.raises(ModelAPIError) as info:
        chat.invoke("hi")
    assert isinstance(info.value, openai.APIStatusError)
    assert info.value.status_code == status


async def test_server_error_async(emulator: Emulator, chat: ChatOpenAI) -> None:
    emulator.fail(Fault.server_error(500))
    with pytest.raises(ModelAPIError):
        await chat.ainvoke("hi")


def test_timeout(emulator: Emulator) -> None:
    emulator.fail(Fault.slow(2.0))
    model = ChatOpenAI(
        model="m", api_key="k", base_url=emulator.openai_base_url, timeout=0.2, max_retries=0
    )
    with pytest.raises(ModelTimeoutError) as info:
        model.invoke("hi")
    assert isinstance(info.value, openai.APITimeoutError)
    assert "timeout" in str(info.value)


def test_bad_key(emulator: Emulator) -> None:
    model = ChatOpenAI(
        model="m", api_key="invalid-key", base_url=emulator.openai_base_url, max_retries=0
    )
    with pytest.raises(ModelAuthenticationError) as info:
        model.invoke("hi")
    assert isinstance(info.value, openai.AuthenticationError)
    assert not info.value.is_retryable


def test_unknown_model(emulator: Emulator) -> None:
    model = ChatOpenAI(
        model="no-such-model", api_key="k", base_url=emulator.openai_base_url, max_retries=0
    )
    with pytest.raises(ModelNotFoundError, match="no-such-model"):
        model.invoke("hi")


def test_stream_broken_midway_raises_after_delivering_chunks(
    emulator: Emulator, chat: ChatOpenAI
) -> None:
    emulator.fail(Fault.broken_stream(after=3))
    seen: list[AIMessageChunk] = []
    with pytest.raises(ModelConnectionError, match="incomplete"):
        _collect(chat, seen)
    assert seen, "chunks that arrived before the break are delivered"
    assert not any(c.response_metadata.get("finish_reason") for c in seen)


def test_stream_broken_before_first_chunk(emulator: Emulator, chat: ChatOpenAI) -> None:
    emulator.fail(Fault.broken_stream(after=0))
    with pytest.raises(ModelConnectionError):
        list(chat.stream("hi"))


async def test_stream_broken_async(emulator: Emulator, chat: ChatOpenAI) -> None:
    emulator.fail(Fault.broken_stream(after=2))
    with pytest.raises(ModelConnectionError):
        async for _ in chat.astream("tell me a long story about rivers and mountains"):
            pass


def test_stream_error_event(emulator: Emulator, chat: ChatOpenAI) -> None:
    emulator.fail(Fault.stream_error(after=2, message="Upstream overloaded"))
    with pytest.raises(ModelError, match="Upstream overloaded") as info:
        list(chat.stream("tell me a long story about rivers and mountains"))
    assert isinstance(info.value, openai.APIError)


def test_malformed_body(emulator: Emulator, chat: ChatOpenAI) -> None:
    emulator.fail(Fault.malformed_body())
    with pytest.raises(ProviderResponseError, match="not a chat completion") as info:
        chat.invoke("hi")
    assert isinstance(info.value, ModelAPIError)


def test_malformed_stream_event(emulator: Emulator, chat: ChatOpenAI) -> None:
    emulator.fail(Fault.malformed_body())
    with pytest.raises(ProviderResponseError, match="not JSON"):
        list(chat.stream("hi"))


def test_malformed_embeddings(emulator: Emulator, embeddings: OpenAIEmbeddings) -> None:
    emulator.fail(Fault.malformed_body())
    with pytest.raises(ProviderResponseError, match="not an embeddings list"):
        embeddings.embed_query("hi")


def test_content_filter_sets_blocked(emulator: Emulator, chat: ChatOpenAI) -> None:
    emulator.fail(Fault.content_policy())
    reply = chat.invoke("something unsafe")
    assert reply.response_metadata["finish_reason"] == "content_filter"
    assert reply.response_metadata["blocked"] is True


def test_content_filter_sets_blocked_when_streaming(emulator: Emulator, chat: ChatOpenAI) -> None:
    emulator.fail(Fault.content_policy())
    total: AIMessageChunk | None = None
    for chunk in chat.stream("something unsafe"):
        total = chunk if total is None else total + chunk
    assert total is not None
    assert total.response_metadata["blocked"] is True


def test_refusal_sets_blocked(emulator: Emulator, chat: ChatOpenAI) -> None:
    emulator.script(Reply(refusal="I can't help with that."))
    reply = chat.invoke("something unsafe")
    assert reply.response_metadata["blocked"] is True
    assert reply.additional_kwargs["refusal"] == "I can't help with that."


def test_ordinary_answer_is_not_blocked(emulator: Emulator, chat: ChatOpenAI) -> None:
    assert chat.invoke("hi").response_metadata["blocked"] is False


def test_unreachable_server_names_the_url() -> None:
    model = ChatOpenAI(
        model="m", api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=5
    )
    with pytest.raises(ModelConnectionError) as info:
        model.invoke("hi")
    message = str(info.value)
    assert "http://127.0.0.1:9/v1" in message
    assert "Is the server running" in message
    assert isinstance(info.value, openai.APIConnectionError)


async def test_unreachable_server_async() -> None:
    model = ChatOpenAI(
        model="m", api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=5
    )
    with pytest.raises(ModelConnectionError, match=r"127\.0\.0\.1:9"):
        await model.ainvoke("hi")


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValidationError, match="OPENAI_API_KEY"):
        ChatOpenAI(model="gpt-4o-mini")
    with pytest.raises(ValidationError, match="OPENAI_API_KEY"):
        OpenAIEmbeddings()


def test_unknown_parameter_is_refused() -> None:
    with pytest.raises(ValidationError, match="temprature"):
        ChatOpenAI(model="m", api_key="k", temprature=0.2)
    with pytest.raises(ValidationError, match="dimension"):
        OpenAIEmbeddings(api_key="k", dimension=3)


def test_negative_retries_refused() -> None:
    with pytest.raises(ValidationError, match="max_retries"):
        ChatOpenAI(model="m", api_key="k", max_retries=-1)


@pytest.mark.parametrize(
    ("fault", "sdk_class"),
    [
        (Fault(status=400), "BadRequestError"),
        (Fault(status=409), "ConflictError"),
        (Fault(status=422), "UnprocessableEntityError"),
        (Fault(status=500), "InternalServerError"),
        (Fault(status=503), "InternalServerError"),
    ],
)
def test_the_sdks_own_class_still_catches_a_mapped_error(
    emulator: Emulator, chat: ChatOpenAI, fault: Fault, sdk_class: str
) -> None:
    """Switch the import: ``except openai.BadRequestError`` keeps working."""
    emulator.fail(fault)
    with pytest.raises(getattr(openai, sdk_class)) as caught:
        chat.invoke("hi")
    assert isinstance(caught.value, ModelError)
