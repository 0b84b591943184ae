"""should_use_rlm against the catalog's windows, and the router's large-input hook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from polyvox.costs.ledger import Ledger
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.openai import ChatOpenAI
from polyvox.rlm.rlm import RecursiveLanguageModel
from polyvox.rlm.routing import (
    DEFAULT_CONTEXT_WINDOW,
    context_window_of,
    conversation_to_input,
    rlm_large_input_handler,
    should_use_rlm,
)
from polyvox.testing import Emulator
from tests.rlm.conftest import ROOT, repl


def test_known_model_uses_the_catalog_window(chat: Callable[[str], ChatOpenAI]) -> None:
    model = chat("gpt-4o")  # 128K tokens in the catalog
    assert context_window_of(model) == 128_000
    # about three characters per token: 0.8 * 128K tokens is about 307K characters
    assert not should_use_rlm([HumanMessage("x" * 250_000)], model)
    assert should_use_rlm([HumanMessage("x" * 320_000)], model)
    assert should_use_rlm([HumanMessage("x" * 250_000)], model, margin=0.5)


def test_model_names_are_looked_up_too() -> None:
    assert context_window_of("openai/gpt-4.1-mini") > 1_000_000
    assert not should_use_rlm("x" * 400_000, "gpt-4.1-mini")
    assert should_use_rlm(["x" * 200_000, "y" * 200_000], "gpt-4o")


def test_unknown_model_gets_the_default_window(chat: Callable[[str], ChatOpenAI]) -> None:
    unknown = chat("my-private-model")
    assert context_window_of(unknown) == DEFAULT_CONTEXT_WINDOW == 8192
    assert context_window_of("nobody/knows") == DEFAULT_CONTEXT_WINDOW
    assert should_use_rlm([HumanMessage("x" * 21_000)], unknown)
    assert not should_use_rlm([HumanMessage("x" * 15_000)], unknown)


def test_profile_window_when_the_catalog_has_none() -> None:
    model = GenericFakeChatModel(messages=iter([]), profile={"max_input_tokens": 1000})
    assert context_window_of(model) == 1000
    assert should_use_rlm("x" * 3000, model)


def test_margin_must_be_a_share() -> None:
    with pytest.raises(ValueError, match="margin"):
        should_use_rlm("x", "gpt-4o", margin=1.5)


def test_conversation_becomes_a_context() -> None:
    messages = [SystemMessage("Be brief."), HumanMessage("long " * 10), AIMessage("ok")]
    messages.append(HumanMessage("Which word repeats?"))
    data = conversation_to_input(messages)
    assert data["context"].startswith("[system]\nBe brief.\n\n[human]\nlong long")
    assert "[ai]\nok" in data["context"]
    assert data["question"].endswith("The last [human] message is:\nWhich word repeats?")
    huge = conversation_to_input([HumanMessage("z" * 10_000)])
    assert "z" * 100 not in huge["question"]


def _handler_rlm(emulator: Emulator, make_rlm: Callable[..., RecursiveLanguageModel]) -> Any:
    emulator.script(
        repl("FINAL(str(context.count('long')) + ' times')"),
        model=ROOT,
    )
    return rlm_large_input_handler(make_rlm())


def test_large_input_handler_answers_with_an_ai_message(
    emulator: Emulator, make_rlm: Callable[..., RecursiveLanguageModel]
) -> None:
    handler = _handler_rlm(emulator, make_rlm)
    reply = handler([HumanMessage("long " * 5), HumanMessage("How many?")], object())
    assert isinstance(reply, AIMessage)
    assert reply.content == "5 times"
    assert reply.response_metadata["model_provider"] == "polyvox-rlm"
    assert reply.response_metadata["rlm_usage"]["total"]["calls"] == 1
    assert reply.usage_metadata is None  # each call was reported on its own already


async def test_large_input_handler_async(
    emulator: Emulator, make_rlm: Callable[..., RecursiveLanguageModel]
) -> None:
    handler = _handler_rlm(emulator, make_rlm)
    reply = await handler.ainvoke([HumanMessage("long long")])
    assert reply.content == "2 times"


def test_router_hands_a_too_long_prompt_to_the_rlm(
    emulator: Emulator,
    make_rlm: Callable[..., RecursiveLanguageModel],
    chat: Callable[[str], ChatOpenAI],
    ledger: Ledger,
) -> None:
    from polyvox.router.router import Router

    handler = _handler_rlm(emulator, make_rlm)
    small = chat("gpt-3.5-turbo")  # a 16K window
    prompt = "long " * 40_000
    assert should_use_rlm(prompt, small)
    router = Router([small], large_input_handler=handler)
    config = {"callbacks": [CostCallbackHandler(ledger)], "metadata": {"workspace_id": "w9"}}
    answer = router.invoke(prompt, config)
    assert answer.text == "40000 times"
    assert answer.response_metadata["router"]["large_input"] is True
    ledger.flush()
    records = ledger.records()
    [record] = [r for r in records if "rlm_depth" in r.attributes]
    assert record.model == ROOT  # the RLM's root call, with the router run's attribution
    assert record.workspace_id == "w9"
    assert record.attributes["rlm_depth"] == "0"
    assert record.cost is not None
    # the router's own run is not recorded: the RLM's calls under it are the priced calls
    # (CostCallbackHandler walks up through the RLM's chain run to the router's model run)
    assert records == [record]


async def test_router_ainvoke_hands_over_natively_with_the_run_config(
    emulator: Emulator,
    make_rlm: Callable[..., RecursiveLanguageModel],
    chat: Callable[[str], ChatOpenAI],
    ledger: Ledger,
) -> None:
    import asyncio

    from langchain_core.runnables import Runnable

    from polyvox.router.router import Router

    handler = _handler_rlm(emulator, make_rlm)
    assert isinstance(handler, Runnable)  # so the router passes its config and awaits ainvoke
    router = Router([chat("gpt-3.5-turbo")], large_input_handler=handler)
    config = {
        "callbacks": [CostCallbackHandler(ledger)],
        "metadata": {"workspace_id": "w7", "agent_id": "a7"},
    }
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        answer = await router.ainvoke("long " * 40_000, config)
    finally:
        ticker.cancel()
    assert answer.text == "40000 times"
    assert answer.response_metadata["router"]["large_input"] is True
    # the loop kept running while the RLM worked (its sandbox start alone takes longer)
    assert ticks >= 3
    ledger.flush()
    [record] = ledger.records()
    assert record.model == ROOT
    assert (record.workspace_id, record.agent_id) == ("w7", "a7")
    assert record.attributes["rlm_depth"] == "0"
    assert record.attributes["sensitivity"] == "public"  # the router's metadata reached it


async def test_router_hands_confidential_data_only_to_a_handler_declared_local(
    emulator: Emulator,
    make_rlm: Callable[..., RecursiveLanguageModel],
    chat: Callable[[str], ChatOpenAI],
    ledger: Ledger,
) -> None:
    from polyvox.ollama import ChatOllama
    from polyvox.router.errors import NoDeploymentError
    from polyvox.router.router import Router

    handler = _handler_rlm(emulator, make_rlm)
    local_model = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)
    models = [chat("gpt-3.5-turbo"), local_model]
    prompt = "long " * 200_000  # past the local model's window too
    refusing = Router(models, large_input_handler=handler)
    with pytest.raises(NoDeploymentError, match="refusing to hand confidential data"):
        await refusing.ainvoke(prompt, sensitivity="confidential")
    assert emulator.requests == []  # the RLM never ran
    # An RLM whose models are all local may be declared so (here the emulated models stand
    # in for local ones): the data is handed over, and every call carries its sensitivity.
    local = Router(models, large_input_handler=handler, large_input_handler_local=True)
    config = {"callbacks": [CostCallbackHandler(ledger)], "metadata": {"workspace_id": "w8"}}
    answer = await local.ainvoke(prompt, config, sensitivity="confidential")
    assert answer.text == "200000 times"
    ledger.flush()
    [record] = ledger.records()
    assert record.workspace_id == "w8"
    assert record.attributes["sensitivity"] == "confidential"
