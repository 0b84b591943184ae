"""The real model through ``ChatLlamaCpp`` both ways: in process, and on a loopback llama-server.

The same assertions run against both: the two ways share every line of conversion, so
they must answer alike (structure, usage, timings, streams, JSON that validates).
"""

from __future__ import annotations

import asyncio
import json

import jsonschema
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage

from polyvox.openai import ChatLlamaCpp

CITY = {
    "title": "city",
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
    "additionalProperties": False,
}


@pytest.fixture(params=["in_process", "llama_server"])
def chat(request: pytest.FixtureRequest) -> ChatLlamaCpp:
    """Each way to reach llama.cpp, in turn."""
    name = "local_chat" if request.param == "in_process" else "served_chat"
    model: ChatLlamaCpp = request.getfixturevalue(name)
    return model


def _assert_reply(message: AIMessage) -> None:
    assert isinstance(message.content, str)
    assert message.content.strip()
    usage = message.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] > 0
    assert 0 < usage["output_tokens"] <= 12
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    meta = message.response_metadata
    assert meta["model_provider"] == "llamacpp"
    assert meta["finish_reason"] in {"stop", "length"}
    timings = meta["timings"]
    assert timings["predicted_n"] == usage["output_tokens"]
    assert timings["predicted_per_second"] > 0


def test_invoke(chat: ChatLlamaCpp) -> None:
    reply = chat.invoke([SystemMessage("Answer briefly."), HumanMessage("Say hello.")])
    _assert_reply(reply)


async def test_ainvoke(chat: ChatLlamaCpp) -> None:
    _assert_reply(await chat.ainvoke("Say hello."))


def test_stream_reassembles(chat: ChatLlamaCpp) -> None:
    chunks = list(chat.stream("Count to five."))
    assert len(chunks) > 2  # token by token, not one block
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk
    assert whole.content == "".join(str(c.content) for c in chunks)
    _assert_reply(AIMessage(**whole.model_dump(exclude={"type", "tool_call_chunks"})))


async def test_astream_reassembles(chat: ChatLlamaCpp) -> None:
    chunks = [chunk async for chunk in chat.astream("Count to five.")]
    assert len(chunks) > 2
    assert "".join(str(c.content) for c in chunks).strip()
    assert chunks[-1].chunk_position == "last"
    assert sum((c.usage_metadata or {}).get("output_tokens", 0) for c in chunks) > 0


async def test_abatch_answers_each_prompt(chat: ChatLlamaCpp) -> None:
    replies = await chat.abatch(["Say hello.", "Say goodbye.", "Name a colour."])
    assert len(replies) == 3
    for reply in replies:
        _assert_reply(reply)
    assert len({r.id for r in replies}) == 3


def test_stop_sequence_ends_the_answer(chat: ChatLlamaCpp) -> None:
    prompt = "Count from one to ten."
    free = str(chat.invoke(prompt).content)  # greedy: the same answer every time
    if len(free) < 6:
        pytest.skip(f"the model answered {free!r}: too short to stop inside")
    stop = free[3:6]
    reply = chat.invoke(prompt, stop=[stop])
    assert reply.content == free[: free.index(stop)]
    assert reply.response_metadata["finish_reason"] == "stop"


def test_structured_output_is_valid_by_construction(chat: ChatLlamaCpp) -> None:
    roomy = chat.model_copy(update={"max_tokens": 64})  # shares the loaded model
    result = roomy.with_structured_output(CITY, include_raw=True).invoke(
        "Give the largest city of France as JSON."
    )
    assert result["raw"].response_metadata["finish_reason"] == "stop"  # not cut short
    assert result["parsing_error"] is None
    jsonschema.validate(result["parsed"], CITY)
    raw = result["raw"]
    assert json.loads(raw.content) == result["parsed"]


async def test_a_stream_stopped_early_leaves_the_model_usable(chat: ChatLlamaCpp) -> None:
    async for _ in chat.astream("Write a long story about a cat."):
        break  # the reader stops: the generation stops at the next token
    reply = await asyncio.wait_for(chat.ainvoke("Say hello."), timeout=60)
    _assert_reply(reply)
