"""Token counting for the OpenAI family: tiktoken where its encoding can be had, the server's
``/tokenize`` for llama.cpp and vLLM, the estimate (said once) otherwise; never ImportError."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    trim_messages,
)
from langchain_core.tools import tool

from polyvox.core import TokenEstimateWarning, TokenizerUnavailableError
from polyvox.core.token_counting import REPLY_PRIMING, TOKENS_PER_MESSAGE
from polyvox.openai import (
    ChatLlamaCpp,
    ChatOpenAI,
    ChatOpenRouter,
    ChatTogether,
    ChatVLLM,
)
from polyvox.testing import Emulator
from polyvox.testing.emulator.openai_protocol import token_ids


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@contextmanager
def estimates() -> Iterator[list[str]]:
    """Collect the token-estimate warnings given inside the block (each message once)."""
    said: list[str] = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        yield said
    said.extend(str(w.message) for w in seen if issubclass(w.category, TokenEstimateWarning))


def conversation() -> list[BaseMessage]:
    return [
        SystemMessage("You are a helpful assistant."),
        HumanMessage("What is the capital of Poland?", name="ann"),
        AIMessage("Warsaw."),
        HumanMessage("And of Czechia?"),
        AIMessage("", tool_calls=[{"name": "lookup", "args": {"q": "Czechia"}, "id": "c9"}]),
        ToolMessage("Prague", tool_call_id="c9"),
        HumanMessage("Thanks!"),
    ]


# ---- tiktoken -------------------------------------------------------------------------------


@pytest.mark.usefixtures("encodings_cached")
def test_exact_counts_with_the_models_encoding() -> None:
    model = ChatOpenAI(model="gpt-4", api_key="k")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # exact: no estimate warning
        assert model.get_token_ids("hello world") == [15339, 1917]
        assert model.get_num_tokens("hello world") == 2
        assert model.get_num_tokens("") == 0
        simple = [SystemMessage("you are nice"), HumanMessage("hi there how are you")]
        # per message 3 framing + role + content; 3 priming: (3+1+3) + (3+1+5) + 3
        assert model.get_num_tokens_from_messages(simple) == 19
        total = model.get_num_tokens_from_messages(conversation())
        with_tools = model.get_num_tokens_from_messages(conversation(), tools=[add])
    assert with_tools > total > 7 * TOKENS_PER_MESSAGE + REPLY_PRIMING


@pytest.mark.usefixtures("encodings_cached")
def test_counts_match_langchain_openai_for_plain_messages() -> None:
    reference = pytest.importorskip("langchain_openai").ChatOpenAI(model="gpt-4", api_key="k")
    model = ChatOpenAI(model="gpt-3.5-turbo", api_key="k")
    plain = conversation()[:4]
    assert model.get_num_tokens_from_messages(plain) == reference.get_num_tokens_from_messages(
        plain
    )


@pytest.mark.usefixtures("encodings_cached")
def test_trim_messages_with_the_model_as_counter() -> None:
    model = ChatOpenAI(model="gpt-4", api_key="k")
    total = model.get_num_tokens_from_messages(conversation())
    kept = trim_messages(
        conversation(),
        max_tokens=total // 2,
        token_counter=model,
        strategy="last",
        include_system=True,
        start_on="human",
    )
    assert kept[0].type == "system"
    assert len(kept) < len(conversation())
    assert model.get_num_tokens_from_messages(kept) <= total // 2


@pytest.mark.usefixtures("tiktoken_offline")
def test_offline_the_estimate_applies_with_one_warning() -> None:
    model = ChatOpenAI(model="gpt-4o", api_key="k")  # o200k_base: not cached here
    with estimates() as said:
        assert model.get_num_tokens("hello world") == 4  # 11 characters / 3, rounded up
        assert model.get_num_tokens_from_messages(conversation()) > 0
        trim_messages(conversation(), max_tokens=20, token_counter=model)
    assert len(said) == 1
    text = said[0]
    assert "o200k_base" in text
    assert "TIKTOKEN_CACHE_DIR" in text
    assert "one token per 3 characters" in text
    with pytest.raises(TokenizerUnavailableError):
        model.get_token_ids("hello world")


@pytest.mark.usefixtures("tiktoken_offline")
def test_without_tiktoken_no_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # import tiktoken -> ImportError
    model = ChatOpenAI(model="gpt-4", api_key="k")
    with estimates() as said:
        assert model.get_num_tokens("hello world") == 4
        assert model.get_num_tokens_from_messages([HumanMessage("hi")]) > 0
    assert len(said) == 1
    assert "install polyvox-openai[tiktoken]" in said[0]


@pytest.mark.usefixtures("encodings_cached")
def test_which_encoding_for_which_model() -> None:
    from polyvox.openai.tokenize import tiktoken_counter

    assert tiktoken_counter("gpt-4").exact  # cl100k_base
    o200k = ChatOpenAI(model="gpt-4o", api_key="k").get_token_ids("hello world")
    assert o200k != [15339, 1917]
    # an OpenAI model tiktoken does not know yet: o200k_base, its current encoding
    assert ChatOpenAI(model="gpt-9-preview", api_key="k").get_token_ids("hello world") == o200k
    # another server's model behind ChatOpenAI: no OpenAI encoding
    other = ChatOpenAI(model="qwen3", api_key="k", base_url="http://h/v1")
    with pytest.warns(TokenEstimateWarning, match="no encoding for the model 'qwen3'"):
        other.get_num_tokens("hi")
    # OpenRouter: openai/* models use their encoding, other vendors estimate
    assert ChatOpenRouter(model="openai/gpt-4", api_key="k").get_token_ids("hello world") == [
        15339,
        1917,
    ]
    assert ChatOpenRouter(model="openai/gpt-4o", api_key="k").get_token_ids("hi") == (
        ChatOpenAI(model="gpt-4o", api_key="k").get_token_ids("hi")
    )
    with pytest.warns(TokenEstimateWarning, match="OpenRouter has no token-count endpoint"):
        ChatOpenRouter(model="anthropic/claude-sonnet-4.5", api_key="k").get_num_tokens("hi")
    with pytest.warns(TokenEstimateWarning, match="Together has no token-count endpoint"):
        ChatTogether(model="m", api_key="k").get_num_tokens("hi")


def test_import_does_not_load_tiktoken() -> None:
    code = (
        "import sys, polyvox.openai\n"
        "m = polyvox.openai.ChatOpenAI(model='gpt-4o', api_key='k')\n"
        "print('tiktoken' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


# ---- the server's own tokenizer (llama.cpp, vLLM) -------------------------------------------


@pytest.mark.usefixtures("tiktoken_offline")
@pytest.mark.parametrize("cls", [ChatLlamaCpp, ChatVLLM])
def test_servers_tokenize(cls: type[ChatOpenAI], emulator: Emulator) -> None:
    model = cls(model="served", base_url=emulator.openai_base_url)
    text = "Hello, world: how are you?"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the server's count: no estimate
        assert model.get_token_ids(text) == token_ids(text)
        assert model.get_num_tokens(text) == len(token_ids(text))
        counted = model.get_num_tokens_from_messages(conversation())
    assert counted > 7 * TOKENS_PER_MESSAGE + REPLY_PRIMING
    sent = [r.json for r in emulator.requests if r.path == "/tokenize"]
    assert len(sent) == 3  # one request per count
    if cls is ChatLlamaCpp:
        assert sent[0] == {"content": text, "add_special": False}
    else:
        assert sent[0] == {"model": "served", "prompt": text, "add_special_tokens": False}


@pytest.mark.usefixtures("tiktoken_offline")
def test_a_server_without_tokenize_falls_back_once(emulator: Emulator) -> None:
    model = ChatVLLM(model="served", base_url=f"{emulator.url}/elsewhere/v1")
    with estimates() as said:
        assert model.get_num_tokens("abcdef") == 2
        assert model.get_num_tokens("abcdef") == 2
    assert len(said) == 1
    assert "has no /tokenize" in said[0]
    assert [r.path for r in emulator.requests] == ["/elsewhere/tokenize"]  # asked once
    with pytest.raises(TokenizerUnavailableError):
        model.get_token_ids("abc")


def test_an_unreachable_server_raises_the_mapped_error() -> None:
    from polyvox.openai import OpenAIConnectionError

    model = ChatLlamaCpp(base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=2)
    with pytest.raises(OpenAIConnectionError):
        model.get_num_tokens("hello")
