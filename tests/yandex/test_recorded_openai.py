"""Yandex's OpenAI-compatible endpoint (``https://llm.api.cloud.yandex.net/v1``), recorded.

Seven of the Yandex recordings are of that endpoint, not of the foundation-models API:
chat completions (YandexGPT and Qwen3 served by AI Studio) and embeddings. polyvox reaches
it with ``polyvox.openai``'s ``ChatOpenAI`` / ``OpenAIEmbeddings`` and ``base_url`` (the
model is a ``gpt://`` / ``emb://`` URI); each recording is replayed byte for byte by the
emulator and read with exact assertions. The gRPC recordings are in ``test_chat.py``.
"""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessageChunk

from polyvox.openai import ChatOpenAI, OpenAIEmbeddings
from polyvox.testing import Emulator
from tests.conftest import recorded, recorded_names
from tests.openai.conftest import replay

GRPC = {"yandex__grpc_completion", "yandex__grpc_stream_partial", "yandex__grpc_tool_call"}
OPENAI_FORMAT = {
    "yandex__chat_basic",
    "yandex__embeddings",
    "yandex__stream_text",
    "yandex__stream_tool_call_qwen",
    "yandex__stream_tool_call_yandexgpt",
    "yandex__structured_json_schema",
    "yandex__tool_call",
}


@pytest.fixture
def chat(emulator: Emulator) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt://b1gfolder/yandexgpt/latest",
        api_key="AQVNtest",
        base_url=emulator.openai_base_url,
        max_retries=0,
    )


def _stream(chat: ChatOpenAI) -> AIMessageChunk:
    total: AIMessageChunk | None = None
    for chunk in chat.stream("hi"):
        total = chunk if total is None else total + chunk
    assert total is not None
    return total


def test_every_recording_is_covered() -> None:
    assert set(recorded_names("yandex__")) == GRPC | OPENAI_FORMAT


def test_chat_basic(emulator: Emulator, chat: ChatOpenAI) -> None:
    replay(emulator, "yandex__chat_basic")
    message = chat.invoke("hi")
    assert message.content == "Hello! How can I assist you today? 😊"
    assert message.id == "chatcmpl-b4a9afec-3827-4f7d-92f4-0bacd94a541a"
    assert message.usage_metadata == {"input_tokens": 9, "output_tokens": 12, "total_tokens": 21}
    meta = message.response_metadata
    assert (meta["model_name"], meta["finish_reason"], meta["blocked"]) == (
        "gpt://qwen3-235b-a22b-fp8/latest", "stop", False,
    )  # fmt: skip
    assert emulator.requests[-1].json["model"] == "gpt://b1gfolder/yandexgpt/latest"


def test_tool_call_id_is_the_function_name(emulator: Emulator, chat: ChatOpenAI) -> None:
    replay(emulator, "yandex__tool_call")
    message = chat.invoke("do a SOMETHING")
    assert message.content == ""
    assert message.tool_calls == [
        {"name": "something", "args": {"numbers": [5, 4, 1]}, "id": "something",
         "type": "tool_call"}
    ]  # fmt: skip
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert message.usage_metadata == {"input_tokens": 100, "output_tokens": 14, "total_tokens": 114}


def test_structured_json_schema(emulator: Emulator, chat: ChatOpenAI) -> None:
    replay(emulator, "yandex__structured_json_schema")
    schema = {"title": "Numbers", "type": "object",
              "properties": {"numbers": {"type": "array", "items": {"type": "integer"}}},
              "required": ["numbers"]}  # fmt: skip
    parsed = chat.with_structured_output(schema, method="json_schema").invoke("5, 4, 1")
    assert parsed == {"numbers": [5, 4, 1]}
    assert emulator.requests[-1].json["response_format"]["type"] == "json_schema"


def test_stream_text(emulator: Emulator, chat: ChatOpenAI) -> None:
    rec = replay(emulator, "yandex__stream_text")
    total = _stream(chat)
    frames = [
        json.loads(line[6:])
        for line in rec["response"]["body"].splitlines()
        if line.startswith("data: {")
    ]
    deltas = [f["choices"][0]["delta"].get("content") or "" for f in frames if f["choices"]]
    assert total.content == "".join(deltas)
    assert str(total.content).startswith("Hello! Of course! Platypuses are one of the most")
    assert len(str(total.content)) == 3025
    assert total.usage_metadata == {"input_tokens": 20, "output_tokens": 741, "total_tokens": 761}
    assert total.response_metadata["finish_reason"] == "stop"


def test_stream_tool_call_in_argument_deltas(emulator: Emulator, chat: ChatOpenAI) -> None:
    replay(emulator, "yandex__stream_tool_call_qwen")
    total = _stream(chat)
    assert total.tool_calls == [
        {"name": "calculator", "args": {"expression": "7@8"},
         "id": "chatcmpl-tool-ac80b103abf04365affb7135287855a6", "type": "tool_call"}
    ]  # fmt: skip
    assert total.usage_metadata == {"input_tokens": 190, "output_tokens": 21, "total_tokens": 211}
    assert total.response_metadata["finish_reason"] == "tool_calls"


def test_stream_tool_call_in_one_chunk(emulator: Emulator, chat: ChatOpenAI) -> None:
    """YandexGPT sends the whole call in one chunk, with no usage chunk at all."""
    replay(emulator, "yandex__stream_tool_call_yandexgpt")
    total = _stream(chat)
    assert total.tool_calls == [
        {"name": "calculator", "args": {"expression": "7@8"}, "id": "calculator",
         "type": "tool_call"}
    ]  # fmt: skip
    assert total.usage_metadata is None
    assert total.response_metadata["finish_reason"] == "tool_calls"
    assert total.response_metadata["model_name"] == "gpt://REDACTED/yandexgpt/rc"


def test_embeddings(emulator: Emulator) -> None:
    rec = replay(emulator, "yandex__embeddings")
    expected = json.loads(rec["response"]["body"])["data"][0]["embedding"]
    embeddings = OpenAIEmbeddings(
        model="emb://b1gfolder/text-search-doc/latest",
        api_key="AQVNtest",
        base_url=emulator.openai_base_url,
        encoding_format="float",
        max_retries=0,
    )
    vectors = embeddings.embed_documents(["hello"])
    assert len(vectors) == 1
    assert len(vectors[0]) == 256
    assert vectors[0] == expected
    assert vectors[0][:2] == [0.0469970703125, 0.017974853515625]
    assert emulator.requests[-1].json == {
        "model": "emb://b1gfolder/text-search-doc/latest", "input": ["hello"],
        "encoding_format": "float",
    }  # fmt: skip


def test_recordings_are_of_the_openai_endpoint() -> None:
    for name in OPENAI_FORMAT:
        rec = recorded(name)
        assert rec["request"]["path"].startswith("/v1/")
        assert rec["request"]["host"] == "llm.api.cloud.yandex.net"
