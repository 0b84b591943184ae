"""Cost tracking end to end: polyvox models against the emulator, the handlers, a real ledger."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.exceptions import ModelAPIError
from langchain_core.globals import set_llm_cache
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from polyvox.costs.catalog import default_catalog
from polyvox.costs.computation import compute_cost
from polyvox.costs.ledger import Budget, BudgetExceededError, BudgetGuard, Ledger
from polyvox.costs.tracking import CostCallbackHandler, attribution_from
from polyvox.openai import ChatOpenAI, OpenAILLM
from polyvox.testing import Emulator, Fault, Reply, Usage


@pytest.fixture
def model(emulator: Emulator) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4o-mini", api_key="k", base_url=emulator.openai_base_url, max_retries=0
    )


def _expected(usage_in: int, usage_out: int, cached: int = 0) -> Decimal:
    from polyvox.core.usage import make_usage

    price = default_catalog().price_for("openai", "gpt-4o-mini")
    assert price is not None
    total = compute_cost(make_usage(usage_in, usage_out, cache_read=cached), price).total
    assert total is not None
    return total


def test_attribution_from_metadata_and_tags() -> None:
    found = attribution_from(
        {
            "workspace_id": "w1",
            "agent_id": 7,
            "team": "red",
            "ls_provider": "openai",
            "langgraph_step": 2,
        },
        ["execution:e9", "plain-tag", "env:prod", "seq:step:2"],
    )
    assert (found.workspace_id, found.agent_id, found.execution_id) == ("w1", "7", "e9")
    assert dict(found.attributes) == {"team": "red", "env": "prod"}


def test_chain_costs_across_two_workspaces(
    emulator: Emulator, model: ChatOpenAI, ledger: Ledger
) -> None:
    handler = CostCallbackHandler(ledger)
    chain = ChatPromptTemplate.from_template("Tell me about {topic}") | model | StrOutputParser()
    emulator.script(
        Reply("one", usage=Usage(prompt_tokens=1000, completion_tokens=200, cached_tokens=400)),
        Reply("two", usage=Usage(prompt_tokens=3000, completion_tokens=100)),
    )
    chain.invoke(
        {"topic": "a"}, config={"callbacks": [handler], "metadata": {"workspace_id": "w1"}}
    )
    chain.invoke(
        {"topic": "b"},
        config={"callbacks": [handler], "metadata": {"workspace_id": "w2", "agent_id": "a1"}},
    )
    ledger.flush()
    rows = {r.workspace_id: r for r in ledger.records()}
    assert set(rows) == {"w1", "w2"}
    assert (rows["w1"].input_tokens, rows["w1"].cache_read_tokens, rows["w1"].output_tokens) == (
        1000,
        400,
        200,
    )
    assert rows["w1"].cost == _expected(1000, 200, cached=400)
    assert rows["w2"].cost == _expected(3000, 100)
    assert rows["w2"].agent_id == "a1"
    assert rows["w1"].provider == "openai"
    assert rows["w1"].currency == "USD"
    assert rows["w1"].outcome == "ok"
    assert rows["w1"].latency_ms is not None
    assert ledger.total_cost() == _expected(1000, 200, 400) + _expected(3000, 100)


def test_stream_async_and_failure(emulator: Emulator, model: ChatOpenAI, ledger: Ledger) -> None:
    handler = CostCallbackHandler(ledger)
    config = {"callbacks": [handler], "metadata": {"workspace_id": "w"}}
    list(model.stream("stream this please", config=config))
    asyncio.run(model.ainvoke("async please", config=config))
    emulator.fail(Fault.server_error(500))
    with pytest.raises(ModelAPIError):
        model.invoke("fail please", config=config)
    ledger.flush()
    records = ledger.records()
    assert sorted(r.outcome for r in records) == ["error", "ok", "ok"]
    failed = next(r for r in records if r.outcome == "error")
    assert failed.error_type == "OpenAIInternalServerError"  # a 500: the SDK's class too
    assert all(r.output_tokens > 0 for r in records if r.outcome == "ok")


def test_cache_hit_recorded_at_zero(emulator: Emulator, model: ChatOpenAI, ledger: Ledger) -> None:
    from polyvox.cache import InMemoryResponseCache

    handler = CostCallbackHandler(ledger)
    set_llm_cache(InMemoryResponseCache())
    try:
        model.invoke("cache me", config={"callbacks": [handler]})
        model.invoke("cache me", config={"callbacks": [handler]})
    finally:
        set_llm_cache(None)
    ledger.flush()
    records = sorted(ledger.records(), key=lambda r: r.cache_hit)
    assert [r.cache_hit for r in records] == [False, True]
    assert records[1].cost == Decimal(0)
    assert records[0].cost is not None
    assert records[0].cost > 0
    assert len(emulator.requests) == 1


def test_plain_langchain_cache_is_not_mistaken_for_a_call(
    model: ChatOpenAI, ledger: Ledger
) -> None:
    handler = CostCallbackHandler(ledger)
    set_llm_cache(InMemoryCache())
    try:
        model.invoke("x", config={"callbacks": [handler]})
    finally:
        set_llm_cache(None)
    ledger.flush()
    assert len(ledger.records()) == 1


def test_llm_adapter_is_not_counted_twice(emulator: Emulator, ledger: Ledger) -> None:
    llm = OpenAILLM(model="gpt-4o-mini", api_key="k", base_url=emulator.openai_base_url)
    handler = CostCallbackHandler(ledger)
    llm.invoke("once", config={"callbacks": [handler]})
    llm.batch(["a", "b"], config={"callbacks": [handler]})
    ledger.flush()
    assert len(ledger.records()) == 3


def test_unknown_model_recorded_unpriced(emulator: Emulator, ledger: Ledger) -> None:
    odd = ChatOpenAI(model="acme-unknown-1", api_key="k", base_url=emulator.openai_base_url)
    odd.invoke("hi", config={"callbacks": [CostCallbackHandler(ledger)]})
    ledger.flush()
    [record] = ledger.records()
    assert record.cost is None
    assert record.model == "acme-unknown-1"


def test_thousand_concurrent_calls_threads_and_tasks(emulator: Emulator, ledger: Ledger) -> None:
    # 500 tasks connect at once: on a loaded machine the loopback backlog can refuse a few,
    # which the SDK's retries absorb (a retried call is still recorded once).
    model = ChatOpenAI(
        model="gpt-4o-mini", api_key="k", base_url=emulator.openai_base_url, max_retries=3
    )
    handler = CostCallbackHandler(ledger)
    emulator.script(*[Reply("ok", usage=Usage(prompt_tokens=100, completion_tokens=10))] * 1000)

    def call(i: int) -> None:
        model.invoke(
            f"q{i}", config={"callbacks": [handler], "metadata": {"workspace_id": f"w{i % 3}"}}
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(call, range(500)))

    async def tasks() -> None:
        config = {"callbacks": [handler]}
        await asyncio.gather(*(model.ainvoke(f"t{i}", config=config) for i in range(500)))

    asyncio.run(tasks())
    ledger.flush()
    assert len(ledger.records(limit=5000)) == 1000
    assert ledger.total_cost() == _expected(100, 10) * 1000


def test_budget_stops_a_call_before_it_is_sent(
    emulator: Emulator, model: ChatOpenAI, ledger: Ledger
) -> None:
    guard = BudgetGuard(ledger, [Budget("workspace", "tight", Decimal("0.0005"))])
    handler = CostCallbackHandler(ledger, budgets=guard)
    config = {"callbacks": [handler], "metadata": {"workspace_id": "tight"}}
    emulator.script(Reply("fine", usage=Usage(prompt_tokens=100, completion_tokens=10)))
    model.invoke("small", config=config, max_tokens=100)
    sent = len(emulator.requests)
    with pytest.raises(BudgetExceededError, match="tight"):
        model.invoke("x" * 30000, config=config, max_tokens=4000)
    assert len(emulator.requests) == sent, "the over-budget call never reached the provider"
    other = {"callbacks": [handler], "metadata": {"workspace_id": "free"}}
    assert model.invoke("no budget here", config=other).content


def test_llamaindex_handler(emulator: Emulator, ledger: Ledger) -> None:
    from llama_index.core import instrumentation
    from llama_index.core.llms import ChatMessage

    from polyvox.costs.tracking import track_llamaindex_costs
    from polyvox.openai.llamaindex import OpenAI

    handler = track_llamaindex_costs(ledger, attribution={"workspace_id": "li"})
    try:
        llm = OpenAI(
            model="gpt-4o-mini", api_key="k", base_url=emulator.openai_base_url, max_retries=0
        )
        emulator.script(Reply("hello", usage=Usage(prompt_tokens=50, completion_tokens=5)))
        llm.complete("hi")
        emulator.fail(Fault.server_error(500))
        with pytest.raises(ModelAPIError):
            llm.chat([ChatMessage(role="user", content="x")])
    finally:
        instrumentation.get_dispatcher().event_handlers.remove(handler)
    ledger.flush()
    records = sorted(ledger.records(), key=lambda r: r.outcome)
    assert [r.outcome for r in records] == ["error", "ok"]
    failed, ok = records
    assert (failed.provider, failed.model, failed.workspace_id) == ("openai", "gpt-4o-mini", "li")
    assert (ok.workspace_id, ok.provider, ok.input_tokens, ok.output_tokens) == (
        "li",
        "openai",
        50,
        5,
    )
    assert ok.cost == _expected(50, 5)
