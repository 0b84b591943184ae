"""Switch the import: langchain-openai's ``ChatOpenAI`` and polyvox's, side by side.

The same calls against the emulator give the same ``response_metadata`` keys (polyvox adds
keys, it never lacks one), the same ``usage_metadata`` (details included), the same keys on
the streamed chunk that ends an answer, and the same token counts. Exceptions are compared
in ``test_error_classes.py``; tool calls of recorded answers in ``test_recorded_tool_calls.py``.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.tools import tool

from polyvox.openai import ChatOpenAI
from polyvox.testing import Emulator
from tests.openai.test_token_counting import conversation

langchain_openai = pytest.importorskip("langchain_openai")


@tool
def add(a: int, b: int) -> int:
    """Add two integers and return their sum."""
    return a + b


def _pair(emulator: Emulator, **kwargs: Any) -> tuple[Any, ChatOpenAI]:
    """(langchain-openai's model, polyvox's), made with the same arguments."""
    args = {"model": "gpt-4o", "api_key": "sk-test", "base_url": emulator.openai_base_url}
    return (
        langchain_openai.ChatOpenAI(**args, max_retries=0, **kwargs),
        ChatOpenAI(**args, max_retries=0, **kwargs),
    )


def _assert_has_their_keys(theirs: dict[str, Any], ours: dict[str, Any], where: str) -> None:
    missing = set(theirs) - set(ours)
    assert not missing, f"{where}: polyvox lacks {sorted(missing)} (theirs: {theirs})"


SAME_VALUES = ("finish_reason", "model_name", "model_provider", "system_fingerprint")
"""Keys whose values the two packages read from the same field of the answer."""


@pytest.mark.parametrize("tools", [False, True], ids=["text", "tool-call"])
def test_invoke_metadata_and_usage(emulator: Emulator, tools: bool) -> None:
    answers = []
    for model in _pair(emulator):
        runnable = model.bind_tools([add]) if tools else model
        answers.append(runnable.invoke("What is 17 plus 25?"))
    theirs, ours = answers
    assert type(ours) is type(theirs) is AIMessage
    _assert_has_their_keys(theirs.response_metadata, ours.response_metadata, "invoke")
    for key in (*SAME_VALUES, "service_tier", "logprobs"):
        assert ours.response_metadata[key] == theirs.response_metadata[key], key
    assert ours.response_metadata["finish_reason"] == ("tool_calls" if tools else "stop")
    assert ours.response_metadata["id"].startswith("chatcmpl")
    # the raw usage: the top-level counts as the server sent them
    their_usage, our_usage = (m.response_metadata["token_usage"] for m in (theirs, ours))
    assert set(their_usage) <= set(our_usage)
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert our_usage[key] == their_usage[key]
    # usage_metadata: the same, to the token details
    assert ours.usage_metadata == theirs.usage_metadata
    assert {"input_token_details", "output_token_details"} <= set(ours.usage_metadata)
    assert [(c["name"], c["args"], c["type"]) for c in ours.tool_calls] == [
        (c["name"], c["args"], c["type"]) for c in theirs.tool_calls
    ]


def _last(chunks: list[Any]) -> Any:
    """The chunk that says how the answer ended."""
    (last,) = [c for c in chunks if c.response_metadata.get("finish_reason")]
    return last


async def test_streamed_chunk_metadata_and_usage(emulator: Emulator) -> None:
    theirs, ours = _pair(emulator, stream_usage=True)
    their_chunks = list(theirs.stream("hi"))
    our_chunks = list(ours.stream("hi"))
    our_async = [chunk async for chunk in ours.astream("hi")]
    for chunks in (our_chunks, our_async):
        assert all(type(c).__name__ == "AIMessageChunk" for c in chunks)
        their_last, our_last = _last(their_chunks), _last(chunks)
        _assert_has_their_keys(their_last.response_metadata, our_last.response_metadata, "chunk")
        for key in (*SAME_VALUES, "service_tier"):
            assert our_last.response_metadata[key] == their_last.response_metadata[key], key
        their_total, our_total = sum(their_chunks[1:], their_chunks[0]), sum(chunks[1:], chunks[0])
        assert our_total.text == their_total.text
        _assert_has_their_keys(their_total.response_metadata, our_total.response_metadata, "sum")
        assert our_total.usage_metadata == their_total.usage_metadata
        assert our_total.usage_metadata["total_tokens"] > 0


@pytest.mark.usefixtures("encodings_cached")
@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4", "gpt-3.5-turbo"])
def test_token_counts_equal_langchain_openais(model: str) -> None:
    theirs = langchain_openai.ChatOpenAI(model=model, api_key="k")
    ours = ChatOpenAI(model=model, api_key="k")
    for text in ("hello world", "Zażółć gęślą jaźń, 42 times!", ""):
        assert ours.get_num_tokens(text) == theirs.get_num_tokens(text), text
        assert ours.get_token_ids(text) == theirs.get_token_ids(text), text
    plain = [SystemMessage("You are nice."), HumanMessage("hi there", name="ann"), AIMessage("hi")]
    assert ours.get_num_tokens_from_messages(plain) == theirs.get_num_tokens_from_messages(plain)
    with_calls = [m for m in conversation() if m.type != "tool"]
    assert ours.get_num_tokens_from_messages(with_calls) == theirs.get_num_tokens_from_messages(
        with_calls
    )
    # a tool result's id: langchain-openai adds a flat 3 tokens, polyvox encodes the id
    # (a real one, "call_" and 24 characters, is about a dozen tokens)
    (result,) = [m for m in conversation() if m.type == "tool"]
    difference = ours.get_num_tokens_from_messages([result]) - (
        theirs.get_num_tokens_from_messages([result])
    )
    assert difference == ours.get_num_tokens(result.tool_call_id) - 3


@pytest.mark.usefixtures("encodings_cached")
def test_tool_schemas_count_where_langchain_openai_ignores_them() -> None:
    """langchain-openai warns and leaves ``tools=`` out; polyvox counts them (they are sent)."""
    theirs = langchain_openai.ChatOpenAI(model="gpt-4o", api_key="k")
    ours = ChatOpenAI(model="gpt-4o", api_key="k")
    messages = conversation()[:4]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        their_count = theirs.get_num_tokens_from_messages(messages, tools=[add])
    assert any("Ignoring tools" in str(w.message) for w in seen)
    assert their_count == ours.get_num_tokens_from_messages(messages)
    assert ours.get_num_tokens_from_messages(messages, tools=[add]) > their_count
