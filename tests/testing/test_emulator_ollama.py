"""The Ollama protocol: /api/chat, /api/generate and /api/embed through the real ``ollama`` SDK."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jsonschema
import ollama
import openai
import pytest

from polyvox.testing import Emulator, Reply, ToolCall
from polyvox.testing.emulator.embedding_vectors import embed_text
from polyvox.testing.emulator.ollama_protocol import (
    parse_ollama_chat_request,
    parse_ollama_generate_request,
)

MODEL = "llama3.2"
HELLO = [{"role": "user", "content": "hello there"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
METRICS = (
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
)
CREATED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")


@pytest.fixture
def client(emulator: Emulator) -> Iterator[ollama.Client]:
    with ollama.Client(host=emulator.ollama_url) as sdk:
        yield sdk


@pytest.fixture
async def async_client(emulator: Emulator) -> AsyncIterator[ollama.AsyncClient]:
    async with ollama.AsyncClient(host=emulator.ollama_url) as sdk:
        yield sdk


@pytest.fixture
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.ollama_url, timeout=10) as raw:
        yield raw


def ndjson(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.text.endswith("\n")
    return [json.loads(line) for line in response.text.splitlines()]


def test_ollama_url_is_the_server_root(emulator: Emulator) -> None:
    assert emulator.ollama_url == emulator.url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emulator.ollama_url)


def test_chat_answers_one_object_with_metrics(client: ollama.Client, http: httpx.Client) -> None:
    response = client.chat(model=MODEL, messages=HELLO)
    assert response.message.role == "assistant"
    assert response.message.content == "You said: hello there"
    assert response.message.thinking is None
    assert response.message.tool_calls is None
    assert response.done is True
    assert response.done_reason == "stop"
    assert response.model == MODEL
    assert response.created_at is not None
    assert CREATED_AT.match(response.created_at)
    assert all(isinstance(response[name], int) and response[name] > 0 for name in METRICS)
    assert response.eval_count == 5  # "You", " said", ":", " hello", " there"
    raw = http.post("/api/chat", json={"model": MODEL, "messages": HELLO, "stream": False})
    assert raw.headers["content-type"].startswith("application/json")
    body = raw.json()
    assert list(body)[:5] == ["model", "created_at", "message", "done_reason", "done"]
    assert body["message"] == {"role": "assistant", "content": "You said: hello there"}


def test_chat_streams_deltas_then_a_final_line(client: ollama.Client) -> None:
    parts = list(client.chat(model=MODEL, messages=HELLO, stream=True))
    assert len(parts) > 2
    assert all(p.done is False and p.done_reason is None for p in parts[:-1])
    assert all(p.total_duration is None for p in parts[:-1])
    assert "".join(p.message.content or "" for p in parts) == "You said: hello there"
    last = parts[-1]
    assert last.done is True
    assert last.done_reason == "stop"
    assert last.message.content == ""
    assert all(isinstance(last[name], int) for name in METRICS)


def test_stream_is_the_default_when_absent(http: httpx.Client) -> None:
    lines = ndjson(http.post("/api/chat", json={"model": MODEL, "messages": HELLO}))
    assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]
    lines = ndjson(http.post("/api/generate", json={"model": MODEL, "prompt": "hi"}))
    assert lines[-1]["done"] is True
    assert len(lines) > 1
    single = http.post("/api/chat", json={"model": MODEL, "messages": HELLO, "stream": False})
    assert single.json()["done"] is True


def test_tool_calls_have_object_arguments_and_no_id(
    client: ollama.Client, http: httpx.Client
) -> None:
    prompt = [{"role": "user", "content": "What is the weather in 'Paris' for 3 days?"}]
    response = client.chat(model=MODEL, messages=prompt, tools=[WEATHER_TOOL])
    calls = response.message.tool_calls
    assert calls is not None
    assert len(calls) == 1
    assert calls[0].function.name == "get_weather"
    assert calls[0].function.arguments == {"city": "Paris", "days": 3}
    assert response.done_reason == "stop"
    assert response.message.content == ""
    body = {"model": MODEL, "messages": prompt, "tools": [WEATHER_TOOL], "stream": False}
    raw = http.post("/api/chat", json=body).json()
    (call,) = raw["message"]["tool_calls"]
    assert call == {"function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}}


def test_streamed_tool_calls_arrive_whole_in_one_line(http: httpx.Client) -> None:
    prompt = [{"role": "user", "content": "Call get_weather and get_time for 'Oslo'."}]
    body = {"model": MODEL, "messages": prompt, "tools": [WEATHER_TOOL, TIME_TOOL]}
    lines = ndjson(http.post("/api/chat", json=body))
    with_calls = [line for line in lines if line["message"].get("tool_calls")]
    assert len(with_calls) == 1
    calls = with_calls[0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"]
    assert all(isinstance(c["function"]["arguments"], dict) for c in calls)
    assert all("id" not in c for c in calls)
    assert calls[1]["function"]["index"] == 1
    assert lines[-1]["done_reason"] == "stop"


def test_tool_results_come_back_as_text(client: ollama.Client) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
        },
        {"role": "tool", "content": "18 degrees, sunny", "tool_name": "get_weather"},
    ]
    response = client.chat(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert response.message.content == "The tool returned: 18 degrees, sunny"
    assert response.message.tool_calls is None


def test_format_schema_gives_json_that_satisfies_it(client: ollama.Client) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 0},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
        "required": ["name", "age", "tags"],
        "additionalProperties": False,
    }
    response = client.chat(model=MODEL, messages=HELLO, format=schema)
    jsonschema.validate(json.loads(response.message.content or ""), schema)
    streamed = client.generate(model=MODEL, prompt="a person", format=schema, stream=True)
    jsonschema.validate(json.loads("".join(p.response or "" for p in streamed)), schema)
    plain = client.chat(model=MODEL, messages=HELLO, format="json")
    assert isinstance(json.loads(plain.message.content or ""), dict)


def test_num_predict_truncates_with_done_reason_length(client: ollama.Client) -> None:
    response = client.chat(model=MODEL, messages=HELLO, options={"num_predict": 2})
    assert response.message.content == "You said"
    assert response.done_reason == "length"
    assert response.eval_count == 2
    parts = list(client.generate(model=MODEL, prompt="hi", options={"num_predict": 1}, stream=True))
    assert "".join(p.response or "" for p in parts) == "You"
    assert parts[-1].done_reason == "length"


def test_stop_sequences_cut_the_text(client: ollama.Client) -> None:
    response = client.chat(model=MODEL, messages=HELLO, options={"stop": [":"], "seed": 1})
    assert response.message.content == "You said"
    assert response.done_reason == "stop"


def test_think_adds_a_thinking_text(client: ollama.Client) -> None:
    response = client.chat(model="qwen3:8b", messages=HELLO, think=True)
    assert response.message.thinking
    assert "hello there" in response.message.thinking
    assert response.message.content == "You said: hello there"
    parts = list(client.chat(model="qwen3:8b", messages=HELLO, think=True, stream=True))
    thinking = "".join(p.message.thinking or "" for p in parts)
    assert thinking == response.message.thinking
    first_content = next(i for i, p in enumerate(parts) if p.message.content)
    assert all(not p.message.thinking for p in parts[first_content:])
    assert client.chat(model="qwen3:8b", messages=HELLO).message.thinking is None
    generated = client.generate(model="qwen3:8b", prompt="hi", think=True)
    assert generated.thinking
    assert generated.response == "You said: hi"


def test_scripted_reasoning_is_sent_only_when_thinking(
    emulator: Emulator, client: ollama.Client
) -> None:
    emulator.script(Reply("4", reasoning="2 + 2 = 4"), Reply("4", reasoning="2 + 2 = 4"))
    thought = client.chat(model=MODEL, messages=HELLO, think=True)
    assert (thought.message.thinking, thought.message.content) == ("2 + 2 = 4", "4")
    plain = client.chat(model=MODEL, messages=HELLO)
    assert (plain.message.thinking, plain.message.content) == (None, "4")


def test_generate_answers_with_response(client: ollama.Client, http: httpx.Client) -> None:
    response = client.generate(model=MODEL, prompt="hi there", system="Be brief.")
    assert response.response == "You said: hi there"
    assert response.done_reason == "stop"
    assert response.prompt_eval_count
    assert response.eval_count
    parts = list(client.generate(model=MODEL, prompt="hi there", stream=True))
    assert "".join(p.response or "" for p in parts) == "You said: hi there"
    assert parts[-1].done
    assert parts[-1].response == ""
    assert parts[-1].total_duration
    body = http.post("/api/generate", json={"model": MODEL, "prompt": "x", "stream": False})
    assert "message" not in body.json()
    assert body.json()["response"] == "You said: x"


def test_empty_requests_load_or_unload_the_model(client: ollama.Client) -> None:
    assert client.generate(model=MODEL).done_reason == "load"
    assert client.generate(model=MODEL, keep_alive=0).done_reason == "unload"
    loaded = client.chat(model=MODEL, messages=[])
    assert loaded.done_reason == "load"
    assert loaded.message.content == ""


def test_embed_uses_the_shared_deterministic_vectors(client: ollama.Client) -> None:
    one = client.embed(model="nomic-embed-text", input="the cat sat")
    assert len(one.embeddings) == 1
    assert len(one.embeddings[0]) == 768
    assert one.embeddings[0] == pytest.approx(list(embed_text("the cat sat", 768)))
    many = client.embed(model="nomic-embed-text", input=["the cat sat", "a dog ran"])
    assert many.embeddings[0] == one.embeddings[0]
    assert len(many.embeddings) == 2
    assert many.model == "nomic-embed-text"
    assert many.prompt_eval_count == 6
    assert many.total_duration
    assert many.load_duration
    sized = client.embed(model="nomic-embed-text", input="cat", dimensions=64)
    assert len(sized.embeddings[0]) == 64
    assert len(client.embed(model=MODEL, input="cat").embeddings[0]) == 3072
    assert client.embed(model="nomic-embed-text", input=[]).embeddings == []
    legacy = client.embeddings(model="nomic-embed-text", prompt="the cat sat")
    assert list(legacy.embedding) == pytest.approx(one.embeddings[0])


def test_embed_without_truncation_rejects_overlong_input(emulator: Emulator) -> None:
    emulator.ollama_models.add("tiny-embed", context_length=4, capabilities=("embedding",))
    with ollama.Client(host=emulator.ollama_url) as sdk:
        assert sdk.embed(model="tiny-embed", input="one two three four five six")
        with pytest.raises(ollama.ResponseError) as caught:
            sdk.embed(model="tiny-embed", input="one two three four five six", truncate=False)
    assert caught.value.status_code == 400


def test_scripted_replies_and_tool_calls(emulator: Emulator, client: ollama.Client) -> None:
    emulator.script(Reply("Paris"), model=MODEL)
    emulator.script(Reply(tool_calls=[ToolCall("get_weather", {"city": "Rome"}, id="call_1")]))
    assert client.chat(model="qwen3:8b", messages=HELLO).message.tool_calls is not None
    assert client.chat(model=MODEL, messages=HELLO).message.content == "Paris"
    emulator.script(Reply(tool_calls=[ToolCall("get_weather", {"city": "Rome"})]))
    parts = list(client.chat(model=MODEL, messages=HELLO, stream=True))
    (call,) = [c for p in parts for c in p.message.tool_calls or ()]
    assert call.function.arguments == {"city": "Rome"}


def test_raw_scripted_replies_are_sent_as_is(emulator: Emulator, http: httpx.Client) -> None:
    recorded = '{"model":"x","created_at":"2024-01-01T00:00:00Z","response":"hi","done":true}\n'
    emulator.script(Reply.raw(recorded, "application/x-ndjson"))
    response = http.post("/api/generate", json={"model": MODEL, "prompt": "hi"})
    assert response.text == recorded
    emulator.script(Reply.raw('{"embeddings": [[1.0]]}'))
    embedded = http.post("/api/embed", json={"model": MODEL, "input": "x"})
    assert embedded.json() == {"embeddings": [[1.0]]}


def test_requests_are_recorded(emulator: Emulator, client: ollama.Client) -> None:
    picture = [{"role": "user", "content": "describe", "images": [b"\x89PNG"]}]
    assert client.chat(model=MODEL, messages=picture).message.content == "You said: describe"
    assert emulator.requests[-1].json["messages"][0]["images"] == ["iVBORw=="]
    client.chat(model=MODEL, messages=HELLO, options={"temperature": 0.2}, keep_alive="5m")
    recorded = emulator.last_request
    assert recorded is not None
    assert recorded.method == "POST"
    assert recorded.path == "/api/chat"
    assert recorded.json["options"] == {"temperature": 0.2}
    assert recorded.json["keep_alive"] == "5m"
    assert recorded.json["stream"] is False
    assert recorded.headers["user-agent"].startswith("ollama-python/")


def test_parse_chat_request_is_protocol_neutral() -> None:
    body = {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "hi", "images": ["aGk="]},
            {"role": "tool", "content": "42", "tool_name": "calc"},
        ],
        "tools": [WEATHER_TOOL],
        "format": {"type": "object"},
        "options": {"num_predict": 7, "stop": "END", "num_ctx": 4096},
    }
    chat = parse_ollama_chat_request(body)
    assert [m.role for m in chat.messages] == ["system", "user", "tool"]
    assert chat.messages[2].name == "calc"
    assert chat.messages[1].text == "hi"
    assert [t.name for t in chat.tools] == ["get_weather"]
    assert chat.response_format == "json_schema"
    assert chat.response_schema == {"type": "object"}
    assert chat.max_tokens == 7
    assert list(chat.stop) == ["END"]
    assert chat.stream is True
    generate = parse_ollama_generate_request({"model": MODEL, "prompt": "p", "system": "s"})
    assert [(m.role, m.text) for m in generate.messages] == [("system", "s"), ("user", "p")]
    assert parse_ollama_generate_request({"model": MODEL, "format": "json"}).response_format == (
        "json_object"
    )


async def test_async_client_chats_and_streams(async_client: ollama.AsyncClient) -> None:
    response = await async_client.chat(model=MODEL, messages=HELLO)
    assert response.message.content == "You said: hello there"
    stream = await async_client.chat(model=MODEL, messages=HELLO, stream=True)
    parts = [part async for part in stream]
    assert "".join(p.message.content or "" for p in parts) == "You said: hello there"
    assert parts[-1].done
    embedded = await async_client.embed(model="nomic-embed-text", input=["a", "b"])
    assert len(embedded.embeddings) == 2


def test_openai_still_works_on_the_same_emulator(emulator: Emulator, client: ollama.Client) -> None:
    with openai.OpenAI(base_url=emulator.openai_base_url, api_key="sk-test") as oai:
        completion = oai.chat.completions.create(model="gpt-4o", messages=HELLO)  # type: ignore[arg-type]
    assert completion.choices[0].message.content == "You said: hello there"
    assert client.chat(model=MODEL, messages=HELLO).message.content == "You said: hello there"
    assert [r.path for r in emulator.requests] == ["/v1/chat/completions", "/api/chat"]
