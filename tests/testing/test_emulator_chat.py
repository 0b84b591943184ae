"""OpenAI chat completions in auto mode, through the real SDK and raw HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from polyvox.testing import Emulator
from tests.testing.emulator_helpers import chat_body, sse_chunks

ADD_TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}
NO_ARGS_TOOL = {"type": "function", "function": {"name": "ping", "parameters": {}}}


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def test_echo_reply_has_openai_shape(http: httpx.Client) -> None:
    response = http.post("/v1/chat/completions", json=chat_body("Hello there", user="u-1", seed=3))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int)
    assert body["model"] == "gpt-4o"
    assert body["system_fingerprint"].startswith("fp_")
    (choice,) = body["choices"]
    assert choice["finish_reason"] == "stop"
    assert choice["message"] == {
        "role": "assistant",
        "content": "You said: Hello there",
        "refusal": None,
        "annotations": [],
    }
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0


def test_sdk_round_trip_echoes_the_requested_model(openai_client: openai.OpenAI) -> None:
    result = openai_client.chat.completions.create(
        model="my-custom-model", messages=user("Bonjour, ça va ?")
    )
    assert result.model == "my-custom-model"
    assert result.choices[0].message.content == "You said: Bonjour, ça va ?"
    assert result.usage is not None
    assert result.usage.completion_tokens > 0


@pytest.mark.parametrize("text", ["", "   "])
def test_blank_input_still_gets_text(openai_client: openai.OpenAI, text: str) -> None:
    result = openai_client.chat.completions.create(model="m", messages=user(text))
    assert result.choices[0].message.content


def test_content_parts_and_names_are_read(openai_client: openai.OpenAI) -> None:
    messages: Any = [
        {"role": "developer", "content": "Be brief."},
        {
            "role": "user",
            "name": "example_user",
            "content": [
                {"type": "text", "text": "describe"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        },
    ]
    result = openai_client.chat.completions.create(model="m", messages=messages)
    assert result.choices[0].message.content == "You said: describe"


def test_tool_call_with_arguments_from_the_prompt(openai_client: openai.OpenAI) -> None:
    result = openai_client.chat.completions.create(
        model="gpt-4o", messages=user("What is 3 + 5? Use the tool."), tools=[ADD_TOOL]
    )
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.id.startswith("call_")
    assert call.type == "function"
    assert call.function.name == "add"
    assert json.loads(call.function.arguments) == {"a": 3, "b": 5}


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ("auto", "add"),
        ("required", "add"),
        ({"type": "function", "function": {"name": "get_weather"}}, "get_weather"),
    ],
)
def test_tool_choice(openai_client: openai.OpenAI, tool_choice: Any, expected: str) -> None:
    result = openai_client.chat.completions.create(
        model="m", messages=user("Hello!"), tools=[ADD_TOOL, WEATHER_TOOL], tool_choice=tool_choice
    )
    calls = result.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == [expected]


def test_tool_choice_none_answers_with_text(openai_client: openai.OpenAI) -> None:
    result = openai_client.chat.completions.create(
        model="m", messages=user("hi"), tools=[ADD_TOOL], tool_choice="none"
    )
    assert result.choices[0].message.tool_calls is None
    assert result.choices[0].message.content == "You said: hi"


def test_tool_without_parameters(openai_client: openai.OpenAI) -> None:
    result = openai_client.chat.completions.create(
        model="m", messages=user("ping please"), tools=[NO_ARGS_TOOL], tool_choice="required"
    )
    (call,) = result.choices[0].message.tool_calls or []
    assert call.function.arguments == "{}"


def test_parallel_calls_for_every_named_tool(openai_client: openai.OpenAI) -> None:
    prompt = "Call get_weather for 'Paris' and add 2 and 3."
    result = openai_client.chat.completions.create(
        model="m", messages=user(prompt), tools=[ADD_TOOL, WEATHER_TOOL]
    )
    calls = result.choices[0].message.tool_calls or []
    names = [c.function.name for c in calls]
    assert names == ["get_weather", "add"]
    assert json.loads(calls[0].function.arguments) == {"location": "Paris"}
    assert json.loads(calls[1].function.arguments) == {"a": 2, "b": 3}
    single = openai_client.chat.completions.create(
        model="m", messages=user(prompt), tools=[ADD_TOOL, WEATHER_TOOL], parallel_tool_calls=False
    )
    assert len(single.choices[0].message.tool_calls or []) == 1


def test_unicode_arguments_are_not_escaped(http: httpx.Client) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "unicode_customer",
            "parameters": {
                "type": "object",
                "properties": {"customer_name": {"type": "string"}},
                "required": ["customer_name"],
            },
        },
    }
    body = chat_body("Create a customer named '你好啊集团' (Hello Group)", tools=[tool])
    response = http.post("/v1/chat/completions", json=body)
    call = response.json()["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["arguments"] == '{"customer_name":"你好啊集团"}'


def test_tool_result_is_quoted_in_the_answer(openai_client: openai.OpenAI) -> None:
    messages: Any = [
        {"role": "user", "content": "weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "It's sunny, 21C."},
    ]
    result = openai_client.chat.completions.create(
        model="m", messages=messages, tools=[WEATHER_TOOL]
    )
    assert result.choices[0].finish_reason == "stop"
    assert "It's sunny, 21C." in (result.choices[0].message.content or "")


def test_json_schema_output_satisfies_the_schema(openai_client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "population": {"type": "integer", "minimum": 1},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "kind": {"anyOf": [{"type": "string", "enum": ["capital", "town"]}, {"type": "null"}]},
        },
        "required": ["city", "population", "tags", "kind"],
        "additionalProperties": False,
    }
    result = openai_client.chat.completions.create(
        model="m",
        messages=user("The capital 'Paris' has 2100000 people."),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "City", "schema": schema, "strict": True},
        },
    )
    value = json.loads(result.choices[0].message.content or "")
    jsonschema.validate(value, schema)
    assert value["city"] == "Paris"
    assert value["population"] == 2100000
    assert value["kind"] == "capital"


def test_json_object_uses_the_keys_the_prompt_quotes(openai_client: openai.OpenAI) -> None:
    prompt = "Tell me a joke. Return JSON with 'setup' and 'punchline' keys."
    result = openai_client.chat.completions.create(
        model="m", messages=user(prompt), response_format={"type": "json_object"}
    )
    assert set(json.loads(result.choices[0].message.content or "")) == {"setup", "punchline"}
    plain = openai_client.chat.completions.create(
        model="m", messages=user("hi"), response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(plain.choices[0].message.content or ""), dict)


@pytest.mark.parametrize("stop", ["said", ["zzz", ":"]])
def test_stop_sequences_cut_the_text(openai_client: openai.OpenAI, stop: Any) -> None:
    result = openai_client.chat.completions.create(model="m", messages=user("hi"), stop=stop)
    content = result.choices[0].message.content or ""
    assert content in ("You ", "You said")
    assert result.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("param", ["max_tokens", "max_completion_tokens"])
def test_output_limit_truncates(openai_client: openai.OpenAI, param: str) -> None:
    limit: Any = {param: 2}
    result = openai_client.chat.completions.create(
        model="m", messages=user("one two three four"), **limit
    )
    assert result.choices[0].message.content == "You said"
    assert result.choices[0].finish_reason == "length"
    assert result.usage is not None
    assert result.usage.completion_tokens == 2


def test_stream_framing_and_usage(http: httpx.Client) -> None:
    body = chat_body("Write a story", stream=True, stream_options={"include_usage": True})
    response = http.post("/v1/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = sse_chunks(response.text)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks[1:-2]]
    assert len(deltas) > 2
    assert "".join(deltas) == "You said: Write a story"
    assert chunks[-2]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] > 0
    assert all(c["usage"] is None for c in chunks[:-1])


def test_stream_without_include_usage_has_no_usage(http: httpx.Client) -> None:
    chunks = sse_chunks(http.post("/v1/chat/completions", json=chat_body(stream=True)).text)
    assert all("usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_streamed_tool_calls_reassemble(openai_client: openai.OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model="m",
        messages=user("add 4 and 6, then get_weather for 'Oslo'"),
        tools=[ADD_TOOL, WEATHER_TOOL],
        stream=True,
        stream_options={"include_usage": True},
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    usage = None
    fragments = 0
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                if delta.id:
                    entry["id"] = delta.id
                if delta.function and delta.function.name:
                    entry["name"] += delta.function.name
                if delta.function and delta.function.arguments:
                    entry["arguments"] += delta.function.arguments
                    fragments += 1
    assert finish == "tool_calls"
    assert usage is not None
    assert fragments > 4
    assert [calls[i]["name"] for i in sorted(calls)] == ["add", "get_weather"]
    assert json.loads(calls[0]["arguments"]) == {"a": 4, "b": 6}
    assert json.loads(calls[1]["arguments"]) == {"location": "Oslo"}
    assert all(c["id"].startswith("call_") for c in calls.values())


async def test_async_client_stream(async_openai_client: openai.AsyncOpenAI) -> None:
    stream = await async_openai_client.chat.completions.create(
        model="m", messages=user("async hello"), stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "You said: async hello"


@pytest.mark.parametrize(
    ("body", "param"),
    [({"messages": [{"role": "user", "content": "x"}]}, "model"), ({"model": "m"}, "messages")],
)
def test_missing_parameters_are_400(http: httpx.Client, body: dict[str, Any], param: str) -> None:
    response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    bad = http.post("/v1/chat/completions", content=b"{not json")
    assert bad.status_code == 400
    assert bad.json()["error"]["type"] == "invalid_request_error"


def test_requests_are_recorded(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    openai_client.chat.completions.create(model="gpt-4o", messages=user("remember me"), seed=7)
    (request,) = emulator.requests
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.json["seed"] == 7
    assert emulator.last_request == request
    emulator.reset()
    assert emulator.requests == []
    assert emulator.last_request is None
