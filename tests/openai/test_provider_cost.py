"""The server's raw usage (``token_usage``) and its own cost (``provider_cost``), from recordings.

The bodies are in ``tests/fixtures/recorded`` (genuine recordings, see its README) and are
served verbatim by the emulator to the real classes.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from langchain_core.load import dumps
from langchain_core.messages import AIMessageChunk

from polyvox.openai import ChatOpenAI, ChatOpenRouter
from polyvox.testing import Emulator
from tests.openai.conftest import replay


def _body(rec: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(rec["response"]["body"])
    return body


def _stream(model: ChatOpenAI, **kwargs: Any) -> AIMessageChunk:
    total: AIMessageChunk | None = None
    for chunk in model.stream("hi", **kwargs):
        total = chunk if total is None else total + chunk
    assert total is not None
    return total


def test_provider_cost_and_raw_usage(emulator: Emulator, router_chat: ChatOpenRouter) -> None:
    rec = replay(emulator, "openrouter__chat_reasoning_details")
    msg = router_chat.invoke("say ok")
    usage = _body(rec)["usage"]
    assert msg.response_metadata["token_usage"] == usage
    assert msg.response_metadata["provider_cost"] == {
        "amount": "0.000924",
        "currency": "USD",
        "is_byok": False,
        "details": usage["cost_details"],
    }
    assert Decimal(msg.response_metadata["provider_cost"]["amount"]) == Decimal("0.000924")


def test_provider_cost_byok(emulator: Emulator, router_chat: ChatOpenRouter) -> None:
    rec = replay(emulator, "openrouter__tool_call_empty_arguments_cost")
    msg = router_chat.invoke("Can you find me any education content?")
    usage = _body(rec)["usage"]
    assert msg.response_metadata["token_usage"] == usage
    assert msg.response_metadata["provider_cost"] == {
        "amount": "0",
        "currency": "USD",
        "is_byok": True,
        "upstream_amount": "0.002445",
        "details": usage["cost_details"],
    }
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["input_token_details"] == {"cache_read": 0, "cache_creation": 0}


async def test_provider_cost_async(emulator: Emulator, router_chat: ChatOpenRouter) -> None:
    replay(emulator, "openrouter__chat_reasoning_details")
    msg = await router_chat.ainvoke("say ok")
    assert msg.response_metadata["provider_cost"]["amount"] == "0.000924"


def test_no_cost_reported_no_provider_cost(emulator: Emulator, router_chat: ChatOpenRouter) -> None:
    rec = replay(emulator, "openrouter__tool_call_no_arguments")
    msg = router_chat.invoke("hi")
    assert "provider_cost" not in msg.response_metadata
    assert msg.response_metadata["token_usage"] == _body(rec)["usage"]


def test_streamed_provider_cost_and_raw_usage(
    emulator: Emulator, router_chat: ChatOpenRouter
) -> None:
    rec = replay(emulator, "openrouter__stream_reasoning")
    usage = next(
        json.loads(line[5:])["usage"]
        for line in rec["response"]["body"].splitlines()
        if line.startswith("data: {") and '"usage"' in line
    )
    total = _stream(router_chat)
    assert total.response_metadata["token_usage"] == usage
    assert total.response_metadata["provider_cost"] == {
        "amount": "0.000669",
        "currency": "USD",
        "is_byok": False,
        "details": usage["cost_details"],
    }
    assert total.usage_metadata is not None
    assert total.usage_metadata["total_tokens"] == usage["total_tokens"]


async def test_streamed_provider_cost_async(
    emulator: Emulator, router_chat: ChatOpenRouter
) -> None:
    replay(emulator, "openrouter__stream_reasoning")
    chunks = [chunk async for chunk in router_chat.astream("hi")]
    with_meta = [c for c in chunks if "provider_cost" in c.response_metadata]
    assert len(with_meta) == 1, "the cost is on the final chunk only, so adding chunks keeps it"
    assert with_meta[0] is chunks[-1]
    assert with_meta[0].response_metadata["provider_cost"]["amount"] == "0.000669"


def test_streaming_invoke_keeps_cost(emulator: Emulator, router_chat: ChatOpenRouter) -> None:
    replay(emulator, "openrouter__stream_reasoning")
    msg = router_chat.model_copy(update={"streaming": True}).invoke("hi")
    assert msg.response_metadata["provider_cost"]["amount"] == "0.000669"
    assert msg.response_metadata["token_usage"]["cost"] == 0.000669


def test_openai_raw_usage(emulator: Emulator, chat: ChatOpenAI) -> None:
    rec = replay(emulator, "openai__chat_basic")
    msg = chat.invoke("What is the capital of France?")
    assert msg.response_metadata["token_usage"] == _body(rec)["usage"]
    assert "provider_cost" not in msg.response_metadata


def test_metadata_survives_langchain_serialisation(
    emulator: Emulator, router_chat: ChatOpenRouter
) -> None:
    replay(emulator, "openrouter__tool_call_empty_arguments_cost")
    msg = router_chat.invoke("hi")
    text = dumps(msg)
    assert '"provider_cost"' in text
    assert json.loads(json.dumps(msg.response_metadata)) == msg.response_metadata
