"""Gemini calls priced and recorded: the catalog's prices, the cost handler's ledger rows, a router.

The catalog prices every Gemini model polyvox-google's profiles name (genai-prices), with
its long-context tier (a prompt over 200K tokens switches the whole call to the tier's
prices) and its cached-content (cache read) price; a ``CostCallbackHandler`` on a SQLite
ledger records a priced row for each ``ChatGoogleGenerativeAI`` call against the emulator;
a router with a Gemini deployment (cloud: never given confidential data) routes to it and
records what it cost.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from polyvox.costs.catalog import default_catalog
from polyvox.costs.computation import compute_cost
from polyvox.costs.ledger import Ledger
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.google import ChatGoogleGenerativeAI
from polyvox.google.profiles import GOOGLE_PROFILES
from polyvox.ollama import ChatOllama
from polyvox.router.router import Router
from polyvox.testing import Emulator, Reply, Usage

UNPRICED = {"text-embedding-004"}
"""Profiles without a price: genai-prices has none for the retired text-embedding-004."""

MILLION = Decimal(1_000_000)


def _gemini(emulator: Emulator, model: str = "gemini-2.5-flash") -> ChatGoogleGenerativeAI:
    return ChatGoogleGenerativeAI(
        model=model, api_key="test-key", base_url=emulator.gemini_base_url, max_retries=0
    )


def _row(ledger: Ledger) -> Any:
    ledger.flush()
    (record,) = ledger.records()
    return record


@pytest.mark.parametrize("model", sorted(GOOGLE_PROFILES))
def test_every_profiled_model_is_priced(model: str) -> None:
    price = default_catalog().price_for("google", model)
    if model in UNPRICED:
        assert price is None
        return
    assert price is not None, f"the catalog has no price for google/{model}"
    assert (price.currency, price.input > 0) == ("USD", True)


@pytest.mark.parametrize(
    "model", ["gemini-2.5-pro", "gemini-3-pro-preview", "gemini-3.1-pro-preview"]
)
def test_pro_models_have_the_long_context_tier(model: str) -> None:
    price = default_catalog().price_for("google", model)
    assert price is not None
    (tier,) = price.tiers
    assert tier.min_input_tokens == 200_000
    assert tier.input == 2 * price.input
    assert price.cache_read is not None
    assert tier.cache_read == 2 * price.cache_read


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
async def test_a_call_is_recorded_with_its_cached_tokens_priced(
    emulator: Emulator, ledger: Ledger, mode: str
) -> None:
    """gemini-2.5-flash: $0.30 input, $0.03 cache read, $2.50 output per 1M tokens."""
    model = _gemini(emulator)
    emulator.script(
        Reply("ok", usage=Usage(prompt_tokens=10_000, completion_tokens=500, cached_tokens=8_000))
    )
    config: Any = {"callbacks": [CostCallbackHandler(ledger)]}
    if mode == "invoke":
        model.invoke("hi", config=config)
    elif mode == "stream":
        list(model.stream("hi", config=config))
    elif mode == "ainvoke":
        await model.ainvoke("hi", config=config)
    else:
        [c async for c in model.astream("hi", config=config)]
    record = _row(ledger)
    assert (record.provider, record.model, record.outcome) == ("google", "gemini-2.5-flash", "ok")
    assert (record.input_tokens, record.cache_read_tokens, record.output_tokens) == (
        10_000,
        8_000,
        500,
    )
    expected = (2_000 * Decimal("0.3") + 8_000 * Decimal("0.03") + 500 * Decimal("2.5")) / MILLION
    assert (record.cost, record.currency) == (expected, "USD")


@pytest.mark.parametrize(
    ("prompt", "rates"),
    [
        (200_000, (Decimal("1.25"), Decimal("0.125"), Decimal("10"))),
        (300_000, (Decimal("2.5"), Decimal("0.25"), Decimal("15"))),
    ],
    ids=["at 200K: base", "above 200K: tier"],
)
def test_the_long_context_tier_applies_above_200k(
    emulator: Emulator, ledger: Ledger, prompt: int, rates: tuple[Decimal, Decimal, Decimal]
) -> None:
    """gemini-2.5-pro bills the whole call at the tier once the prompt passes 200K tokens."""
    usage = Usage(
        prompt_tokens=prompt, completion_tokens=1_000, cached_tokens=100_000, reasoning_tokens=200
    )
    emulator.script(Reply("long", usage=usage))
    message = _gemini(emulator, "gemini-2.5-pro").invoke(
        "a long prompt", config={"callbacks": [CostCallbackHandler(ledger)]}
    )
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_token_details"] == {"cache_read": 100_000}
    assert message.usage_metadata["output_token_details"] == {"reasoning": 200}
    record = _row(ledger)
    assert (record.reasoning_tokens, record.cache_read_tokens) == (200, 100_000)
    input_rate, cache_rate, output_rate = rates
    expected = (
        (prompt - 100_000) * input_rate + 100_000 * cache_rate + 1_000 * output_rate
    ) / MILLION
    assert record.cost == expected
    price = default_catalog().price_for("google", "gemini-2.5-pro")
    assert price is not None
    assert compute_cost(message.usage_metadata, price).total == expected


def test_a_router_with_a_gemini_deployment_routes_and_records_cost(
    emulator: Emulator, ledger: Ledger
) -> None:
    """Gemini (cloud) answers ordinary requests; confidential ones stay on the local model."""
    local = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)
    router = Router(
        [_gemini(emulator), local],
        strategy=lambda candidates, request, stats: sorted(candidates, key=lambda d: d.local),
        max_retries=0,
    )
    emulator.script(Reply("Paris", usage=Usage(prompt_tokens=1_000, completion_tokens=200)))
    handler = CostCallbackHandler(ledger)
    answer = router.invoke("Capital of France?", config={"callbacks": [handler]})
    assert answer.content == "Paris"
    assert answer.response_metadata["router"]["deployment"] == "google/gemini-2.5-flash"
    secret = router.invoke(
        "salary review notes", sensitivity="confidential", config={"callbacks": [handler]}
    )
    assert secret.response_metadata["router"]["deployment"] == "ollama/llama3.2"
    generate = [r for r in emulator.requests if "enerateContent" in r.path]
    assert len(generate) == 1, "the confidential request never reached Gemini"
    ledger.flush()
    records = {r.provider: r for r in ledger.records()}
    assert set(records) == {"google", "ollama"}
    gemini = records["google"]
    assert (gemini.model, gemini.input_tokens, gemini.output_tokens) == (
        "gemini-2.5-flash",
        1_000,
        200,
    )
    assert gemini.cost == (1_000 * Decimal("0.3") + 200 * Decimal("2.5")) / MILLION
    assert records["ollama"].cost == Decimal(0)
