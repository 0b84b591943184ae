from __future__ import annotations

import subprocess
import sys
import threading
from datetime import date
from decimal import Decimal

import pytest

from polyvox.core.profiles import register_profiles
from polyvox.costs.catalog import (
    Capability,
    CatalogError,
    ModelCatalog,
    ModelEntry,
    ModelPrice,
    Tier,
    UnknownModelError,
    default_catalog,
    set_default_catalog,
)
from polyvox.costs.computation import CurrencyRates

D = Decimal


@pytest.fixture(scope="module")
def builtin() -> ModelCatalog:
    return ModelCatalog.builtin(price_date=date(2026, 11, 20), rates=CurrencyRates())


@pytest.fixture
def catalog() -> ModelCatalog:
    return ModelCatalog.builtin(price_date=date(2026, 11, 20), rates=CurrencyRates())


def test_get_by_id_alias_uri_family_and_case(builtin: ModelCatalog) -> None:
    assert builtin.get("gpt-4o").context_window == 128_000
    assert builtin.get("GPT-4O", "openai").model == "gpt-4o"
    assert builtin.get("gpt-4o-2024-08-06").model == "gpt-4o"
    assert builtin.get("gpt-4o-mini-2024-07-18").model == "gpt-4o-mini"
    assert builtin.get("o3-mini-2025-01-31").model == "o3-mini"
    assert builtin.get("claude-opus-4-1-20990101", "anthropic").model == "claude-opus-4-1"
    assert builtin.get("GigaChat-2-Max-preview", "gigachat").model == "GigaChat-2-Max"
    assert builtin.get("llama3.2:3b", "ollama").model == "llama3.2"
    assert builtin.find("GigaChat-3-Max", "gigachat") is None  # a new version, not a family member
    assert builtin.get("bielik-11b").model == "SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M"
    assert builtin.get("gpt://b1gexample/yandexgpt/latest").model == "yandexgpt"
    assert builtin.get("gpt://b1gexample/yandexgpt/rc").model == "yandexgpt/rc"
    assert builtin.get("gemini-2.5-pro", "gemini").provider == "google"
    assert builtin.get_model_config("gigachat", "GigaChat-2-Max").tier is Tier.POWERFUL


def test_entry_fields(builtin: ModelCatalog) -> None:
    bielik = builtin.get("SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M", "ollama")
    assert bielik.local
    assert bielik.languages == ("pl", "en")
    assert Capability.TOOLS not in bielik.capabilities
    assert bielik.supports("structured_output", "json")
    gpt5 = builtin.get("gpt-5")
    assert gpt5.supports(Capability.REASONING, Capability.VISION, "function_calling")
    assert not gpt5.local
    assert gpt5.max_output == 128_000
    assert gpt5.typical_latency_ms
    assert builtin.get("text-embedding-3-small").capabilities == {Capability.EMBEDDINGS}


def test_unknown_model_lists_close_matches_and_how_to_register(builtin: ModelCatalog) -> None:
    with pytest.raises(UnknownModelError) as err:
        builtin.get("gpt-4-o", "openai")
    assert isinstance(err.value, KeyError)
    assert "openai/gpt-4o" in err.value.suggestions
    message = str(err.value)
    assert "Unknown model 'gpt-4-o'" in message
    assert "Did you mean" in message
    assert "catalog.register(" in message
    assert "POLYVOX_CATALOG_FILE" in message
    assert builtin.find("no-such-model") is None
    assert "no-such-model" not in builtin
    assert "gpt-4o" in builtin


def test_list_models_and_providers(builtin: ModelCatalog) -> None:
    everything = builtin.list_models()
    assert len(everything) == len(builtin) > 60
    assert "openai/gpt-4o" in everything
    assert "openrouter/openai/gpt-4.1" in everything
    assert builtin.list_models("gigachat")[:3] == [
        "gigachat/GigaChat-2",
        "gigachat/GigaChat-2-Pro",
        "gigachat/GigaChat-2-Max",
    ]
    assert {"yandex/yandexgpt-lite", "yandex/yandexgpt", "yandex/yandexgpt-32k"} <= set(
        builtin.list_models("yandexgpt")
    )
    providers = builtin.providers()
    expected = {"openai", "anthropic", "google", "openrouter", "ollama", "huggingface"}
    assert expected | {"gigachat", "yandex"} <= set(providers)
    assert all(e.provider == "ollama" for e in builtin.entries("ollama"))


def test_price_sources(builtin: ModelCatalog) -> None:
    gpt = builtin.get("gpt-4o")
    assert gpt.price_source == "genai-prices"
    assert gpt.price is not None
    assert gpt.price.source.startswith("genai-prices ")
    assert gpt.price.as_of == date(2026, 11, 20)
    giga = builtin.get("GigaChat-2-Pro", "gigachat")
    assert giga.price_source == "overlay"
    assert giga.price is not None
    assert (giga.price.currency, giga.price.per_tokens, giga.price.input) == ("RUB", 1000, D("0.5"))
    assert giga.price.source.startswith("https://developers.sber.ru/")
    local = builtin.get("qwen3", "ollama")
    assert local.price is not None
    assert local.price.input == 0
    assert local.priced


def test_unpriced_models_are_reported_unpriced(builtin: ModelCatalog) -> None:
    for model, provider in [
        ("GigaChat-Max", "gigachat"),
        ("yandexgpt-32k", "yandex"),
        ("text-search-doc", "yandex"),
        ("meta-llama/Llama-3.3-70B-Instruct", "huggingface"),
    ]:
        entry = builtin.get(model, provider)
        assert (entry.price, entry.priced, entry.price_source) == (None, False, "none"), model
        assert builtin.price_for(provider, model) is None


def test_price_for_unregistered_models(builtin: ModelCatalog) -> None:
    assert builtin.price_for("ollama", "some-new-model:7b") == builtin.get("llama3.1").price
    o3_pro = builtin.price_for("openai", "o3-pro")  # not in the catalog, known to genai-prices
    assert o3_pro is not None
    assert o3_pro.input == D(20)
    assert builtin.price_for("acme", "nothing") is None
    with pytest.raises(UnknownModelError):
        builtin.price_for("acme", "nothing", strict=True)


def test_find_by_capability_with_price_ceiling(builtin: ModelCatalog) -> None:
    found = builtin.find_by_capability("vision", "tools", max_price=1)
    assert found
    assert all(e.supports("vision", "tools") for e in found)
    blended = [builtin.blended_price(e) for e in found]
    assert all(b is not None and b <= 1 for b in blended)
    assert blended == sorted(blended)  # type: ignore[type-var]
    # (3 * 0.15 + 0.60) / 4 = 0.2625 USD per 1M for gpt-4o-mini
    assert builtin.blended_price(builtin.get("gpt-4o-mini")) == D("0.2625")
    assert builtin.find_models_by_capability("vision", max_cost_per_1k=0.001) == list(
        builtin.find_by_capability("vision", max_price=1)
    )
    with pytest.raises(ValueError, match="unknown capability 'telepathy'"):
        builtin.find_by_capability("telepathy")


def test_cheapest_and_fastest(builtin: ModelCatalog) -> None:
    cloud = builtin.cheapest("tools", local=False)
    assert cloud is not None
    assert not cloud.local
    assert cloud.model == "gpt-5-nano"  # (3 * 0.05 + 0.40) / 4 = 0.1375 per 1M
    assert builtin.cheapest("tools").local  # local models cost 0
    embed = builtin.cheapest("embeddings", local=False)
    assert embed is not None
    assert embed.model == "text-embedding-3-small"
    fast = builtin.fastest("tools", max_cost=1)
    assert fast is not None
    assert fast.model == "gpt-4.1-nano"
    assert builtin.get_cheapest_model("text_generation") == builtin.cheapest()
    assert builtin.get_fastest_model("code", max_cost_per_1k=0.001) == fast


def test_select_by_requirements(builtin: ModelCatalog) -> None:
    polish = builtin.select(capabilities=["tools"], language="pl", local=True)
    assert polish is not None
    assert polish.model == "SpeakLeash/bielik-11b-v3.0-instruct:Q4_K_M"
    big = builtin.select(["tools"], min_context=500_000, max_cost=3, min_speed=100)
    assert big is not None
    assert big.context_window >= 500_000
    assert (big.tokens_per_second or 0) >= 100
    assert builtin.select(["vision"], tier="powerful", provider="anthropic", strategy="cost") == (
        builtin.get("claude-opus-4-5")
    )
    assert builtin.select(["tools"], min_context=10_000_000) is None
    picked = builtin.select_model(
        capabilities=["text_generation"], max_cost=5, context_length=100_000,
        exclude_models=["openai/gpt-5-nano"], strategy="cost",
    )  # fmt: skip
    assert picked is not None
    assert picked.model != "gpt-5-nano"
    with pytest.raises(ValueError, match="not both"):
        builtin.select(max_cost=1, max_cost_per_1k=1)


def test_candidates_ranking_strategies(builtin: ModelCatalog) -> None:
    cheap = builtin.candidates(["tools"], local=False, strategy="cost")
    prices = [builtin.blended_price(e) for e in cheap]
    priced = [p for p in prices if p is not None]
    assert priced == sorted(priced)
    assert prices.index(None) == len(priced)
    quick = builtin.candidates(["tools"], strategy="latency", max_latency_ms=1_000)
    latencies = [e.typical_latency_ms for e in quick]
    assert latencies == sorted(latencies)  # type: ignore[type-var]
    best = builtin.candidates(["vision"], strategy="quality")
    assert best[0].tier is Tier.POWERFUL
    local_first = builtin.candidates(["tools"], strategy="local_first")
    assert local_first[0].local
    assert not local_first[-1].local
    with pytest.raises(ValueError, match="unknown strategy"):
        builtin.candidates(strategy="random")  # type: ignore[arg-type]


def test_rub_models_compete_once_a_rate_is_set() -> None:
    no_rate = ModelCatalog.builtin(price_date=date(2026, 11, 20), rates=CurrencyRates())
    with_rate = ModelCatalog.builtin(
        price_date=date(2026, 11, 20), rates=CurrencyRates({"RUB": "0.011"})
    )
    giga = with_rate.get("GigaChat-2", "gigachat")
    # 0.065 RUB per 1K = 65 RUB per 1M; * 0.011 = 0.715 USD per 1M
    assert with_rate.blended_price(giga) == D("0.715")
    assert no_rate.blended_price(giga) is None
    ru = {"language": "ru", "provider": "gigachat", "max_cost": 1}
    assert with_rate.select(**ru) == giga
    assert no_rate.select(**ru) is None


def test_register_and_override(catalog: ModelCatalog) -> None:
    price = ModelPrice("USD", D(1), D(2), source="contract", as_of=date(2026, 1, 1))
    entry = catalog.register(
        ModelEntry("acme", "brain-1", aliases=("brain",), context_window=64_000, price=price)
    )
    assert entry.price_source == "user"
    assert catalog.get("brain", "acme") == entry
    assert catalog.price_for("acme", "brain-1") == price
    with pytest.raises(CatalogError, match="already registered"):
        catalog.register(entry, replace_existing=False)
    updated = catalog.override("gpt-4o", context_window=64_000, capabilities=["tools", "streaming"])
    assert updated.context_window == 64_000
    assert updated.capabilities == {"tools", "streaming"}
    assert updated.price_source == "genai-prices"  # still looked up
    cheap = catalog.override("gpt-4o", price={"currency": "USD", "input": 1, "output": 1})
    assert cheap.price_source == "user"
    assert cheap.price is not None
    assert cheap.price.input == 1
    assert catalog.override("gpt-4o", price=None).price is None
    assert catalog.price_for("openai", "gpt-4o") is None


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"context_window": "big"}, "context_window", "non-negative whole number"),
        ({"capabilities": ["tools", "mind_reading"]}, "capabilities", "unknown capability"),
        ({"tier": "ultra"}, "tier", "unknown tier"),
        ({"contex_window": 1}, "contex_window", "did you mean 'context_window'"),
        ({"model": "other"}, "model", "cannot be overridden"),
        ({"price": {"currency": "USD", "input": -1, "output": 1}}, "price.input", "non-negative"),
        ({"price": {"currency": "USD", "input": 1}}, "price.output", "required"),
        ({"price": {"currency": "dollars", "input": 1, "output": 1}}, "price.currency", "ISO"),
    ],
)
def test_override_is_validated(
    catalog: ModelCatalog, fields: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(CatalogError, match=message) as err:
        catalog.override("gpt-4o", **fields)
    assert (err.value.file, err.value.entry, err.value.field) == ("<code>", "openai/gpt-4o", field)
    assert catalog.get("gpt-4o").context_window == 128_000  # unchanged


def test_override_unknown_model(catalog: ModelCatalog) -> None:
    with pytest.raises(UnknownModelError, match="gpt-4o"):
        catalog.override("gpt-4oo", context_window=1)


def test_profile_fallback() -> None:
    register_profiles("acmecloud", {"thinker": {"max_input_tokens": 50_000, "tool_calling": True}})
    catalog = ModelCatalog(genai_prices=False)
    entry = catalog.get("thinker-2026-01-01", "acmecloud")
    assert entry.context_window == 50_000
    assert entry.supports("tools")
    assert entry.price is None
    assert catalog.find("thinker") is None  # profiles need the provider
    assert catalog.price_for("acmecloud", "thinker", strict=True) is None  # known, unpriced


def test_default_catalog_is_shared_and_thread_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLYVOX_CATALOG_FILE", raising=False)
    set_default_catalog(None)
    seen: list[ModelCatalog] = []
    barrier = threading.Barrier(8)

    def build() -> None:
        barrier.wait()
        seen.append(default_catalog())

    threads = [threading.Thread(target=build) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8
    assert all(c is seen[0] for c in seen)
    assert default_catalog() is seen[0]
    set_default_catalog(None)


def test_concurrent_registration_and_lookup() -> None:
    catalog = ModelCatalog(genai_prices=False)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(25):
                catalog.register(ModelEntry("acme", f"m-{i}-{j}", context_window=1_000 + j))
                assert catalog.get(f"m-{i}-{j}", "acme").context_window == 1_000 + j
                catalog.entries("acme")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(catalog) == 200


def test_import_is_lazy() -> None:
    code = (
        "import sys\n"
        "import polyvox.costs.catalog as c\n"
        "from polyvox.costs.catalog import ModelCatalog, ModelEntry, Capability\n"
        "from polyvox.core import costs\n"
        "assert 'yaml' not in sys.modules and 'genai_prices' not in sys.modules\n"
        "cat = c.default_catalog()\n"
        "assert 'yaml' in sys.modules and 'genai_prices' not in sys.modules\n"
        "cat.get('GigaChat-2-Max', 'gigachat')\n"
        "assert 'genai_prices' not in sys.modules\n"
        "cat.get('gpt-4o')\n"
        "assert 'genai_prices' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
