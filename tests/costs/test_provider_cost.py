"""The provider's own cost (``response_metadata["provider_cost"]``) in the ledger and reports.

OpenRouter reports what it billed in ``usage.cost``; the handler records it beside the
catalog's price, on LangChain's path and on polyvox's direct path alike, prices with it a
model the catalog does not know, and leaves it out for a response-cache hit.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.globals import set_llm_cache

from polyvox.costs.catalog import default_catalog
from polyvox.costs.computation import compute_cost
from polyvox.costs.ledger import CallRecord, Ledger, read_csv
from polyvox.costs.ledger.export import write_csv
from polyvox.costs.ledger.records import FIELDS, record_from_dict, record_to_dict
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.costs.tracking.attribution import Attribution
from polyvox.costs.tracking.recorder import CallRecorder, ObservedCall, provider_cost_of
from polyvox.openai import ChatOpenRouter
from polyvox.testing import Emulator, Reply, Usage
from tests.costs.test_ledger_support import T0, rec
from tests.costs.test_tracking_direct_path import _call, _run_both
from tests.openai.conftest import replay

PRICED = "openai/gpt-4o-mini"
"""An OpenRouter model the catalog prices."""

UNKNOWN = "acme/not-in-the-catalog"
"""An OpenRouter model the catalog does not know."""


def _router(emulator: Emulator, model: str = PRICED) -> ChatOpenRouter:
    return ChatOpenRouter(
        model=model, api_key="sk-or", base_url=emulator.openai_base_url, max_retries=0
    )


def _catalog_cost(prompt: int, completion: int) -> Decimal:
    from polyvox.core.usage import make_usage

    price = default_catalog().price_for("openrouter", PRICED)
    assert price is not None
    total = compute_cost(make_usage(prompt, completion), price).total
    assert total is not None
    return total


def test_the_emulator_sends_a_scripted_cost() -> None:
    usage = Usage(prompt_tokens=3, cost="0.000042")
    assert Usage.from_dict(usage.to_dict()) == usage
    assert Usage.from_dict({"cost": 0.5}).cost == "0.5"


@pytest.mark.parametrize("asynchronous", [False, True], ids=["invoke", "ainvoke"])
def test_recorded_beside_the_catalog_price_on_both_paths(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    async def scenario(emulator: Emulator, ledger: Ledger) -> None:
        handler = CostCallbackHandler(ledger)
        emulator.script(
            Reply("a", usage=Usage(prompt_tokens=1000, completion_tokens=100, cost="0.00021")),
            Reply("b", usage=Usage(prompt_tokens=500, completion_tokens=50, cost="0.0004")),
            Reply("c", usage=Usage(prompt_tokens=10, completion_tokens=5)),
        )
        config: Any = {"callbacks": [handler]}
        await _call(_router(emulator), asynchronous, "priced", config=config)
        await _call(_router(emulator, UNKNOWN), asynchronous, "unknown", config=config)
        await _call(_router(emulator, UNKNOWN), asynchronous, "no cost reported", config=config)

    records, direct = _run_both(scenario, emulator, tmp_path, monkeypatch)
    assert direct == [3]
    found = {(r["model"], r["input_tokens"]): r for r in records}
    priced = found[(PRICED, 1000)]
    assert (priced["cost"], priced["currency"]) == (_catalog_cost(1000, 100), "USD")
    assert (priced["provider_cost"], priced["provider_currency"]) == (Decimal("0.00021"), "USD")
    unknown = found[(UNKNOWN, 500)]  # the catalog cannot price it: OpenRouter's cost is the cost
    assert (unknown["cost"], unknown["currency"]) == (Decimal("0.0004"), "USD")
    assert (unknown["provider_cost"], unknown["provider_currency"]) == (Decimal("0.0004"), "USD")
    silent = found[(UNKNOWN, 10)]
    assert (silent["cost"], silent["currency"], silent["provider_cost"]) == (None, None, None)


def test_a_byok_call_costs_the_fee_plus_the_upstream_amount(
    emulator: Emulator, ledger: Ledger
) -> None:
    body = replay(emulator, "openrouter__tool_call_empty_arguments_cost")["response"]["body"]
    model = _router(emulator, json.loads(body)["model"])
    message = model.invoke("hi", config={"callbacks": [CostCallbackHandler(ledger)]})
    reported = message.response_metadata["provider_cost"]
    assert reported["is_byok"] is True
    ledger.flush()
    [record] = ledger.records()
    expected = Decimal(reported["amount"]) + Decimal(reported["upstream_amount"])
    assert expected == Decimal("0.002445")
    assert (record.provider_cost, record.provider_currency) == (expected, "USD")


def test_streams_record_the_cost_of_their_last_chunk(emulator: Emulator, ledger: Ledger) -> None:
    handler = CostCallbackHandler(ledger)
    model = _router(emulator, UNKNOWN)
    emulator.script(
        Reply("streamed", usage=Usage(prompt_tokens=7, completion_tokens=3, cost="0.0000123")),
        Reply("async", usage=Usage(prompt_tokens=8, completion_tokens=3, cost="0.00002")),
    )
    list(model.stream("s", config={"callbacks": [handler]}))

    async def astream() -> None:
        async for _ in model.astream("a", config={"callbacks": [handler]}):
            pass

    asyncio.run(astream())
    ledger.flush()
    costs = sorted((r.input_tokens, r.cost, r.provider_cost) for r in ledger.records())
    assert costs == [
        (7, Decimal("0.0000123"), Decimal("0.0000123")),
        (8, Decimal("0.00002"), Decimal("0.00002")),
    ]


def test_a_cache_hit_does_not_repeat_the_original_cost(emulator: Emulator, ledger: Ledger) -> None:
    from polyvox.cache import InMemoryResponseCache

    handler = CostCallbackHandler(ledger)
    model = _router(emulator, UNKNOWN)
    emulator.script(Reply("once", usage=Usage(prompt_tokens=9, completion_tokens=2, cost="0.001")))
    set_llm_cache(InMemoryResponseCache())
    try:
        first = model.invoke("cache me", config={"callbacks": [handler]})
        again = model.invoke("cache me", config={"callbacks": [handler]})
    finally:
        set_llm_cache(None)
    assert again.response_metadata["provider_cost"] == first.response_metadata["provider_cost"]
    ledger.flush()
    original, hit = sorted(ledger.records(), key=lambda r: r.cache_hit)
    assert (original.cost, original.provider_cost) == (Decimal("0.001"), Decimal("0.001"))
    assert hit.cache_hit
    assert (hit.cost, hit.provider_cost, hit.provider_currency) == (Decimal(0), None, None)


def test_the_recorder_takes_the_metadata_as_it_is(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = CallRecorder(ledger)
    usage: Any = {"input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100}
    attribution = Attribution()
    reported = {"amount": "0.5", "currency": "EUR", "details": {"x": None}}
    record = recorder.record_call(
        "openrouter", PRICED, usage, latency_ms=1.0, attribution=attribution,
        provider_cost=reported,
    )  # fmt: skip
    assert (record.cost, record.currency) == (_catalog_cost(1000, 100), "USD")
    assert (record.provider_cost, record.provider_currency) == (Decimal("0.5"), "EUR")
    observed = ObservedCall(
        "acme",
        "m",
        None,
        1.0,
        attribution,
        provider_cost={"amount": "1e-3", "upstream_amount": "2"},
    )
    record = recorder.record(observed)
    assert (record.cost, record.currency) == (Decimal("2.001"), "USD")  # USD unless told
    with caplog.at_level(logging.WARNING, logger="polyvox.costs"):
        record = recorder.record_call(
            "acme", "m", None, latency_ms=1.0, attribution=attribution,
            provider_cost={"amount": "lots"},
        )  # fmt: skip
    assert (record.cost, record.provider_cost) == (None, None)
    assert "unreadable provider cost" in caplog.text
    assert provider_cost_of(None) is None
    assert provider_cost_of({"currency": "USD"}) is None
    assert provider_cost_of({"amount": 0.25}) == ("0.25", None, "USD")


def test_reports_sum_the_provider_cost_beside_the_cost(ledger: Ledger) -> None:
    ledger.record(rec(model="a", cost=Decimal("0.10"), provider_cost=Decimal("0.12"),
                      provider_currency="USD"))  # fmt: skip
    ledger.record(rec(model="a", cost=Decimal("0.20"), provider_cost=Decimal("0.19"),
                      provider_currency="USD"))  # fmt: skip
    ledger.record(rec(model="a", cost=Decimal("0.05")))  # the provider reported nothing
    ledger.record(rec(model="b", cost=Decimal("3"), currency="RUB"))
    ledger.record(rec(model="b", cost=None, currency=None, provider_cost=Decimal("0.01"),
                      provider_currency="EUR"))  # fmt: skip
    rows = {row.model: row for row in ledger.report(by=["model"])}
    a, b = rows["a"], rows["b"]
    assert (a.cost, a.currency, a.costs) == (Decimal("0.35"), "USD", {"USD": Decimal("0.35")})
    assert a.provider_costs == {"USD": Decimal("0.31")}
    assert (a.provider_cost, a.provider_currency, a.provider_cost_calls) == (
        Decimal("0.31"), "USD", 2,
    )  # fmt: skip
    assert (b.provider_costs, b.provider_cost, b.provider_currency) == (
        {"EUR": Decimal("0.01")}, Decimal("0.01"), "EUR",
    )  # fmt: skip
    overall = ledger.stats()
    assert overall.provider_costs == {"USD": Decimal("0.31"), "EUR": Decimal("0.01")}
    assert (overall.provider_cost, overall.provider_currency) == (None, None)  # two currencies
    assert overall.provider_cost_calls == 3
    rates = {"RUB": Decimal("0.01"), "EUR": Decimal("1.1")}
    usd = ledger.stats(currency="USD", rates=rates)
    assert (usd.cost, usd.provider_cost, usd.provider_currency) == (
        Decimal("0.38"), Decimal("0.321"), "USD",
    )  # fmt: skip
    # a provider currency without a rate leaves the provider total unknown, not the report
    partial = ledger.stats(currency="USD", rates={"RUB": Decimal("0.01")})
    assert (partial.cost, partial.provider_cost, partial.provider_currency) == (
        Decimal("0.38"), None, None,
    )  # fmt: skip
    assert partial.provider_costs == overall.provider_costs
    empty = ledger.stats(where={"model": "none"})
    assert (empty.provider_costs, empty.provider_cost, empty.provider_cost_calls) == ({}, None, 0)


def test_csv_and_plain_data_keep_the_provider_cost(ledger: Ledger, tmp_path: Path) -> None:
    assert FIELDS.index("provider_cost") == FIELDS.index("currency") + 1
    assert FIELDS.index("provider_currency") == FIELDS.index("provider_cost") + 1
    record = rec(provider_cost=Decimal("0.000924000"), provider_currency="USD")
    data = record_to_dict(record)
    assert data["provider_cost"] == "0.000924000"
    assert record_from_dict(json.loads(json.dumps(data))) == record
    ledger.record(record)
    ledger.record(rec(model="plain"))
    ledger.export_csv(tmp_path / "calls.csv")
    header = (tmp_path / "calls.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == list(FIELDS)
    assert read_csv(tmp_path / "calls.csv") == ledger.records()


def test_data_written_before_the_provider_cost_still_reads() -> None:
    record = rec(provider_cost=None)
    data = record_to_dict(record)
    old = {k: v for k, v in data.items() if k not in ("provider_cost", "provider_currency")}
    assert record_from_dict(old) == record  # an older spill file's line
    out = io.StringIO()
    write_csv([record], out)
    lines = out.getvalue().splitlines()
    header = lines[0].split(",")
    keep = [i for i, name in enumerate(header) if not name.startswith("provider_")]
    old_csv = "\n".join(",".join(line.split(",")[i] for i in keep) for line in lines)
    assert "provider_cost" not in old_csv
    assert read_csv(io.StringIO(old_csv + "\n")) == [record]  # an older export
    with pytest.raises(ValueError, match="'model'"):
        record_from_dict({k: v for k, v in data.items() if k != "model"})


def test_records_turn_provider_amounts_into_decimals() -> None:
    record = CallRecord(provider="p", model="m", time=T0, provider_cost=0.25)  # type: ignore[arg-type]
    assert record.provider_cost == Decimal("0.25")
    assert replace(record, provider_cost=None).provider_cost is None


def test_the_llamaindex_handler_records_it_too(emulator: Emulator, ledger: Ledger) -> None:
    # as the LangChain handler does: beside the catalog price, and pricing an unknown model
    from llama_index.core import instrumentation

    from polyvox.core.llamaindex import to_llamaindex
    from polyvox.costs.tracking import track_llamaindex_costs

    handler = track_llamaindex_costs(ledger)
    try:
        emulator.script(
            Reply("a", usage=Usage(prompt_tokens=1000, completion_tokens=100, cost="0.00021")),
            Reply("b", usage=Usage(prompt_tokens=500, completion_tokens=50, cost="0.0004")),
        )
        to_llamaindex(_router(emulator)).complete("priced")
        to_llamaindex(_router(emulator, UNKNOWN)).complete("unknown")
    finally:
        instrumentation.get_dispatcher().event_handlers.remove(handler)
    ledger.flush()
    found = {r.model: r for r in ledger.records()}
    priced, unknown = found[PRICED], found[UNKNOWN]
    assert (priced.cost, priced.provider_cost) == (_catalog_cost(1000, 100), Decimal("0.00021"))
    assert (unknown.cost, unknown.provider_cost) == (Decimal("0.0004"), Decimal("0.0004"))


def test_the_llamaindex_handler_reads_another_llms_raw_usage_cost() -> None:
    # a LlamaIndex LLM of another package keeps the SDK's response as raw, usage.cost included
    from llama_index.core.base.llms.types import ChatMessage, ChatResponse
    from openai.types import CompletionUsage

    from polyvox.costs.tracking.llamaindex_handler import _usage

    usage = CompletionUsage.model_validate(
        {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10, "cost": 0.000123}
    )
    response = ChatResponse(message=ChatMessage(content="x"), raw={"usage": usage})
    tokens, meta = _usage(response)
    assert tokens is not None
    assert (tokens["input_tokens"], tokens["output_tokens"]) == (7, 3)
    assert meta["provider_cost"] == {"amount": "0.000123", "currency": "USD"}
    assert provider_cost_of(meta["provider_cost"]) == ("0.000123", None, "USD")
