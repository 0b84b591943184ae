"""Gemini retries (503 UNAVAILABLE, 429 RetryInfo), the config a call sends, embedding batches."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from google.genai import errors as genai_errors
from langchain_core.exceptions import ModelAPIError
from langchain_core.tools import tool

from polyvox.google import ChatGoogleGenerativeAI, GoogleGenerativeAIEmbeddings
from polyvox.testing import Emulator, Fault


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _chat(emulator: Emulator, **fields: Any) -> ChatGoogleGenerativeAI:
    return ChatGoogleGenerativeAI(
        model="gemini-2.5-flash", api_key="test-key", base_url=emulator.gemini_base_url, **fields
    )


def _body(emulator: Emulator) -> dict[str, Any]:
    request = emulator.last_request
    assert request is not None
    assert isinstance(request.json, dict)
    return request.json


@pytest.mark.parametrize("how", ["invoke", "ainvoke", "stream", "astream"])
async def test_503_unavailable_is_retried(emulator: Emulator, how: str) -> None:
    emulator.fail(Fault.server_error(503))
    model = _chat(emulator, max_retries=1)
    if how == "invoke":
        text = model.invoke("hello").text
    elif how == "ainvoke":
        text = (await model.ainvoke("hello")).text
    elif how == "stream":
        text = "".join(chunk.text for chunk in model.stream("hello"))
    else:
        text = "".join([chunk.text async for chunk in model.astream("hello")])
    assert text == "You said: hello"
    assert len(emulator.requests) == 2


def test_503_without_retries_left_is_the_sdks_server_error(emulator: Emulator) -> None:
    emulator.fail(Fault.server_error(503), times=2)
    with pytest.raises(genai_errors.ServerError) as caught:
        _chat(emulator, max_retries=1).invoke("hello")
    assert isinstance(caught.value, ModelAPIError)
    assert (caught.value.code, caught.value.status) == (503, "UNAVAILABLE")
    assert len(emulator.requests) == 2


async def test_429_retry_delay_is_honoured_by_ainvoke(emulator: Emulator) -> None:
    emulator.fail(Fault.rate_limit(retry_after=0.3))
    started = time.monotonic()
    reply = await _chat(emulator, max_retries=1).ainvoke("hello")
    assert reply.text == "You said: hello"
    assert time.monotonic() - started >= 0.3
    assert len(emulator.requests) == 2


def test_a_call_without_settings_sends_no_generation_config(emulator: Emulator) -> None:
    model = _chat(emulator)
    assert model.invoke("Hi").text == "You said: Hi"
    body = _body(emulator)
    assert body == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}
    model.invoke("Hi", temperature=0.5)
    assert _body(emulator)["generationConfig"] == {"temperature": 0.5}


def test_a_tool_call_is_returned_not_run_by_the_sdk(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The SDK's automatic function calling stays out: one request, the call comes back."""
    model = _chat(emulator).bind_tools([get_weather], tool_choice="get_weather")
    with caplog.at_level(logging.INFO, logger="google_genai"):
        message = model.invoke("Weather in 'Paris'?")
    assert message.tool_calls[0]["name"] == "get_weather"
    assert len(emulator.requests) == 1
    assert not [r for r in caplog.records if "function calling" in r.getMessage().lower()]


def test_safety_settings_per_call_in_the_apis_list_form(emulator: Emulator) -> None:
    settings = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    _chat(emulator).invoke("Hi", safety_settings=settings)
    assert _body(emulator)["safetySettings"] == settings


def test_embeddings_go_in_batches_of_at_most_100(emulator: Emulator) -> None:
    embeddings = GoogleGenerativeAIEmbeddings(
        api_key="k", base_url=emulator.gemini_base_url, output_dimensionality=8
    )
    texts = [f"text {i}" for i in range(250)]
    vectors = embeddings.embed_documents(texts)
    assert len(vectors) == 250
    batches = [r.json["requests"] for r in emulator.requests if isinstance(r.json, dict)]
    assert [len(b) for b in batches] == [100, 100, 50]
    sent = [part["text"] for batch in batches for r in batch for part in r["content"]["parts"]]
    assert sent == texts
    # the same text gives the same vector, wherever it is in the batches
    assert embeddings.embed_documents(["text 150"]) == [vectors[150]]


async def test_async_embeddings_honour_a_smaller_chunk_size(emulator: Emulator) -> None:
    embeddings = GoogleGenerativeAIEmbeddings(
        api_key="k", base_url=emulator.gemini_base_url, chunk_size=2, output_dimensionality=4
    )
    vectors = await embeddings.aembed_documents(["a", "b", "c"])
    assert [len(v) for v in vectors] == [4, 4, 4]
    assert [len(r.json["requests"]) for r in emulator.requests] == [2, 1]  # type: ignore[index]


def test_a_chunk_size_over_the_apis_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        GoogleGenerativeAIEmbeddings(api_key="k", chunk_size=101)
