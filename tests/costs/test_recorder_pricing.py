"""The recorder's cached per-token rates give exactly what ``compute_cost`` gives."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from polyvox.costs.catalog import ModelCatalog, ModelPrice, PriceTier
from polyvox.costs.computation import compute_cost, per_token_rates, priced_total, usage_tokens
from polyvox.costs.tracking.attribution import Attribution
from polyvox.costs.tracking.recorder import CallRecorder


class _Collect:
    def __init__(self) -> None:
        self.records: list[object] = []

    def record(self, record: object) -> None:
        self.records.append(record)


def _usages(seed: int, n: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        inp = rng.randint(0, 2_000_000)
        read = rng.randint(0, inp // 2)
        write = rng.randint(0, inp - read)
        outp = rng.randint(0, 100_000)
        details: dict[str, int] = {"cache_read": read, "cache_creation": write}
        if rng.random() < 0.5:  # Anthropic's split of the writes by cache lifetime
            hour = rng.randint(0, write)
            details.update(
                cache_creation=0,
                ephemeral_5m_input_tokens=write - hour,
                ephemeral_1h_input_tokens=hour,
            )
        out.append(
            {
                "input_tokens": inp,
                "output_tokens": outp,
                "total_tokens": inp + outp,
                "input_token_details": details,
                "output_token_details": {"reasoning": rng.randint(0, outp)},
            }
        )
    return out


def test_every_priced_catalog_model_matches_compute_cost_exactly() -> None:
    catalog = ModelCatalog.builtin()
    usages = _usages(7, 25)
    checked = 0
    for entry in catalog:
        price = catalog.price_for(entry.provider, entry.model)
        if price is None:
            continue
        rates = per_token_rates(price)
        for usage in usages:
            expected = compute_cost(usage, price).total  # type: ignore[arg-type]
            if rates is not None:
                assert priced_total(usage_tokens(usage), rates) == expected  # type: ignore[arg-type]
            recorder = CallRecorder(_Collect(), catalog)  # type: ignore[arg-type]
            tokens = usage_tokens(usage)  # type: ignore[arg-type]
            cost, currency = recorder._price(entry.provider, entry.model, tokens, True, False)
            assert (cost, currency) == (expected, price.currency)
            checked += 1
    assert checked > 500


def test_tiered_and_odd_divisor_prices_take_the_general_path() -> None:
    tiered = ModelPrice(
        currency="USD",
        input=Decimal("1.25"),
        output=Decimal("10"),
        tiers=(PriceTier(min_input_tokens=200_000, input=Decimal("2.5"), output=Decimal("15")),),
    )
    odd = ModelPrice(currency="RUB", input=Decimal("1"), output=Decimal("2"), per_tokens=3)
    assert per_token_rates(tiered) is None
    assert per_token_rates(odd) is None
    rub = ModelPrice(currency="RUB", input=Decimal("0.2"), output=Decimal("0.2"), per_tokens=1000)
    assert per_token_rates(rub) == (Decimal("0.0002"),) * 6


def test_record_call_uses_the_given_id_and_re_reads_the_catalog() -> None:
    catalog = ModelCatalog.builtin()
    ledger = _Collect()
    recorder = CallRecorder(ledger, catalog)  # type: ignore[arg-type]
    usage = {"input_tokens": 1000, "output_tokens": 1000, "total_tokens": 2000}
    first = recorder.record_call(
        "openai", "gpt-4o-mini", usage, latency_ms=1.0, attribution=Attribution(), record_id="r1"
    )  # type: ignore[arg-type]
    assert first.id == "r1"
    catalog.override("gpt-4o-mini", "openai", price={"input": 1, "output": 1, "currency": "USD"})
    second = recorder.record_call(
        "openai", "gpt-4o-mini", usage, latency_ms=1.0, attribution=Attribution()
    )  # type: ignore[arg-type]
    assert second.cost == Decimal("0.002")
    assert first.cost != second.cost
    assert len(second.id) == 32


def test_inconsistent_usage_is_recorded_unpriced(caplog: pytest.LogCaptureFixture) -> None:
    recorder = CallRecorder(_Collect(), ModelCatalog.builtin())  # type: ignore[arg-type]
    bad = {"input_tokens": 1, "output_tokens": 0, "input_token_details": {"cache_read": 5}}
    record = recorder.record_call(
        "openai", "gpt-4o-mini", bad, latency_ms=None, attribution=Attribution()
    )  # type: ignore[arg-type]
    assert record.cost is None
    assert "could not price" in caplog.text
