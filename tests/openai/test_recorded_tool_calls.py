"""Recorded OpenRouter tool calls without arguments (the key missing, or ``""``).

The bodies are in ``tests/fixtures/recorded`` (genuine recordings, see its README) and are
served verbatim by the emulator to the real classes.
"""

from __future__ import annotations

import pytest

from polyvox.openai import ChatOpenRouter
from polyvox.testing import Emulator
from tests.openai.conftest import replay


def test_tool_call_without_arguments(emulator: Emulator, router_chat: ChatOpenRouter) -> None:
    rec = replay(emulator, "openrouter__tool_call_no_arguments")
    assert "arguments" not in rec["response"]["body"]
    msg = router_chat.invoke("Can you find me any education content?")
    assert msg.tool_calls == [
        {
            "name": "find_education_content",
            "args": {},
            "id": "toolu_vrtx_015QAXScZzRDPttiPoc34AdD",
            "type": "tool_call",
        }
    ]
    assert msg.invalid_tool_calls == []
    assert msg.content == "I'll search for education content for you."
    assert msg.response_metadata["finish_reason"] == "tool_calls"
    assert msg.usage_metadata == {"input_tokens": 568, "output_tokens": 48, "total_tokens": 616}


async def test_tool_call_without_arguments_async(
    emulator: Emulator, router_chat: ChatOpenRouter
) -> None:
    replay(emulator, "openrouter__tool_call_no_arguments")
    msg = await router_chat.ainvoke("Can you find me any education content?")
    assert msg.tool_calls[0]["args"] == {}
    assert msg.tool_calls[0]["id"] == "toolu_vrtx_015QAXScZzRDPttiPoc34AdD"


def test_tool_call_with_empty_arguments(emulator: Emulator, router_chat: ChatOpenRouter) -> None:
    replay(emulator, "openrouter__tool_call_empty_arguments_cost")
    msg = router_chat.invoke("Can you find me any education content?")
    assert msg.tool_calls == [
        {
            "name": "find_education_content",
            "args": {},
            "id": "toolu_01HDrihMKz5npKoC6xoaXjmF",
            "type": "tool_call",
        }
    ]
    assert msg.invalid_tool_calls == []
    assert msg.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    "name", ["openrouter__tool_call_no_arguments", "openrouter__tool_call_empty_arguments_cost"]
)
def test_tool_calls_match_langchain_openai(emulator: Emulator, name: str) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    replay(emulator, name)
    reference = langchain_openai.ChatOpenAI(
        model="x", api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0
    ).invoke("hi")
    replay(emulator, name)
    ours = ChatOpenRouter(
        model="x", api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0
    ).invoke("hi")
    assert ours.tool_calls == reference.tool_calls
    assert ours.invalid_tool_calls == reference.invalid_tool_calls
    assert ours.response_metadata["finish_reason"] == reference.response_metadata["finish_reason"]
    assert ours.usage_metadata is not None
    assert reference.usage_metadata is not None
    assert ours.usage_metadata["total_tokens"] == reference.usage_metadata["total_tokens"]
