"""The Hugging Face parsers against genuine router responses (``shared/fixtures/recorded``).

Each recording is replayed byte for byte by the emulator's router; the official SDK reads it
and ``ChatHuggingFace`` turns it into LangChain messages.
"""

from __future__ import annotations

import pytest

from polyvox.huggingface import ChatHuggingFace
from polyvox.testing import Emulator
from tests.conftest import recorded_names
from tests.openai.conftest import replay


def _chat(emulator: Emulator, model: str, provider: str = "auto") -> ChatHuggingFace:
    base = f"{emulator.url}/huggingface/router/v1"
    return ChatHuggingFace(
        model=model, provider=provider, api_key="hf_test", base_url=base, max_retries=0
    )


def test_every_recording_is_covered() -> None:
    assert recorded_names("huggingface__") == [
        "huggingface__chat_image_url_nebius",
        "huggingface__chat_r1_think_tags",
        "huggingface__stream_text",
        "huggingface__tool_call_llama4",
        "huggingface__tool_call_required",
    ]


def test_image_url_with_null_fields(emulator: Emulator) -> None:
    replay(emulator, "huggingface__chat_image_url_nebius")
    message = _chat(emulator, "Qwen/Qwen2.5-VL-72B-Instruct", "nebius").invoke(
        [
            (
                "user",
                [
                    {"type": "text", "text": "hello"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/p.jpg"}},
                ],
            )
        ]
    )
    assert message.content.startswith("Hello! How can I assist you with the image of the potato?")
    assert message.tool_calls == []
    assert message.additional_kwargs == {}  # reasoning_content, audio... were all null
    assert message.usage_metadata == {"input_tokens": 269, "output_tokens": 27, "total_tokens": 296}
    meta = message.response_metadata
    assert (meta["model_name"], meta["finish_reason"], meta["blocked"]) == (
        "Qwen/Qwen2.5-VL-72B-Instruct",
        "stop",
        False,
    )
    assert message.id == "chatcmpl-d68e3c40c98e4d3f8ab4ff4cbf81c544"
    sent = emulator.last_request
    assert sent is not None
    assert sent.json is not None
    assert sent.json["model"] == "Qwen/Qwen2.5-VL-72B-Instruct:nebius"
    assert sent.json["messages"][0]["content"][1]["image_url"]["url"] == "https://example.com/p.jpg"


def test_r1_think_tags_become_reasoning(emulator: Emulator) -> None:
    replay(emulator, "huggingface__chat_r1_think_tags")
    message = _chat(emulator, "deepseek-ai/DeepSeek-R1", "together").invoke("hello")
    assert message.content == "Hello! \U0001f44b How can I help you today?"
    reasoning = message.additional_kwargs["reasoning_content"]
    assert reasoning.startswith('Hmm, the user just said "hello".')
    assert reasoning.endswith("Keeping it simple but friendly feels right here.")
    assert "<think>" not in message.content
    assert "</think>" not in reasoning
    assert message.usage_metadata == {"input_tokens": 4, "output_tokens": 197, "total_tokens": 201}
    assert message.id == "oV1mmQk-28Eivz-9c4b14712ea45a45"


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_stream_text(emulator: Emulator, asynchronous: bool) -> None:
    replay(emulator, "huggingface__stream_text")
    model = _chat(emulator, "meta-llama/Llama-3.1-8B-Instruct", "novita")
    if asynchronous:
        chunks = [c async for c in model.astream("Reply with exactly: Paris")]
    else:
        chunks = list(model.stream("Reply with exactly: Paris"))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.content == "Paris"
    assert total.usage_metadata == {"input_tokens": 40, "output_tokens": 2, "total_tokens": 42}
    meta = total.response_metadata
    assert (meta["model_name"], meta["finish_reason"]) == (
        "meta-llama/llama-3.1-8b-instruct",
        "stop",
    )
    assert total.id == "ebafdc26c3296ed027c5cd6565fa1bce"


def test_tool_call_with_empty_content(emulator: Emulator) -> None:
    replay(emulator, "huggingface__tool_call_llama4")
    model = _chat(emulator, "meta-llama/Llama-4-Scout-17B-16E-Instruct", "together")

    def get_weather(city: str) -> str:
        """Get weather for a city."""
        return "sunny"

    message = model.bind_tools([get_weather], tool_choice="required").invoke(
        "What's the weather in Paris?"
    )
    assert message.content == ""
    assert message.tool_calls == [
        {
            "name": "get_weather",
            "args": {"city": "Paris"},
            "id": "call_fd883226aed04dee83ca77e0",
            "type": "tool_call",
        }
    ]
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert message.usage_metadata == {"input_tokens": 608, "output_tokens": 30, "total_tokens": 638}
    sent = emulator.last_request
    assert sent is not None
    assert sent.json is not None
    assert sent.json["tool_choice"] == "required"


def test_tool_call_with_null_content(emulator: Emulator) -> None:
    replay(emulator, "huggingface__tool_call_required")
    message = _chat(emulator, "deepseek-ai/DeepSeek-R1", "together").invoke("primes?")
    assert message.content == ""
    assert "reasoning_content" not in message.additional_kwargs
    assert message.tool_calls == [
        {
            "name": "final_result",
            "args": {"response": [2, 3, 5]},
            "id": "call_7qxjvbuxpm6017n3jcq1uqwt",
            "type": "tool_call",
        }
    ]
    assert message.usage_metadata == {"input_tokens": 19, "output_tokens": 29, "total_tokens": 48}
