"""Call keywords: a near miss is refused before anything is sent, on the router and every model.

The issue's case: ``Router([...cloud..., ...local...]).invoke("my SSN is 123",
sensitivty="confidential")`` must not be answered by the cloud model, nor the misspelled key
forwarded into the provider's request body.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from polyvox.core.keywords import ROUTING_KEYWORDS, UnknownKeywordError, near_miss
from polyvox.ollama import ChatOllama
from polyvox.openai import ChatLlamaCpp, ChatOpenAI, ChatOpenRouter, ChatTogether, ChatVLLM
from polyvox.router import Router
from polyvox.router.constraints import CONSTRAINT_KEYS
from polyvox.testing import Emulator
from tests.modes import MODES as ALL_MODES
from tests.modes import call_as
from tests.router.conftest import OpenAIFactory

MODES = [*ALL_MODES, "batch"]
SSN = "my SSN is 123-45-6789"


def _bodies(emulator: Emulator) -> str:
    return json.dumps([r.json for r in emulator.requests], default=str)


@pytest.mark.parametrize("mode", MODES)
async def test_a_misspelled_routing_keyword_is_refused_and_nothing_is_sent(
    emulator: Emulator, openai_model: OpenAIFactory, ollama: ChatOllama, mode: str
) -> None:
    router = Router([openai_model("gpt-4.1"), ollama], strategy="quality")
    with pytest.raises(UnknownKeywordError, match="did you mean 'sensitivity'") as caught:
        await call_as(router, mode, SSN, sensitivty="confidential")
    assert caught.value.suggestion == "sensitivity"
    assert "Nothing was sent" in str(caught.value)
    assert emulator.requests == []


async def test_the_routing_keyword_itself_keeps_the_data_local_and_is_never_forwarded(
    emulator: Emulator, openai_model: OpenAIFactory, ollama: ChatOllama
) -> None:
    router = Router([openai_model("gpt-4.1"), ollama], strategy="quality")
    answer = router.invoke("my SSN is 123", sensitivity="confidential", max_cost=1.0)
    assert answer.response_metadata["model_provider"] == "ollama"
    assert [r.path for r in emulator.requests if "chat" in r.path] == ["/api/chat"]
    assert "sensitivity" not in _bodies(emulator)
    assert "max_cost" not in _bodies(emulator)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("keyword", "suggestion"),
    [("tempreature", "temperature"), ("max_tokenz", "max_tokens"), ("top_pp", "top_p")],
)
async def test_a_single_model_refuses_a_near_miss_of_its_parameters(
    emulator: Emulator, openai_model: OpenAIFactory, mode: str, keyword: str, suggestion: str
) -> None:
    with pytest.raises(UnknownKeywordError, match=f"did you mean '{suggestion}'"):
        await call_as(openai_model("gpt-4o-mini"), mode, SSN, **{keyword: 0.5})
    assert emulator.requests == []


@pytest.mark.parametrize("mode", ["invoke", "stream"])
async def test_a_single_model_refuses_a_near_miss_of_an_ollama_option(
    emulator: Emulator, ollama: ChatOllama, mode: str
) -> None:
    with pytest.raises(UnknownKeywordError, match="did you mean 'num_ctx'"):
        await call_as(ollama, mode, num_ctxx=4096)
    assert emulator.requests == []


@pytest.mark.parametrize("keyword", ["sensitivity", "sensitivty", "workspace_id", "tier"])
def test_a_router_keyword_given_to_a_single_model_is_refused(
    emulator: Emulator, openai_model: OpenAIFactory, keyword: str
) -> None:
    with pytest.raises(UnknownKeywordError, match=r"router keyword|did you mean"):
        openai_model("gpt-4o-mini").invoke("my SSN is 123", **{keyword: "confidential"})
    assert emulator.requests == []


def test_a_keyword_that_resembles_nothing_still_reaches_the_provider(
    emulator: Emulator, openai_model: OpenAIFactory
) -> None:
    # OpenAI itself refuses a field it does not know; the emulator does the same.
    import openai

    with pytest.raises(openai.BadRequestError, match="Unrecognized request argument supplied"):
        openai_model("gpt-4o-mini").invoke("hi", wholly_new_parameter=1)
    assert "wholly_new_parameter" in _bodies(emulator)
    # An OpenAI-compatible server's own parameter goes through, and is accepted there.
    emulator.reset()
    llama = ChatLlamaCpp(model="qwen2.5", base_url=emulator.openai_base_url, max_retries=0)
    assert llama.invoke("hi", cache_prompt=True).content
    assert '"cache_prompt": true' in _bodies(emulator)


def test_known_keywords_are_never_refused() -> None:
    model = ChatOpenAI(model="gpt-4o-mini", api_key="k")
    known = model.known_call_keywords()
    for keyword in ("top_p", "seed", "logprobs", "n", "user", "temperature", "stream_options"):
        assert keyword in known
    assert near_miss("top_k", {"top_p", "top_k"}) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sensitivty", "sensitivity"),  # a dropped letter
        ("senstiivity", "sensitivity"),  # two edits
        ("tempraeture", "temperature"),  # a swap
        ("Temperature", "temperature"),  # case
        ("max-tokens", "max_tokens"),  # a dash
        ("seeds", "seed"),  # one edit on a short name
        ("seedss", None),  # two edits on a short name: not a typo of it
        ("n2", None),  # too short to judge
        ("response_format_v2", None),  # far from anything
    ],
)
def test_near_miss(name: str, expected: str | None) -> None:
    known = {"sensitivity", "temperature", "max_tokens", "seed", "n", "response_format"}
    assert near_miss(name, known) == expected


def test_the_router_reads_exactly_the_routing_keywords() -> None:
    assert frozenset(CONSTRAINT_KEYS) == ROUTING_KEYWORDS


@pytest.mark.parametrize(
    "keyword", ["top_k", "min_p", "min_tokens", "top_a", "models", "repetition_penalty"]
)
@pytest.mark.parametrize("cls", [ChatLlamaCpp, ChatOpenRouter, ChatVLLM, ChatTogether])
def test_compatible_servers_own_parameters_are_not_taken_for_typos(
    emulator: Emulator, cls: type[Any], keyword: str
) -> None:
    model = cls(model="qwen2.5", api_key="k", base_url=emulator.openai_base_url, max_retries=0)
    assert keyword in model.known_call_keywords()
    model.invoke("hi", **{keyword: 1 if keyword != "models" else ["a/b"]})
    assert f'"{keyword}"' in _bodies(emulator)


def test_openai_itself_still_refuses_a_near_miss_of_top_p() -> None:
    model = ChatOpenAI(model="gpt-4o-mini", api_key="k")
    with pytest.raises(UnknownKeywordError, match="did you mean 'top_p'"):
        model.invoke("hi", top_pp=0.5)
