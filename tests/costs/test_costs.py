from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from polyvox.core.usage import make_usage
from polyvox.costs.catalog import ModelCatalog, ModelEntry, ModelPrice, PriceTier, UnknownModelError
from polyvox.costs.computation import (
    CostBreakdown,
    CurrencyRates,
    MissingRateError,
    TokenPartition,
    compute_cost,
    cost_of,
    sum_costs,
)

D = Decimal


def usd(**kwargs: object) -> ModelPrice:
    return ModelPrice("USD", **kwargs, source="test", as_of=date(2026, 1, 1))  # type: ignore[arg-type]


def test_partition_from_usage_metadata() -> None:
    usage = make_usage(1_000, 400, cache_read=600, cache_creation=100, reasoning=300)
    parts = TokenPartition.from_usage(usage)
    assert parts == TokenPartition(300, 600, 100, 100, 300)
    assert (parts.input_total, parts.output_total) == (1_000, 400)
    assert TokenPartition.from_usage(make_usage(5, 7)) == TokenPartition(5, 0, 0, 7, 0)


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        (make_usage(10, 5, cache_read=8, cache_creation=5), "must include cached tokens"),
        (make_usage(10, 5, reasoning=6), "must include reasoning tokens"),
        ({"input_tokens": -1, "output_tokens": 0}, "non-negative whole number"),
        ({"input_tokens": 1.5, "output_tokens": 0}, "non-negative whole number"),
    ],
)
def test_inconsistent_usage_is_a_clear_error(usage: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TokenPartition.from_usage(usage)


def test_unpriced_is_none_never_zero() -> None:
    c = compute_cost(make_usage(100, 50), None)
    assert c.priced is False
    assert c.total is None
    assert c.currency is None
    assert c.input is None
    assert c.tokens == TokenPartition(100, 0, 0, 50, 0)


def test_fallbacks_cache_and_reasoning() -> None:
    # No cache prices: cache reads and writes bill as input; reasoning bills as output.
    price = usd(input=D(2), output=D(8))
    c = compute_cost(
        make_usage(1_000, 1_000, cache_read=500, cache_creation=250, reasoning=400), price
    )
    assert c.cache_read == D("0.001")  # 500 * 2 / 1M
    assert c.cache_write == D("0.0005")  # 250 * 2 / 1M
    assert c.reasoning == D("0.0032")  # 400 * 8 / 1M
    assert (c.input, c.output) == (D("0.0005"), D("0.0048"))  # 250 * 2 / 1M, 600 * 8 / 1M
    assert c.total == D("0.01")


def test_reasoning_priced_apart() -> None:
    price = usd(input=D(1), output=D(4), reasoning=D(2))
    c = compute_cost(make_usage(0, 1_000, reasoning=1_000), price)
    assert (c.output, c.reasoning) == (D(0), D("0.002"))


def test_tiers_highest_exceeded_applies_with_partial_overrides() -> None:
    price = usd(
        input=D(1), output=D(2), cache_read=D("0.1"),
        tiers=(PriceTier(100, D(3), D(4)), PriceTier(1_000, D(5), D(6), cache_read=D("0.5"))),
    )  # fmt: skip
    assert price.tier_for(100) is None
    assert price.tier_for(101) == PriceTier(100, D(3), D(4))
    assert price.unit_prices(101).cache_read == D("0.1")  # not tiered: base cache price
    assert price.unit_prices(1_001).cache_read == D("0.5")
    c = compute_cost(make_usage(2_000, 10, cache_read=1_000), price)
    assert c.total == (1_000 * D(5) + 1_000 * D("0.5") + 10 * D(6)) / 1_000_000


def test_per_thousand_prices() -> None:
    price = ModelPrice("rub", "0.2", "0.4", per_tokens=1_000)
    assert price.currency == "RUB"
    assert compute_cost(make_usage(1_500, 500), price).total == D("0.5")  # 0.3 + 0.2


def test_currency_rates_convert_and_errors() -> None:
    rates = CurrencyRates({"RUB": 0.011, "eur": "1.08"})
    assert rates.rate("USD") == 1
    assert rates.rate("rub") == D("0.011")
    assert rates.convert(D("5"), "USD", "usd") == D("5")
    assert rates.convert(D("1.08"), "USD", "EUR") == 1
    with pytest.raises(MissingRateError, match="no exchange rate for KZT") as err:
        rates.convert(D(1), "KZT", "USD")
    assert "POLYVOX_FX_RATES" in str(err.value)
    assert isinstance(err.value, LookupError)
    with pytest.raises(ValueError, match="positive number"):
        CurrencyRates({"RUB": 0})
    with pytest.raises(ValueError, match="ISO 4217"):
        CurrencyRates({"RUBLES": 1})


def test_currency_rates_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYVOX_FX_RATES", "RUB=0.011, EUR=1.08")
    rates = CurrencyRates.from_env()
    assert rates.rates == {"USD": D(1), "RUB": D("0.011"), "EUR": D("1.08")}
    monkeypatch.setenv("POLYVOX_FX_RATES", "RUB:0.011")
    with pytest.raises(ValueError, match=r"POLYVOX_FX_RATES: expected CODE=RATE.*'RUB:0.011'"):
        CurrencyRates.from_env()
    monkeypatch.setenv("POLYVOX_FX_RATES", "RUB=abc")
    with pytest.raises(ValueError, match="rate for RUB must be a positive number"):
        CurrencyRates.from_env()
    monkeypatch.delenv("POLYVOX_FX_RATES")
    assert CurrencyRates.from_env().rates == {"USD": D(1)}


def test_breakdown_convert_and_sum() -> None:
    rub = compute_cost(make_usage(1_000, 0), ModelPrice("RUB", "1", "1", per_tokens=1_000))
    dollars = compute_cost(make_usage(1_000_000, 0), usd(input=D(2), output=D(0)))
    unpriced = compute_cost(make_usage(1, 1), None)
    rates = CurrencyRates({"RUB": "0.01"})
    assert rub.convert("USD", rates).total == D("0.01")
    assert unpriced.convert("USD", rates) is unpriced
    assert sum_costs([rub, dollars, unpriced], "USD", rates) == (D("2.01"), 1)
    with pytest.raises(MissingRateError):
        sum_costs([rub], "USD", CurrencyRates())


def test_cost_of_uses_catalog_and_flags_unknown() -> None:
    price = ModelPrice("EUR", "1", "2", per_tokens=1_000)
    catalog = ModelCatalog(
        [
            ModelEntry("acme", "widget", context_window=1_000, price=price),
            ModelEntry("acme", "mystery", context_window=1_000, price_source="none"),
        ],
        genai_prices=False,
    )
    breakdown = cost_of(make_usage(1_000, 1_000), "acme", "widget", catalog)
    assert isinstance(breakdown, CostBreakdown)
    assert (breakdown.total, breakdown.currency) == (D(3), "EUR")
    assert cost_of(make_usage(1, 1), "acme", "mystery", catalog).priced is False
    with pytest.raises(UnknownModelError, match="acme/widget"):
        cost_of(make_usage(1, 1), "acme", "widgit", catalog)
