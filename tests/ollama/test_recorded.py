"""The Ollama recordings are of its OpenAI-compatible endpoint (/v1): read through ChatOpenAI."""

from __future__ import annotations

import json

from pydantic import BaseModel

from polyvox.openai import ChatOpenAI
from polyvox.testing import Emulator
from tests.conftest import recorded_names
from tests.openai.conftest import replay


def _ollama_v1(emulator: Emulator) -> ChatOpenAI:
    return ChatOpenAI(
        model="qwen3:0.6b", api_key="ollama", base_url=emulator.openai_base_url, max_retries=0
    )


def test_every_recording_is_covered() -> None:
    assert recorded_names("ollama__") == [
        "ollama__chat_reasoning_field",
        "ollama__local_json_schema",
        "ollama__tool_call",
    ]


def test_reasoning_field(emulator: Emulator) -> None:
    replay(emulator, "ollama__chat_reasoning_field")
    message = _ollama_v1(emulator).invoke("Loki is a 3 year old black cat")
    assert json.loads(str(message.content)) == {"name": "Loki", "animal": "cat", "age": 3}
    assert message.additional_kwargs["reasoning_content"].startswith("We need to output JSON")
    assert message.usage_metadata is not None
    assert (message.usage_metadata["input_tokens"], message.usage_metadata["output_tokens"]) == (
        172,
        88,
    )
    assert message.response_metadata["model_name"] == "gpt-oss:20b"


class CityLocation(BaseModel):
    city: str
    country: str


def test_local_json_schema(emulator: Emulator) -> None:
    replay(emulator, "ollama__local_json_schema")
    result = _ollama_v1(emulator).with_structured_output(CityLocation).invoke("capital of France?")
    assert result == CityLocation(city="Paris", country="France")


def test_tool_call(emulator: Emulator) -> None:
    rec = replay(emulator, "ollama__tool_call")
    message = _ollama_v1(emulator).invoke("capital?")
    body = json.loads(rec["response"]["body"])
    raw_call = body["choices"][0]["message"]["tool_calls"][0]
    assert message.content == ""
    assert message.tool_calls[0]["name"] == raw_call["function"]["name"]
    assert message.tool_calls[0]["args"] == json.loads(raw_call["function"]["arguments"])
    assert message.tool_calls[0]["id"] == raw_call["id"]
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert message.additional_kwargs["reasoning_content"].startswith("The conversation")
