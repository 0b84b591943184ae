"""Golden cost figures: exact Decimal amounts, worked out by hand below each case.

Prices are those of the built-in catalog (genai-prices' bundled snapshot for the providers it
knows, the dated overlay for GigaChat, YandexGPT and local models) on a pinned date, so a
changed price shows up here as a failure naming the model.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from polyvox.core.usage import make_usage
from polyvox.costs.catalog import ModelCatalog
from polyvox.costs.computation import CostBreakdown, CurrencyRates, cost_of

D = Decimal


@pytest.fixture(scope="module")
def catalog() -> ModelCatalog:
    return ModelCatalog.builtin(price_date=date(2026, 11, 20))


def cost(
    catalog: ModelCatalog, provider: str, model: str, *args: int, **details: int
) -> CostBreakdown:
    return cost_of(make_usage(*args, **details), provider, model, catalog)


def test_openai_gpt_4o_with_cache_reads(catalog: ModelCatalog) -> None:
    # gpt-4o: $2.50 input, $1.25 cached input, $10 output per 1M tokens.
    # 10,000 input of which 6,000 cached; 1,000 output.
    c = cost(catalog, "openai", "gpt-4o", 10_000, 1_000, cache_read=6_000)
    assert c.input == D("0.01")  # 4,000 * 2.50 / 1M
    assert c.cache_read == D("0.0075")  # 6,000 * 1.25 / 1M
    assert c.output == D("0.01")  # 1,000 * 10 / 1M
    assert c.total == D("0.0275")
    assert (c.currency, c.priced) == ("USD", True)


def test_openai_gpt_5_reasoning_and_cache(catalog: ModelCatalog) -> None:
    # gpt-5: $1.25 input, $0.125 cached, $10 output (reasoning billed as output) per 1M.
    # 3,000 input (1,000 cached); 5,000 output of which 4,000 reasoning.
    c = cost(catalog, "openai", "gpt-5", 3_000, 5_000, cache_read=1_000, reasoning=4_000)
    assert c.input == D("0.0025")  # 2,000 * 1.25 / 1M
    assert c.cache_read == D("0.000125")  # 1,000 * 0.125 / 1M
    assert c.output == D("0.01")  # 1,000 * 10 / 1M
    assert c.reasoning == D("0.04")  # 4,000 * 10 / 1M
    assert c.total == D("0.052625")


def test_openai_o4_mini_reasoning(catalog: ModelCatalog) -> None:
    # o4-mini: $1.10 input, $4.40 output per 1M. 1,234 input; 5,678 output, 5,000 reasoning.
    c = cost(catalog, "openai", "o4-mini", 1_234, 5_678, reasoning=5_000)
    assert c.input == D("0.0013574")  # 1,234 * 1.10 / 1M
    assert c.output == D("0.0029832")  # 678 * 4.40 / 1M
    assert c.reasoning == D("0.022")  # 5,000 * 4.40 / 1M
    assert c.total == D("0.0263406")


def test_openai_dated_snapshot_has_its_own_price(catalog: ModelCatalog) -> None:
    # gpt-4o-2024-05-13 kept its launch price: $5 input, $15 output per 1M.
    c = cost(catalog, "openai", "gpt-4o-2024-05-13", 1_000, 1_000)
    assert c.total == D("0.02")  # 1,000 * 5 / 1M + 1,000 * 15 / 1M


def test_anthropic_sonnet_cache_writes_and_reads(catalog: ModelCatalog) -> None:
    # claude-sonnet-4-5: $3 input, $0.30 cache read, $3.75 cache write (5 min), $15 output.
    # 50,000 input = 10,000 uncached + 30,000 read + 10,000 written; 2,000 output.
    c = cost(
        catalog, "anthropic", "claude-sonnet-4-5", 50_000, 2_000,
        cache_read=30_000, cache_creation=10_000,
    )  # fmt: skip
    assert c.input == D("0.03")  # 10,000 * 3 / 1M
    assert c.cache_read == D("0.009")  # 30,000 * 0.30 / 1M
    assert c.cache_write == D("0.0375")  # 10,000 * 3.75 / 1M
    assert c.output == D("0.03")  # 2,000 * 15 / 1M
    assert c.total == D("0.1065")
    assert c.tier is None


def test_anthropic_sonnet_long_context_tier(catalog: ModelCatalog) -> None:
    # Over 200K input tokens (1M-context beta) every token moves to the long-context prices:
    # $6 input, $0.60 read, $7.50 write, $22.50 output.
    # 250,000 input = 100,000 uncached + 100,000 read + 50,000 written; 1,000 output.
    c = cost(
        catalog, "anthropic", "claude-sonnet-4-5-20250929", 250_000, 1_000,
        cache_read=100_000, cache_creation=50_000,
    )  # fmt: skip
    assert c.input == D("0.6")  # 100,000 * 6 / 1M
    assert c.cache_read == D("0.06")  # 100,000 * 0.60 / 1M
    assert c.cache_write == D("0.375")  # 50,000 * 7.50 / 1M
    assert c.output == D("0.0225")  # 1,000 * 22.50 / 1M
    assert c.total == D("1.0575")
    assert c.tier is not None
    assert c.tier.min_input_tokens == 200_000


def test_anthropic_opus_cache_read(catalog: ModelCatalog) -> None:
    # claude-opus-4-1: $15 input, $1.50 cache read, $75 output. 5,000 input (4,000 read); 300 out.
    c = cost(catalog, "anthropic", "claude-opus-4-1", 5_000, 300, cache_read=4_000)
    assert c.total == D("0.0435")  # 1,000 * 15/1M + 4,000 * 1.50/1M + 300 * 75/1M


def test_gemini_25_pro_at_200k_is_base_price(catalog: ModelCatalog) -> None:
    # gemini-2.5-pro, prompts up to 200K: $1.25 input, $0.125 cached, $10 output (thinking too).
    # 200,000 input (50,000 cached); 4,000 output of which 3,000 thinking.
    c = cost(
        catalog, "google", "gemini-2.5-pro", 200_000, 4_000, cache_read=50_000, reasoning=3_000
    )
    assert c.input == D("0.1875")  # 150,000 * 1.25 / 1M
    assert c.cache_read == D("0.00625")  # 50,000 * 0.125 / 1M
    assert c.output == D("0.01")  # 1,000 * 10 / 1M
    assert c.reasoning == D("0.03")  # 3,000 * 10 / 1M
    assert c.total == D("0.23375")
    assert c.tier is None


def test_gemini_25_pro_above_200k_is_tier_price(catalog: ModelCatalog) -> None:
    # One token more: the whole call at $2.50 input, $0.25 cached, $15 output.
    c = cost(
        catalog, "gemini", "gemini-2.5-pro", 200_001, 4_000, cache_read=50_000, reasoning=3_000
    )
    assert c.input == D("0.3750025")  # 150,001 * 2.50 / 1M
    assert c.cache_read == D("0.0125")  # 50,000 * 0.25 / 1M
    assert c.output == D("0.015")  # 1,000 * 15 / 1M
    assert c.reasoning == D("0.045")  # 3,000 * 15 / 1M
    assert c.total == D("0.4475025")


def test_openrouter_vendor_model(catalog: ModelCatalog) -> None:
    # openrouter openai/gpt-4.1: $2 input, $0.50 cached, $8 output per 1M.
    # 3,000 input (1,000 cached); 500 output.
    c = cost(catalog, "openrouter", "openai/gpt-4.1", 3_000, 500, cache_read=1_000)
    assert c.total == D("0.0085")  # 2,000 * 2/1M + 1,000 * 0.50/1M + 500 * 8/1M


def test_ollama_bielik_is_free_not_unpriced(catalog: ModelCatalog) -> None:
    c = cost(catalog, "ollama", "SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M", 1_500, 500)
    assert (c.priced, c.currency, c.total) == (True, "USD", D(0))


def test_gigachat_2_max_rub_and_conversion(catalog: ModelCatalog) -> None:
    # GigaChat-2-Max: 0.65 RUB per 1K tokens in and out; cached tokens are not billed.
    # 1,200 input (200 cached); 300 output.
    c = cost(catalog, "gigachat", "GigaChat-2-Max", 1_200, 300, cache_read=200)
    assert c.input == D("0.65")  # 1,000 * 0.65 / 1K
    assert c.cache_read == D(0)  # 200 * 0 / 1K
    assert c.output == D("0.195")  # 300 * 0.65 / 1K
    assert (c.total, c.currency) == (D("0.845"), "RUB")
    usd = c.convert("USD", CurrencyRates({"RUB": D("0.011")}))
    assert (usd.total, usd.currency) == (D("0.009295"), "USD")  # 0.845 * 0.011
    assert usd.output == D("0.002145")  # 0.195 * 0.011


def test_gigachat_2_lite_rub(catalog: ModelCatalog) -> None:
    # GigaChat-2 (Lite): 0.065 RUB per 1K. 10,000 in + 2,000 out = 12,000 * 0.065 / 1K.
    assert cost(catalog, "gigachat", "GigaChat-2", 10_000, 2_000).total == D("0.78")


def test_yandexgpt_pro_by_uri_rub(catalog: ModelCatalog) -> None:
    # YandexGPT Pro 5 (yandexgpt/latest): 1.20 RUB per 1K in and out. 2,000 + 500 tokens.
    c = cost(catalog, "yandex", "gpt://b1g0example/yandexgpt/latest", 2_000, 500)
    assert (c.total, c.currency) == (D("3.0"), "RUB")  # 2,500 * 1.20 / 1K


def test_yandex_alice_ai_llm_rub(catalog: ModelCatalog) -> None:
    # Alice AI LLM: 0.50 RUB per 1K in, 1.20 out. 1,000 + 1,000 tokens.
    assert cost(catalog, "yandex", "aliceai-llm", 1_000, 1_000).total == D("1.7")


def test_openai_embeddings(catalog: ModelCatalog) -> None:
    # text-embedding-3-small: $0.02 per 1M input tokens. 12,345 tokens.
    c = cost(catalog, "openai", "text-embedding-3-small", 12_345, 0)
    assert c.total == D("0.0002469")  # 12,345 * 0.02 / 1M


def test_gigachat_embeddings_rub(catalog: ModelCatalog) -> None:
    # GigaChat Embeddings: 0.014 RUB per 1K tokens. 5,000 tokens.
    assert cost(catalog, "gigachat", "Embeddings", 5_000, 0).total == D("0.07")


def test_rub_to_usd_conversion_exact() -> None:
    rates = CurrencyRates({"RUB": "0.011", "EUR": "1.08"}, base="USD")
    assert rates.convert(D("100"), "RUB", "USD") == D("1.1")  # 100 * 0.011
    assert rates.convert(D("3.0"), "RUB", "USD") == D("0.033")
    assert rates.convert(D("10"), "RUB", "EUR") == D("0.11") / D("1.08")  # via USD
