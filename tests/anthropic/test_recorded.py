"""Every parser against Anthropic's genuine responses (``shared/fixtures/recorded``).

Each recording is replayed byte for byte by the emulator to ``ChatAnthropic`` through the
real SDK (invoke or stream, as it was recorded), with exact assertions on what polyvox
reads from it; the parsers are also fed the same bodies with fields missing or ``null``.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest
from langchain_core.exceptions import ModelNotFoundError
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from polyvox.anthropic import AnthropicNotFoundError, ChatAnthropic
from polyvox.anthropic.responses import message_from_anthropic, usage_from_anthropic
from polyvox.testing import Emulator
from tests.anthropic.conftest import replay
from tests.conftest import recorded, recorded_names


def _streamed(model: ChatAnthropic, prompt: str) -> AIMessageChunk:
    full: AIMessageChunk | None = None
    for chunk in model.stream(prompt):
        full = chunk if full is None else full + chunk
    assert full is not None
    return full


def test_every_anthropic_recording_is_covered() -> None:
    names = set(recorded_names("anthropic__"))
    assert names == {
        "anthropic__chat_basic", "anthropic__chat_cache_read_usage", "anthropic__count_tokens",
        "anthropic__error_404_not_found", "anthropic__parallel_tool_use",
        "anthropic__stream_text", "anthropic__stream_thinking", "anthropic__stream_tool_use",
        "anthropic__thinking_then_tool_use", "anthropic__tool_use",
    }  # fmt: skip


def test_chat_basic(chat: ChatAnthropic, emulator: Emulator) -> None:
    replay(emulator, "anthropic__chat_basic")
    answer = chat.invoke("hello")
    assert answer.content == (
        "Hi there! How are you doing today? Is there anything I can help you with?"
    )
    assert answer.id == "msg_01PDYHzNnqSLAXuK8NNtC5MA"
    assert answer.usage_metadata == {
        "input_tokens": 8,
        "output_tokens": 21,
        "total_tokens": 29,
        "input_token_details": {
            "cache_read": 0, "cache_creation": 0,
            "ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0,
        },
    }  # fmt: skip
    meta = answer.response_metadata
    assert meta["model_name"] == "claude-haiku-4-5-20251001"
    assert meta["model_provider"] == "anthropic"
    assert (meta["finish_reason"], meta["stop_reason"], meta["blocked"]) == (
        "end_turn", "end_turn", False,
    )  # fmt: skip
    assert meta["stop_sequence"] is None


def test_cache_read_usage(chat: ChatAnthropic, emulator: Emulator) -> None:
    replay(emulator, "anthropic__chat_cache_read_usage")
    usage = chat.invoke("explain Python").usage_metadata
    assert usage is not None
    # 3 uncached + 1111 read + 418 written (5-minute cache) = 1532 prompt tokens
    assert usage["input_tokens"] == 1532
    assert usage["output_tokens"] == 33
    assert usage["input_token_details"] == {
        "cache_read": 1111, "cache_creation": 0,
        "ephemeral_5m_input_tokens": 418, "ephemeral_1h_input_tokens": 0,
    }  # fmt: skip


def test_tool_use_with_empty_input(chat: ChatAnthropic, emulator: Emulator) -> None:
    replay(emulator, "anthropic__tool_use")
    answer = chat.invoke("What is the largest city in the user country?")
    assert answer.tool_calls == [
        {"name": "get_user_country", "args": {}, "id": "toolu_01X9wcHKKAZD9tBC711xipPa",
         "type": "tool_call"}
    ]  # fmt: skip
    assert answer.content == [
        {"id": "toolu_01X9wcHKKAZD9tBC711xipPa", "input": {}, "name": "get_user_country",
         "type": "tool_use"}
    ]  # fmt: skip
    assert answer.response_metadata["finish_reason"] == "tool_use"
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["input_tokens"] == 445


def test_parallel_tool_use(chat: ChatAnthropic, emulator: Emulator) -> None:
    replay(emulator, "anthropic__parallel_tool_use")
    answer = chat.invoke("Who is the youngest?")
    assert [(c["name"], c["args"], c["id"]) for c in answer.tool_calls] == [
        ("retrieve_entity_info", {"name": "Alice"}, "toolu_0167cfEnoQaPviGdVXA95zcu"),
        ("retrieve_entity_info", {"name": "Bob"}, "toolu_01EEe2V5HD1Ac4rKiUR4HD2T"),
        ("retrieve_entity_info", {"name": "Charlie"}, "toolu_01XFyAjstT3966qvRynZyVPo"),
        ("retrieve_entity_info", {"name": "Daisy"}, "toolu_013mnQZbgtK2oe3Mo3XKJsx3"),
    ]
    assert isinstance(answer.content, list)
    assert answer.content[0]["type"] == "text"
    assert answer.text.startswith("I'll help you find out who is the youngest")


def test_thinking_then_tool_use_keeps_the_signature(
    chat: ChatAnthropic, emulator: Emulator
) -> None:
    rec = replay(emulator, "anthropic__thinking_then_tool_use")
    answer = chat.invoke("What is the largest city in the user country?")
    expected = json.loads(rec["response"]["body"])["content"]
    assert answer.content == expected  # thinking (with its signature), text, tool_use
    assert answer.additional_kwargs["reasoning_content"] == expected[0]["thinking"]
    assert answer.tool_calls[0]["name"] == "get_user_country"
    # the next turn of the tool loop sends the thinking block back, signature and all
    from polyvox.anthropic.messages import to_anthropic_messages

    _, turns = to_anthropic_messages([HumanMessage("q"), answer])
    assert turns[1]["content"][0] == {
        "type": "thinking",
        "thinking": expected[0]["thinking"],
        "signature": expected[0]["signature"],
    }


def test_stream_text_counts_usage_once(chat: ChatAnthropic, emulator: Emulator) -> None:
    replay(emulator, "anthropic__stream_text")
    full = _streamed(chat, "What is 1+1?")
    assert full.content == "2"
    # message_start says 20 in / 1 out, message_delta 20 in / 5 out: totals, not summands
    assert full.usage_metadata is not None
    assert (full.usage_metadata["input_tokens"], full.usage_metadata["output_tokens"]) == (20, 5)
    assert full.response_metadata["finish_reason"] == "end_turn"
    assert full.response_metadata["model_name"] == "claude-sonnet-4-5-20250929"
    assert full.id == "msg_018E1hg8GoVTGEKQY3ovMcSJ"


def test_stream_thinking(emulator: Emulator) -> None:
    rec = replay(emulator, "anthropic__stream_thinking")
    model = ChatAnthropic(
        model="claude-sonnet-4-0",
        api_key="k",
        base_url=emulator.url,
        max_retries=0,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    full = _streamed(model, "How do I cross the street?")
    body = rec["response"]["body"]
    events = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]
    thinking = "".join(
        e["delta"].get("thinking", "") for e in events if e["type"] == "content_block_delta"
    )
    signature = "".join(
        e["delta"].get("signature", "") for e in events if e["type"] == "content_block_delta"
    )
    text = "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")
    assert isinstance(full.content, list)
    block = full.content[0]
    assert isinstance(block, dict)
    assert (block["type"], block["thinking"], block["signature"]) == (
        "thinking", thinking, signature,
    )  # fmt: skip
    assert full.additional_kwargs["reasoning_content"] == thinking
    assert full.text == text
    from polyvox.anthropic.messages import to_anthropic_messages

    sent = to_anthropic_messages([HumanMessage("q"), AIMessage(full.content)])[1][1]["content"]
    assert sent[0] == {"type": "thinking", "thinking": thinking, "signature": signature}


def test_stream_tool_use(chat: ChatAnthropic, emulator: Emulator) -> None:
    replay(emulator, "anthropic__stream_tool_use")
    full = _streamed(chat, "What is the current USD to EUR exchange rate?")
    assert full.response_metadata["finish_reason"] == "tool_use"
    calls = [(c["name"], c["args"]) for c in full.tool_calls]
    assert calls == [("get_exchange_rate", {"from_currency": "USD", "to_currency": "EUR"})]
    server = [b for b in full.content if isinstance(b, dict) and b["type"] == "server_tool_use"]
    assert server[0]["partial_json"] == '{"query": "USD EUR exchange rate currency conversion"}'
    assert full.usage_metadata is not None
    assert full.usage_metadata["input_tokens"] >= 702


def test_count_tokens(chat: ChatAnthropic, emulator: Emulator) -> None:
    replay(emulator, "anthropic__count_tokens")
    assert chat.get_num_tokens_from_messages([HumanMessage("What is 2 + 2?")]) == 16
    assert emulator.requests[-1].path == "/v1/messages/count_tokens"


def test_error_404(chat: ChatAnthropic, emulator: Emulator) -> None:
    replay(emulator, "anthropic__error_404_not_found")
    with pytest.raises(AnthropicNotFoundError) as caught:
        chat.get_num_tokens_from_messages([HumanMessage("hello")])
    error = caught.value
    assert isinstance(error, anthropic.NotFoundError)
    assert isinstance(error, ModelNotFoundError)
    assert error.status_code == 404
    assert "model: claude-does-not-exist" in str(error)
    assert error.body["error"]["type"] == "not_found_error"


# ---- missing and null fields ----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["anthropic__chat_basic", "anthropic__parallel_tool_use", "anthropic__thinking_then_tool_use",
     "anthropic__tool_use", "anthropic__chat_cache_read_usage"],
)  # fmt: skip
@pytest.mark.parametrize("drop", ["content", "usage", "stop_reason", "model", "id"])
@pytest.mark.parametrize("how", ["missing", "null"])
def test_missing_or_null_fields_are_read_as_absent(name: str, drop: str, how: str) -> None:
    data: dict[str, Any] = json.loads(recorded(name)["response"]["body"])
    if how == "missing":
        del data[drop]
    else:
        data[drop] = None
    message = message_from_anthropic(data, model="claude-asked")
    assert message.response_metadata["model_provider"] == "anthropic"
    if drop == "model":
        assert message.response_metadata["model_name"] == "claude-asked"
    if drop == "usage":
        assert message.usage_metadata is None
    if drop == "content":
        assert message.content == ""
        assert message.tool_calls == []


@pytest.mark.parametrize(
    "usage",
    [
        {},
        {"input_tokens": None, "output_tokens": None},
        {"input_tokens": 5, "cache_creation": None, "cache_read_input_tokens": None},
        {
            "input_tokens": 5,
            "output_tokens": 2,
            "cache_creation": {"ephemeral_5m_input_tokens": None},
        },
    ],
)
def test_usage_with_missing_or_null_counts(usage: dict[str, Any]) -> None:
    result = usage_from_anthropic(usage)
    assert result is not None
    assert result["total_tokens"] == result["input_tokens"] + result["output_tokens"]


def test_blocks_with_missing_fields() -> None:
    data = {
        "content": [
            {"type": "tool_use", "name": "f"},  # no id, no input
            {"type": "text"},  # no text
            {"no": "type"},
            None,
        ],
        "stop_reason": "tool_use",
    }
    message = message_from_anthropic(data, model="m")
    assert message.tool_calls == [{"name": "f", "args": {}, "id": None, "type": "tool_call"}]


def test_refusal_is_blocked() -> None:
    data = {"content": [{"type": "text", "text": "I can't help."}], "stop_reason": "refusal"}
    meta = message_from_anthropic(data, model="m").response_metadata
    assert (meta["finish_reason"], meta["blocked"]) == ("refusal", True)
