"""Token counting in core: the message-counting rules, the estimate and its one warning."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    trim_messages,
)

from polyvox.core import TokenEstimateWarning, TokenizerUnavailableError, as_llm
from polyvox.core import token_counting as tc
from polyvox.ollama import ChatOllama


@pytest.fixture(autouse=True)
def _fresh_warnings() -> Iterator[None]:
    tc._warned.clear()
    yield
    tc._warned.clear()


def words(text: str) -> list[int]:
    """A stand-in tokenizer: one token per space-separated word."""
    return [len(w) for w in text.split()]


def test_estimate_is_a_third_of_the_characters_rounded_up() -> None:
    assert [tc.estimate_tokens(t) for t in ("", "a", "abc", "abcd", "x" * 300)] == [
        0,
        1,
        1,
        2,
        100,
    ]


def test_the_estimate_warns_once_per_reason() -> None:
    counter = tc.EstimateCounter("no tokenizer here")
    with pytest.warns(TokenEstimateWarning, match="no tokenizer here: token counts are estimated"):
        assert counter.count(["abcdef", "abc"]) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert counter.count(["abcdef"]) == 2  # said already: silent
        assert tc.EstimateCounter("no tokenizer here").count(["a"]) == 1
    with pytest.warns(TokenEstimateWarning, match="another reason"):
        tc.EstimateCounter("another reason").count(["a"])


def test_messages_are_counted_with_openais_framing() -> None:
    counter = tc.IdsCounter(words)
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello there you", "name": "ann"},
    ]
    # 3 priming + 2 x 3 framing + roles (1 + 1) + contents (2 + 3) + name (1 + 1)
    assert tc.count_openai_messages(messages, counter) == 3 + 6 + 2 + 5 + 2
    assert tc.count_openai_messages([], counter) == tc.REPLY_PRIMING


def test_tool_calls_results_tools_and_images_are_counted() -> None:
    counter = tc.IdsCounter(words)
    call = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{} {}"}}
    ]}  # fmt: skip
    result = {"role": "tool", "content": "3", "tool_call_id": "c1"}
    base = 3 + 2 * 3 + 2  # priming, framing, roles
    assert tc.count_openai_messages([call, result], counter) == base + 1 + 2 + 1 + 1
    tool = {"type": "function", "function": {"name": "add", "parameters": {}}}
    with_tool = tc.count_openai_messages([result], counter, [tool])
    spec = json.dumps(tool, separators=(",", ":"))
    assert with_tool == tc.count_openai_messages([result], counter) + len(words(spec))
    image = {"role": "user", "content": [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
    ]}  # fmt: skip
    expected = 3 + 3 + 1 + 3 + tc.IMAGE_TOKENS + tc.IMAGE_TOKENS_LOW
    assert tc.count_openai_messages([image], counter) == expected


def _conversation() -> list[BaseMessage]:
    return [
        SystemMessage("You are a helpful assistant."),
        HumanMessage("What is the capital of Poland?"),
        AIMessage("Warsaw."),
        HumanMessage("And of Czechia?"),
        AIMessage("", tool_calls=[{"name": "lookup", "args": {"q": "Czechia"}, "id": "c9"}]),
        ToolMessage("Prague", tool_call_id="c9"),
    ]


def test_ollama_estimates_once_and_trims() -> None:
    model = ChatOllama(model="llama3.2")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        total = model.get_num_tokens_from_messages(_conversation())
        kept = trim_messages(
            _conversation(), max_tokens=total - 10, token_counter=model, strategy="last"
        )
        assert model.get_num_tokens("x" * 30) == 10
    said = [w for w in seen if issubclass(w.category, TokenEstimateWarning)]
    assert len(said) == 1  # once, however many counts
    assert "Ollama has no token-count endpoint" in str(said[0].message)
    assert 0 < len(kept) < len(_conversation())
    assert model.get_num_tokens_from_messages(kept) <= total - 10
    with pytest.raises(TokenizerUnavailableError, match="get_num_tokens"):
        model.get_token_ids("hello")


def test_custom_token_ids_win() -> None:
    model = ChatOllama(model="llama3.2", custom_get_token_ids=words)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a tokenizer is given: no estimate, no warning
        assert model.get_token_ids("a b c") == [1, 1, 1]
        assert model.get_num_tokens("a b c") == 3
        assert model.get_num_tokens_from_messages([HumanMessage("a b")]) == 3 + 3 + 1 + 2
        llm = as_llm(model)
        assert llm.get_num_tokens("a b c") == 3
        assert llm.get_num_tokens_from_messages([HumanMessage("a b")]) == 9


def test_the_llm_adapter_counts_as_its_chat_model() -> None:
    model = ChatOllama(model="llama3.2")
    llm = as_llm(model)
    with pytest.warns(TokenEstimateWarning):
        assert llm.get_num_tokens("abcdef") == 2
    assert llm.get_num_tokens_from_messages(_conversation()) == model.get_num_tokens_from_messages(
        _conversation()
    )
