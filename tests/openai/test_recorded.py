"""Every OpenAI and OpenRouter recording, served verbatim by the emulator, through polyvox."""

from __future__ import annotations

import json

import openai
import pytest
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelRateLimitError,
)
from langchain_core.messages import AIMessage, AIMessageChunk

from polyvox.openai import ChatOpenAI, ChatOpenRouter, OpenAIEmbeddings, OpenAINotFoundError
from polyvox.testing import Emulator
from tests.conftest import recorded_names
from tests.openai.conftest import replay


def _stream(model: ChatOpenAI) -> AIMessageChunk:
    total: AIMessageChunk | None = None
    for chunk in model.stream("hi"):
        total = chunk if total is None else total + chunk
    assert total is not None
    return total


def test_every_recording_is_covered() -> None:
    names = set(recorded_names("openai__") + recorded_names("openrouter__"))
    covered = {
        "openai__chat_basic",
        "openai__chat_reasoning_tokens",
        "openai__chat_structured_json_schema",
        "openai__embeddings",
        "openai__embeddings_error_404",
        "openai__error_400_unsupported_role",
        "openai__stream_text_usage",
        "openai__stream_tool_call",
        "openai__tool_call",
        "openai__tool_result_followup",
        "openrouter__chat_cached_reasoning_usage",
        "openrouter__chat_reasoning_details",
        "openrouter__error_429_rate_limited",
        "openrouter__stream_error_midstream",
        "openrouter__stream_reasoning",
        "openrouter__tool_call",
        "openrouter__tool_call_nested_args",
        "openrouter__web_search_annotations",
    }
    assert names == covered


def test_chat_basic(emulator: Emulator, chat: ChatOpenAI) -> None:
    replay(emulator, "openai__chat_basic")
    msg = chat.invoke("What is the capital of France?")
    assert isinstance(msg, AIMessage)
    assert msg.content == "The capital of France is Paris."
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["input_tokens"] == 14
    assert msg.usage_metadata["output_tokens"] == 7
    assert msg.usage_metadata["total_tokens"] == 21
    assert msg.usage_metadata["input_token_details"]["cache_read"] == 0
    assert msg.usage_metadata["output_token_details"]["reasoning"] == 0
    meta = msg.response_metadata
    assert meta["model_name"] == "gpt-4o-2024-08-06"
    assert meta["model_provider"] == "openai"
    assert meta["finish_reason"] == "stop"
    assert meta["blocked"] is False
    assert meta["system_fingerprint"] == "fp_a288987b44"
    assert msg.id == "chatcmpl-Bu8vBIrB8kIWKRyTcpEEPncjhHtMU"


def test_chat_reasoning_tokens(emulator: Emulator, chat: ChatOpenAI) -> None:
    replay(emulator, "openai__chat_reasoning_tokens")
    msg = chat.invoke("What is the capital of Mexico?")
    assert str(msg.content).startswith("The capital of Mexico is Mexico City.")
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["output_tokens"] == 238
    assert msg.usage_metadata["output_token_details"]["reasoning"] == 192
    assert msg.usage_metadata["total_tokens"] == 251


def test_structured_json_schema(emulator: Emulator, chat: ChatOpenAI) -> None:
    replay(emulator, "openai__chat_structured_json_schema")
    schema = {
        "title": "CityLocation",
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
    }
    result = chat.with_structured_output(schema).invoke("largest city?")
    assert result == {"city": "Mexico City", "country": "Mexico"}
    sent = emulator.requests[-1].json
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["name"] == "CityLocation"


@pytest.mark.parametrize(
    ("name", "tool", "args"),
    [
        ("openai__tool_call", "get_temperature", {"city": "Tokyo"}),
        (
            "openrouter__tool_call",
            "divide",
            {"numerator": 123, "denominator": 456, "on_inf": "infinity"},
        ),
    ],
)
def test_tool_call(
    emulator: Emulator, chat: ChatOpenAI, name: str, tool: str, args: dict[str, object]
) -> None:
    rec = replay(emulator, name)
    msg = chat.invoke("call it")
    body = json.loads(rec["response"]["body"])
    assert msg.content == ""
    assert len(msg.tool_calls) == 1
    call = msg.tool_calls[0]
    assert call["name"] == tool
    assert call["args"] == args
    assert call["id"] == body["choices"][0]["message"]["tool_calls"][0]["id"]
    assert msg.response_metadata["finish_reason"] == "tool_calls"
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["total_tokens"] == body["usage"]["total_tokens"]


def test_tool_call_nested_args(emulator: Emulator, router_chat: ChatOpenRouter) -> None:
    replay(emulator, "openrouter__tool_call_nested_args")
    msg = router_chat.invoke("insert a level")
    args = msg.tool_calls[0]["args"]
    assert msg.tool_calls[0]["name"] == "insert_level_with_spaces"
    assert args["level"] == {"level_type": "ground", "level_name": "ground_floor"}
    assert [s["space_name"] for s in args["spaces"]] == ["entryway", "living_room", "garage"]
    assert msg.response_metadata["model_provider"] == "openrouter"
    assert msg.response_metadata["upstream_provider"] == "Google AI Studio"
    assert msg.response_metadata["native_finish_reason"] == "STOP"


def test_tool_result_followup(emulator: Emulator, chat: ChatOpenAI) -> None:
    replay(emulator, "openai__tool_result_followup")
    msg = chat.invoke("temperature?")
    assert msg.content == "The temperature in Tokyo is currently 20.0 degrees Celsius."
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["input_tokens"] == 75


def test_stream_text_usage(emulator: Emulator, chat: ChatOpenAI) -> None:
    rec = replay(emulator, "openai__stream_text_usage")
    chunks = list(chat.stream("capital of the UK?"))
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    expected = "".join(
        (json.loads(line[6:])["choices"] or [{}])[0].get("delta", {}).get("content") or ""
        for line in rec["response"]["body"].splitlines()
        if line.startswith("data: {")
    )
    assert total.content == expected
    assert "London" in str(total.content)
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert total.usage_metadata is not None
    assert total.usage_metadata["total_tokens"] > 0
    assert total.response_metadata["finish_reason"] == "stop"
    assert total.response_metadata["model_name"] == "gpt-4o-mini-2024-07-18"
    assert emulator.requests[-1].json["stream_options"] == {"include_usage": True}


def test_stream_tool_call(emulator: Emulator, chat: ChatOpenAI) -> None:
    replay(emulator, "openai__stream_tool_call")
    total = _stream(chat)
    assert total.tool_calls == [
        {
            "name": "get_capital",
            "args": {"country": "UK"},
            "id": "call_ZR5UUuTt3pf61kjwAJIYdVMj",
            "type": "tool_call",
        }
    ]
    assert total.response_metadata["finish_reason"] == "tool_calls"
    assert total.usage_metadata is not None


async def test_stream_tool_call_async(emulator: Emulator, chat: ChatOpenAI) -> None:
    replay(emulator, "openai__stream_tool_call")
    total: AIMessageChunk | None = None
    async for chunk in chat.astream("hi"):
        total = chunk if total is None else total + chunk
    assert total is not None
    assert total.tool_calls[0]["args"] == {"country": "UK"}


def test_openrouter_cached_reasoning_usage(emulator: Emulator, router_chat: ChatOpenRouter) -> None:
    replay(emulator, "openrouter__chat_cached_reasoning_usage")
    msg = router_chat.invoke("who are you?")
    assert str(msg.content).startswith("I'm Grok")
    usage = msg.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] == 687
    assert usage["input_token_details"]["cache_read"] == 682
    assert usage["output_token_details"]["reasoning"] == 165
    assert msg.response_metadata["upstream_provider"] == "xAI"


def test_openrouter_reasoning_details(emulator: Emulator, router_chat: ChatOpenRouter) -> None:
    replay(emulator, "openrouter__chat_reasoning_details")
    msg = router_chat.invoke("say ok")
    assert msg.content == "ok"
    assert msg.additional_kwargs["reasoning_content"].startswith("The user is asking me")
    assert msg.additional_kwargs["reasoning_details"][0]["format"] == "anthropic-claude-v1"


def test_openrouter_stream_reasoning_skips_keepalive_comments(
    emulator: Emulator, router_chat: ChatOpenRouter
) -> None:
    replay(emulator, "openrouter__stream_reasoning")
    total = _stream(router_chat)
    assert total.content
    assert total.additional_kwargs.get("reasoning_content")
    assert total.usage_metadata is not None
    assert total.response_metadata["finish_reason"] == "stop"
    assert total.response_metadata["model_provider"] == "openrouter"


def test_openrouter_web_search_annotations(emulator: Emulator, router_chat: ChatOpenRouter) -> None:
    replay(emulator, "openrouter__web_search_annotations")
    msg = router_chat.invoke("search")
    annotations = msg.additional_kwargs["annotations"]
    assert annotations[0]["type"] == "url_citation"
    assert annotations[0]["url_citation"]["url"] == "https://github.com/pydantic/pydantic-ai"


def test_openrouter_midstream_error_raises(emulator: Emulator, router_chat: ChatOpenRouter) -> None:
    replay(emulator, "openrouter__stream_error_midstream")
    seen: list[AIMessageChunk] = []
    with pytest.raises(openai.APIError) as info:  # noqa: PT012
        for chunk in router_chat.stream("hi"):
            seen.append(chunk)
    assert "Token limit reached" in str(info.value)
    assert isinstance(info.value, ContextOverflowError)
    assert seen, "the chunks before the error are still delivered"


def test_openrouter_429(emulator: Emulator, router_chat: ChatOpenRouter) -> None:
    replay(emulator, "openrouter__error_429_rate_limited")
    with pytest.raises(ModelRateLimitError) as info:
        router_chat.invoke("hi")
    assert isinstance(info.value, openai.RateLimitError)
    assert info.value.provider == "openrouter"
    assert "rate-limited upstream" in json.dumps(info.value.body)


def test_error_400_unsupported_role(emulator: Emulator, chat: ChatOpenAI) -> None:
    replay(emulator, "openai__error_400_unsupported_role")
    with pytest.raises(ModelInvalidRequestError) as info:
        chat.invoke("hi")
    assert isinstance(info.value, openai.APIStatusError)
    assert info.value.status_code == 400
    assert "developer" in str(info.value)


def test_embeddings_base64(emulator: Emulator, embeddings: OpenAIEmbeddings) -> None:
    replay(emulator, "openai__embeddings")
    vector = embeddings.embed_query("Hello, world!")
    assert len(vector) == 1536
    assert all(isinstance(x, float) for x in vector[:5])
    assert abs(sum(x * x for x in vector) - 1.0) < 1e-3  # OpenAI vectors are unit length


def test_embeddings_404(emulator: Emulator, embeddings: OpenAIEmbeddings) -> None:
    replay(emulator, "openai__embeddings_error_404")
    with pytest.raises(ModelNotFoundError) as info:
        embeddings.embed_query("Hello, world!")
    assert isinstance(info.value, OpenAINotFoundError)
    assert "nonexistent" in str(info.value)
