"""ChatGoogleGenerativeAI against the emulator's Gemini protocol: requests and answers."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import pytest
from google.genai import errors as genai_errors
from langchain_core.exceptions import (
    ModelAuthenticationError,
    ModelInvalidRequestError,
    ModelRateLimitError,
)
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from polyvox.google import ChatGoogleGenerativeAI, GoogleGenerativeAIEmbeddings
from polyvox.testing import Emulator, Fault, Reply, ToolCall


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def get_time(city: str) -> str:
    """The local time in a city."""
    return "noon"


def _chat(emulator: Emulator, model: str = "gemini-2.5-flash", **fields: Any) -> Any:
    fields.setdefault("max_retries", 0)
    return ChatGoogleGenerativeAI(
        model=model, api_key="test-key", base_url=emulator.gemini_base_url, **fields
    )


def _sent(emulator: Emulator) -> dict[str, Any]:
    request = emulator.last_request
    assert request is not None
    assert isinstance(request.json, dict)
    return request.json


def test_request_shape(emulator: Emulator) -> None:
    model = _chat(emulator, temperature=0.2, top_p=0.9, top_k=5, max_tokens=50, stop=["END"])
    model.invoke([("system", "Be brief."), ("human", "Hi")])
    request = emulator.last_request
    assert request is not None
    assert request.path == "/v1/models/gemini-2.5-flash:generateContent"
    assert request.headers["x-goog-api-key"] == "test-key"
    body = _sent(emulator)
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Hi"}]}]
    assert body["generationConfig"] == {
        "temperature": 0.2,
        "topP": 0.9,
        "topK": 5,
        "maxOutputTokens": 50,
        "stopSequences": ["END"],
    }


def test_v1beta_and_drop_in_names(emulator: Emulator) -> None:
    model = ChatGoogleGenerativeAI(
        model="gemini-2.5-flash",
        google_api_key="test-key",
        max_output_tokens=7,
        base_url=emulator.gemini_base_url,
        api_version="v1beta",
    )
    assert model.max_tokens == 7
    model.invoke("hello")
    request = emulator.last_request
    assert request is not None
    assert request.path.startswith("/v1beta/models/")


def test_key_from_gemini_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", "from-gemini")
    model = ChatGoogleGenerativeAI(model="gemini-2.5-flash")
    assert model.api_key is not None
    assert model.api_key.get_secret_value() == "from-gemini"
    monkeypatch.delenv("GEMINI_API_KEY")
    with pytest.raises(ValueError, match="GOOGLE_API_KEY or GEMINI_API_KEY"):
        ChatGoogleGenerativeAI(model="gemini-2.5-flash")
    vertex = ChatGoogleGenerativeAI(
        model="gemini-2.5-flash", vertexai=True, project="p", location="us-central1"
    )
    assert vertex.api_key is None


def test_inline_image(emulator: Emulator) -> None:
    data = base64.b64encode(b"\x89PNG fake").decode()
    message = HumanMessage(
        content=[
            {"type": "text", "text": "What is this?"},
            {"type": "image", "base64": data, "mime_type": "image/png"},
            {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{data}"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        ]
    )
    _chat(emulator).invoke([message])
    parts = _sent(emulator)["contents"][0]["parts"]
    # the SDK writes the fields inside a part in snake_case, which the API accepts too
    assert parts[1] == {"inlineData": {"mime_type": "image/png", "data": data}}
    assert parts[2] == {"inlineData": {"mime_type": "image/jpeg", "data": data}}
    assert parts[3] == {
        "fileData": {"file_uri": "https://example.com/cat.png", "mime_type": "image/png"}
    }


def test_thought_signatures_are_sent_back(emulator: Emulator) -> None:
    """Gemini 3 refuses a tool loop without the signatures; polyvox keeps them."""
    model = _chat(emulator, "gemini-3-pro-preview").bind_tools([get_weather])
    first = model.invoke("weather in 'Paris'?")
    call = first.tool_calls[0]
    assert call["args"] == {"city": "Paris"}
    assert call["id"] in first.additional_kwargs["__gemini_function_call_thought_signatures__"]
    result = get_weather.invoke(call)
    answer = model.invoke([HumanMessage("weather in 'Paris'?"), first, result])
    assert answer.content == 'The tool returned: {"result": "sunny in Paris"}'
    model_turn = _sent(emulator)["contents"][1]
    assert model_turn["parts"][0]["thoughtSignature"]
    assert _sent(emulator)["contents"][2]["parts"][0]["functionResponse"]["name"] == "get_weather"


def test_a_dropped_signature_is_refused_on_gemini_3(emulator: Emulator) -> None:
    model = _chat(emulator, "gemini-3-pro-preview").bind_tools([get_weather])
    first = model.invoke("weather in 'Paris'?")
    first.additional_kwargs.clear()
    result = ToolMessage("sunny", tool_call_id=first.tool_calls[0]["id"])
    with pytest.raises(ModelInvalidRequestError, match="thought_signature") as caught:
        model.invoke([HumanMessage("weather?"), first, result])
    assert isinstance(caught.value, genai_errors.ClientError)


def test_parallel_calls_have_stable_distinct_ids(emulator: Emulator) -> None:
    emulator.script(
        Reply(
            tool_calls=[
                ToolCall("get_weather", {"city": "Oslo"}),
                ToolCall("get_time", {"city": "Oslo"}),
            ]
        )
    )
    message = _chat(emulator).bind_tools([get_weather, get_time]).invoke("weather and time?")
    ids = [c["id"] for c in message.tool_calls]
    assert [c["name"] for c in message.tool_calls] == ["get_weather", "get_time"]
    assert len(set(ids)) == 2


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("any", {"mode": "ANY"}),
        ("get_time", {"mode": "ANY", "allowedFunctionNames": ["get_time"]}),
    ],
)
def test_tool_choice_modes(emulator: Emulator, choice: str, config: dict[str, Any]) -> None:
    message = _chat(emulator).bind_tools([get_weather, get_time], tool_choice=choice).invoke("hi")
    assert _sent(emulator)["toolConfig"] == {"functionCallingConfig": config}
    if choice == "none":
        assert message.tool_calls == []
    if choice == "get_time":
        assert [c["name"] for c in message.tool_calls] == ["get_time"]


def test_thinking_config_and_reasoning(emulator: Emulator) -> None:
    emulator.script(Reply("4", reasoning="2 and 2 make 4"))
    model = _chat(emulator, thinking_budget=1024, include_thoughts=True)
    message = model.invoke("2+2?")
    assert _sent(emulator)["generationConfig"]["thinkingConfig"] == {
        "thinking_budget": 1024,
        "include_thoughts": True,
    }
    assert message.content == "4"
    assert message.additional_kwargs["reasoning_content"] == "2 and 2 make 4"
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_token_details"]["reasoning"] > 0


class Person(BaseModel):
    name: str
    age: int


def test_structured_output_uses_response_json_schema(emulator: Emulator) -> None:
    result = _chat(emulator).with_structured_output(Person).invoke("'Ann' is 30")
    assert isinstance(result, Person)
    config = _sent(emulator)["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["properties"]["age"] == {"type": "integer"}


def test_safety_settings_and_blocked_answer(emulator: Emulator) -> None:
    emulator.fail(Fault.content_policy())
    model = _chat(emulator, safety_settings={"HARM_CATEGORY_HATE_SPEECH": "BLOCK_LOW_AND_ABOVE"})
    message = model.invoke("something")
    assert _sent(emulator)["safetySettings"] == [
        {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_LOW_AND_ABOVE"}
    ]
    assert message.response_metadata["blocked"] is True
    assert message.response_metadata["finish_reason"] == "SAFETY"


def test_429_waits_for_the_retry_delay_in_the_body(emulator: Emulator) -> None:
    emulator.fail(Fault.rate_limit(retry_after=0.4))
    model = _chat(emulator, max_retries=1)
    started = time.monotonic()
    assert model.invoke("hello").content == "You said: hello"
    assert time.monotonic() - started >= 0.4
    assert len(emulator.requests) == 2


async def test_429_async_stream_retried_before_the_first_chunk(emulator: Emulator) -> None:
    emulator.fail(Fault.rate_limit(retry_after=0.1))
    text = "".join([str(c.content) async for c in _chat(emulator, max_retries=1).astream("hi")])
    assert text == "You said: hi"


def test_errors_are_the_sdks_and_langchains(emulator: Emulator) -> None:
    emulator.fail(Fault.rate_limit(retry_after=3))
    with pytest.raises(genai_errors.ClientError) as caught:
        _chat(emulator).invoke("x")
    assert isinstance(caught.value, ModelRateLimitError)
    assert caught.value.code == 429
    assert caught.value.retry_after == 3.0  # type: ignore[attr-defined]
    bad = ChatGoogleGenerativeAI(
        model="gemini-2.5-flash", api_key="invalid-key", base_url=emulator.gemini_base_url
    )
    with pytest.raises(ModelAuthenticationError, match="API key not valid"):
        bad.invoke("x")


def test_the_emulator_validates_as_the_api_does(emulator: Emulator) -> None:
    url = f"{emulator.gemini_base_url}/v1beta/models/gemini-2.5-flash:generateContent"
    headers = {"x-goog-api-key": "k"}
    contents = [{"role": "user", "parts": [{"text": "hi"}]}]
    ok = httpx.post(url, headers=headers, json={"contents": contents})
    assert ok.status_code == 200
    unknown = httpx.post(
        url, headers=headers, json={"contents": contents, "generationConfig": {"temprature": 1}}
    )
    assert unknown.status_code == 400
    assert 'Unknown name "temprature"' in unknown.json()["error"]["message"]
    assert unknown.json()["error"]["status"] == "INVALID_ARGUMENT"
    too_hot = httpx.post(
        url, headers=headers, json={"contents": contents, "generationConfig": {"temperature": 5}}
    )
    assert too_hot.status_code == 400
    assert httpx.post(url, json={"contents": contents}).status_code == 403
    stream = httpx.post(url.replace(":generate", ":streamGenerate") + "?alt=sse", headers=headers,
                        json={"contents": contents})  # fmt: skip
    assert stream.text.endswith("\r\n\r\n")
    assert "[DONE]" not in stream.text


def test_count_tokens_uses_the_api(emulator: Emulator) -> None:
    model = _chat(emulator)
    count = model.get_num_tokens_from_messages([("system", "Be brief."), ("human", "hello there")])
    assert count > 0
    request = emulator.last_request
    assert request is not None
    assert request.path.endswith(":countTokens")


def test_embeddings_task_types_and_dimensions(emulator: Emulator) -> None:
    embeddings = GoogleGenerativeAIEmbeddings(
        api_key="k", base_url=emulator.gemini_base_url, output_dimensionality=16
    )
    vectors = embeddings.embed_documents(["a cat", "a dog"])
    assert [len(v) for v in vectors] == [16, 16]
    requests = _sent(emulator)["requests"]
    assert {r["taskType"] for r in requests} == {"RETRIEVAL_DOCUMENT"}
    assert len(embeddings.embed_query("cat")) == 16
    assert _sent(emulator)["requests"][0]["taskType"] == "RETRIEVAL_QUERY"


async def test_async_embeddings(emulator: Emulator) -> None:
    embeddings = GoogleGenerativeAIEmbeddings(api_key="k", base_url=emulator.gemini_base_url)
    vectors = await embeddings.aembed_documents(["a", "b", "c"])
    assert len(vectors) == 3
    assert len(await embeddings.aembed_query("q")) == 3072
