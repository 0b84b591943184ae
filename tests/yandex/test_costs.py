"""YandexGPT calls priced and recorded: RUB from the catalog's overlay, deferred at half price.

A ``CostCallbackHandler`` on a SQLite ledger records a priced row (RUB, per 1K tokens, as the
overlay prices YandexGPT) for each ``ChatYandexGPT`` call against the emulator; a deferred
completion (``completionAsync``, ``response_metadata["deferred"]``) is priced with the
overlay's ``deferred_multiplier`` (half); a router with a Yandex deployment (cloud: never
given confidential data) routes to it and records what it cost.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from polyvox.costs.catalog import ModelPrice, default_catalog
from polyvox.costs.computation import compute_cost
from polyvox.costs.currency import CurrencyRates
from polyvox.costs.ledger import Ledger
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.ollama import ChatOllama
from polyvox.router.router import Router
from polyvox.testing import Emulator, Reply, Usage
from polyvox.yandex import ChatYandexGPT

THOUSAND = Decimal(1000)


def _yandex(emulator: Emulator, model: str = "yandexgpt") -> ChatYandexGPT:
    return ChatYandexGPT(
        model=model, folder_id="b1gfolder", api_key="AQVNtest",
        base_url=emulator.yandex_endpoint, max_retries=0, poll_interval=0.01,
    )  # fmt: skip


def _records(ledger: Ledger) -> list[Any]:
    ledger.flush()
    return list(ledger.records())


@pytest.mark.parametrize(
    ("model", "rate"),
    [("yandexgpt", "1.20"), ("yandexgpt-lite", "0.20"), ("yandexgpt/rc", "0.80")],
)
@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
async def test_a_call_is_recorded_in_rub(
    emulator: Emulator, ledger: Ledger, model: str, rate: str, mode: str
) -> None:
    emulator.script(Reply("ок", usage=Usage(prompt_tokens=2_000, completion_tokens=500)))
    chat = _yandex(emulator, model)
    config: Any = {"callbacks": [CostCallbackHandler(ledger)]}
    if mode == "invoke":
        chat.invoke("hi", config=config)
    elif mode == "stream":
        list(chat.stream("hi", config=config))
    elif mode == "ainvoke":
        await chat.ainvoke("hi", config=config)
    else:
        [c async for c in chat.astream("hi", config=config)]
    (record,) = _records(ledger)
    assert (record.provider, record.model, record.outcome) == ("yandex", model, "ok")
    assert (record.input_tokens, record.output_tokens) == (2_000, 500)
    assert (record.cost, record.currency) == (2_500 * Decimal(rate) / THOUSAND, "RUB")


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_deferred_completions_cost_half(
    emulator: Emulator, ledger: Ledger, asynchronous: bool
) -> None:
    usage = Usage(prompt_tokens=2_000, completion_tokens=500)
    emulator.script(Reply("a", usage=usage), Reply("b", usage=usage), Reply("c", usage=usage))
    chat = _yandex(emulator)
    handler = CostCallbackHandler(ledger)
    if asynchronous:
        answers = await chat.abatch(["1", "2"], config={"callbacks": [handler]}, deferred=True)
        await chat.ainvoke("3", config={"callbacks": [handler]})
    else:
        answers = chat.batch(["1", "2"], config={"callbacks": [handler]}, deferred=True)
        chat.invoke("3", config={"callbacks": [handler]})
    assert all(a.response_metadata["deferred"] is True for a in answers)
    costs = sorted(r.cost for r in _records(ledger))
    full = 2_500 * Decimal("1.20") / THOUSAND  # 3 RUB
    assert costs == [full / 2, full / 2, full]


def test_the_deferred_price_is_every_price_times_the_multiplier() -> None:
    price = default_catalog().price_for("yandex", "gpt://b1gfolder/yandexgpt-lite/latest")
    assert price is not None
    assert price.deferred_multiplier == Decimal("0.5")
    deferred = price.deferred()
    assert (deferred.input, deferred.output, deferred.cache_read) == (
        Decimal("0.10"), Decimal("0.10"), Decimal("0.10"),
    )  # fmt: skip
    assert deferred.deferred_multiplier is None
    assert "deferred" in deferred.source
    plain = ModelPrice("USD", 1, 2)
    assert plain.deferred() is plain  # no multiplier: deferred calls cost as synchronous


def test_rub_costs_convert_as_the_catalog_does(emulator: Emulator) -> None:
    emulator.script(Reply("ок", usage=Usage(prompt_tokens=1_000, completion_tokens=1_000)))
    message = _yandex(emulator, "aliceai-llm").invoke("hi")
    price = default_catalog().price_for("yandex", message.response_metadata["model_name"])
    assert price is not None
    assert message.usage_metadata is not None
    cost = compute_cost(message.usage_metadata, price)
    assert (cost.total, cost.currency) == (Decimal("1.7"), "RUB")  # 0.50 in + 1.20 out per 1K
    in_usd = cost.convert("USD", CurrencyRates({"RUB": "0.011"}))
    assert (in_usd.total, in_usd.currency) == (Decimal("0.0187"), "USD")


def test_a_router_with_a_yandex_deployment_routes_and_records_cost(
    emulator: Emulator, ledger: Ledger
) -> None:
    """YandexGPT (cloud) answers ordinary requests; confidential ones stay on the local model."""
    local = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)
    router = Router(
        [_yandex(emulator), local],
        strategy=lambda candidates, request, stats: sorted(candidates, key=lambda d: d.local),
        max_retries=0,
    )
    emulator.script(Reply("Москва", usage=Usage(prompt_tokens=1_000, completion_tokens=200)))
    handler = CostCallbackHandler(ledger)
    # YandexGPT is a Russian specialist: the router tries it first for Russian requests
    answer = router.invoke("Столица России?", language="ru", config={"callbacks": [handler]})
    assert answer.content == "Москва"
    assert answer.response_metadata["router"]["deployment"] == "yandex/yandexgpt"
    secret = router.invoke(
        "зарплатная ведомость", sensitivity="confidential", language="ru",
        config={"callbacks": [handler]},
    )  # fmt: skip
    assert secret.response_metadata["router"]["deployment"] == "ollama/llama3.2"
    completions = [r for r in emulator.requests if r.path.endswith("Service/Completion")]
    assert len(completions) == 1, "the confidential request never reached Yandex"
    records = {r.provider: r for r in _records(ledger)}
    assert set(records) == {"yandex", "ollama"}
    yandex = records["yandex"]
    assert (yandex.model, yandex.input_tokens, yandex.output_tokens) == ("yandexgpt", 1_000, 200)
    assert (yandex.cost, yandex.currency) == (1_200 * Decimal("1.20") / THOUSAND, "RUB")
    assert records["ollama"].cost == Decimal(0)


def test_the_recorder_prices_a_deferred_observed_call(ledger: Ledger) -> None:
    """What the LlamaIndex handler records: an ObservedCall with ``deferred`` set."""
    from polyvox.core.usage import make_usage
    from polyvox.costs.tracking.attribution import Attribution
    from polyvox.costs.tracking.recorder import CallRecorder, ObservedCall

    recorder = CallRecorder(ledger)
    call = ObservedCall("yandex", "yandexgpt", make_usage(1_000, 1_000), 1.0, Attribution())
    assert recorder.price(call) == (Decimal("2.4"), "RUB")
    deferred = ObservedCall(
        "yandex", "yandexgpt", make_usage(1_000, 1_000), 1.0, Attribution(), deferred=True
    )
    assert recorder.price(deferred) == (Decimal("1.2"), "RUB")
