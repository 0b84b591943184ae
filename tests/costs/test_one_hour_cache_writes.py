"""Anthropic's 1-hour cache writes, priced at their own rate (2x input, not 1.25x)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polyvox.costs.catalog import ModelCatalog, ModelPrice, PriceTier
from polyvox.costs.catalog.schema import parse_price
from polyvox.costs.computation import (
    TokenPartition,
    compute_cost,
    per_token_rates,
    priced_total,
    tokens_usage,
    usage_tokens,
)

USAGE = {
    "input_tokens": 10_000,
    "output_tokens": 100,
    "total_tokens": 10_100,
    "input_token_details": {
        "cache_read": 2_000,
        "cache_creation": 0,
        "ephemeral_5m_input_tokens": 3_000,
        "ephemeral_1h_input_tokens": 4_000,
    },
}


@pytest.mark.parametrize(
    ("model", "base"),
    [("claude-haiku-4-5", "1"), ("claude-sonnet-4-5", "3"), ("claude-opus-4-1", "15")],
)
def test_catalog_prices_claude_one_hour_writes_at_twice_the_input(model: str, base: str) -> None:
    price = ModelCatalog.builtin().price_for("anthropic", model)
    assert price is not None
    assert price.input == Decimal(base)
    assert price.cache_write == Decimal(base) * Decimal("1.25")
    assert price.cache_write_1h == Decimal(base) * 2


def test_long_context_tiers_get_their_own_one_hour_rate() -> None:
    price = ModelCatalog.builtin().price_for("anthropic", "claude-sonnet-4-5")
    assert price is not None
    assert price.tiers
    assert [t.cache_write_1h for t in price.tiers] == [t.input * 2 for t in price.tiers]


def test_a_claude_call_with_both_lifetimes() -> None:
    price = ModelCatalog.builtin().price_for("anthropic", "claude-haiku-4-5")
    assert price is not None
    cost = compute_cost(USAGE, price)
    per = Decimal(1_000_000)
    assert cost.tokens == TokenPartition(1_000, 2_000, 7_000, 100, 0, cache_write_1h=4_000)
    assert cost.input == 1_000 * Decimal(1) / per
    assert cost.cache_read == 2_000 * Decimal("0.1") / per
    assert cost.cache_write == (3_000 * Decimal("1.25") + 4_000 * Decimal(2)) / per
    assert cost.output == 100 * Decimal(5) / per
    assert cost.total == Decimal("0.01345")  # 0.001 + 0.0002 + 0.01175 + 0.0005
    rates = per_token_rates(price)
    assert rates is not None
    assert priced_total(usage_tokens(USAGE), rates) == cost.total


def test_without_a_one_hour_price_the_writes_cost_the_five_minute_rate() -> None:
    price = ModelPrice("USD", input=1, output=5, cache_read="0.1", cache_write="1.25")
    assert price.unit_prices(0).cache_write_1h == Decimal("1.25")
    cost = compute_cost(USAGE, price)
    assert cost.cache_write == 7_000 * Decimal("1.25") / 1_000_000
    rates = per_token_rates(price)
    assert rates is not None
    # five counts (no 1-hour part) or five rates (no 1-hour price): the same total
    assert priced_total(usage_tokens(USAGE)[:5], rates) == cost.total
    assert priced_total(usage_tokens(USAGE), rates[:5]) == cost.total


def test_usage_tokens_and_tokens_usage_round_trip_the_one_hour_part() -> None:
    counts = usage_tokens(USAGE)
    assert counts == (10_000, 2_000, 7_000, 100, 0, 4_000)
    again = tokens_usage(counts)
    assert usage_tokens(again) == counts
    assert TokenPartition.from_usage(again) == TokenPartition.from_usage(USAGE)


def test_a_tier_without_its_own_one_hour_price_uses_the_base_one() -> None:
    tier = PriceTier(200_000, input=6, output="22.5", cache_write="7.5", cache_write_1h=12)
    price = ModelPrice("USD", input=3, output=15, cache_write="3.75", cache_write_1h=6,
                       tiers=(tier,))  # fmt: skip
    assert price.unit_prices(300_000).cache_write_1h == Decimal(12)
    bare = ModelPrice("USD", input=3, output=15, cache_write_1h=6,
                      tiers=(PriceTier(200_000, input=6, output="22.5"),))  # fmt: skip
    assert bare.unit_prices(300_000).cache_write_1h == Decimal(6)


def test_yaml_prices_take_cache_write_1h() -> None:
    price = parse_price(
        {"currency": "USD", "input": 3, "output": 15, "cache_write": 3.75,
         "cache_write_1h": 6, "tiers": [{"min_input_tokens": 200000, "input": 6,
                                          "output": 22.5, "cache_write_1h": 12}]}
    )  # fmt: skip
    assert price is not None
    assert price.cache_write_1h == Decimal(6)
    assert price.tiers[0].cache_write_1h == Decimal(12)


def test_a_total_beside_its_split_is_not_counted_twice() -> None:
    both = {
        "input_tokens": 1_000,
        "output_tokens": 10,
        "input_token_details": {
            "cache_creation": 800,  # the total, as some reporters give it beside the split
            "ephemeral_5m_input_tokens": 500,
            "ephemeral_1h_input_tokens": 300,
        },
    }
    assert usage_tokens(both)[2] == 800
    assert TokenPartition.from_usage(both).cache_write == 800
    total_only = {"input_tokens": 1_000, "output_tokens": 10, "input_token_details": {}}
    total_only["input_token_details"] = {"cache_creation": 800}
    assert usage_tokens(total_only)[2] == 800


def test_null_counts_read_as_zero() -> None:
    usage = {
        "input_tokens": 12,
        "output_tokens": None,
        "input_token_details": {"cache_read": None},
        "output_token_details": {"reasoning": None},
    }
    assert usage_tokens(usage) == (12, 0, 0, 0, 0, 0)
