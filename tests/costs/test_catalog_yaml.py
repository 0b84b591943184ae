from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from polyvox.costs.catalog import (
    CatalogError,
    ModelCatalog,
    Tier,
    default_catalog,
    set_default_catalog,
)
from polyvox.costs.catalog.schema import parse_overlay, read_source

D = Decimal

VALID = """
version: 1
x-caps: &caps [tools, streaming]
models:
  - provider: acme
    model: acme-large
    aliases: [large]
    context_window: 64000
    max_output: 4096
    capabilities: *caps
    languages: [PL, en]
    tier: powerful
    typical_latency_ms: 900
    price:
      currency: eur
      input: 1.5
      output: "6"
      cache_read: 0.15
      tiers: [{min_input_tokens: 32000, input: 3, output: 12}]
      source: https://acme.example/pricing
      as_of: 2026-10-01
  - provider: ollama
    model: my-finetune
    context_window: 8192
  - provider: openai
    model: gpt-4o
    context_window: 100000
    tier: fast
  - provider: openai
    model: gpt-4o-mini
    price: null
"""


@pytest.fixture
def catalog() -> ModelCatalog:
    return ModelCatalog.builtin(price_date=date(2026, 11, 20))


def test_load_yaml_registers_and_overrides(catalog: ModelCatalog, tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(VALID, encoding="utf-8")
    before = catalog.get("gpt-4o")
    loaded = catalog.load_yaml(path)
    assert [e.id for e in loaded] == [
        "acme/acme-large",
        "ollama/my-finetune",
        "openai/gpt-4o",
        "openai/gpt-4o-mini",
    ]
    acme = catalog.get("large", "acme")
    assert acme.languages == ("pl", "en")
    assert acme.tier is Tier.POWERFUL
    assert acme.price is not None
    assert acme.price_source == "user"
    assert (acme.price.currency, acme.price.output, acme.price.as_of) == (
        "EUR",
        D(6),
        date(2026, 10, 1),
    )
    assert acme.price.tiers[0].min_input_tokens == 32_000
    local = catalog.get("my-finetune", "ollama")
    assert local.local
    assert local.price is not None
    assert local.price.input == 0
    gpt = catalog.get("gpt-4o")
    assert (gpt.context_window, gpt.tier) == (100_000, Tier.FAST)
    assert gpt.capabilities == before.capabilities
    assert gpt.price == before.price
    mini = catalog.get("gpt-4o-mini")
    assert mini.price is None
    assert mini.price_source == "none"


def test_load_yaml_text(catalog: ModelCatalog) -> None:
    catalog.load_yaml("models:\n  - {provider: acme, model: tiny, context_window: 2048}\n")
    assert catalog.get("tiny", "acme").context_window == 2048


def test_catalog_file_env_is_merged_into_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text(VALID, encoding="utf-8")
    monkeypatch.setenv("POLYVOX_CATALOG_FILE", str(path))
    set_default_catalog(None)
    try:
        assert default_catalog().get("acme-large", "acme").context_window == 64_000
        assert default_catalog().get("gpt-4o").context_window == 100_000
    finally:
        set_default_catalog(None)


BAD = [
    # (yaml, entry, field, message)
    (
        "models:\n  - {provider: acme, model: m1, contex_window: 10}\n",
        "acme/m1",
        "contex_window",
        "unknown field 'contex_window' (did you mean 'context_window'?)",
    ),
    (
        "models:\n  - {provider: acme, model: m1, context_window: lots}\n",
        "acme/m1",
        "context_window",
        "non-negative whole number",
    ),
    (
        "models:\n  - {provider: acme, model: m1}\n",
        "acme/m1",
        "context_window",
        "required for a new model",
    ),
    ("models:\n  - {model: m1, context_window: 1}\n", "m1", "provider", "required"),
    (
        "models:\n  - {provider: acme, model: m1, context_window: 1, capabilities: [tools, fly]}\n",
        "acme/m1",
        "capabilities",
        "unknown capability 'fly'",
    ),
    (
        "models:\n  - {provider: acme, model: m1, context_window: 1, local: maybe}\n",
        "acme/m1",
        "local",
        "expected true or false",
    ),
    (
        "models:\n  - {provider: acme, model: m1, context_window: 1,"
        " price: {currency: USD, input: 1, ouput: 2}}\n",
        "acme/m1",
        "price.ouput",
        "did you mean 'output'",
    ),
    (
        "models:\n  - {provider: acme, model: m1, context_window: 1,"
        " price: {currency: USD, input: free, output: 2}}\n",
        "acme/m1",
        "price.input",
        "expected a number",
    ),
    (
        "models:\n  - {provider: acme, model: m1, context_window: 1,"
        " price: {currency: USD, input: 1, output: 2, as_of: yesterday}}\n",
        "acme/m1",
        "price.as_of",
        "expected a date",
    ),
    (
        "models:\n  - {provider: acme, model: m1, context_window: 1, price: {currency: USD,"
        " input: 1, output: 2, tiers: [{min_input_tokens: 500, input: 2, output: 3},"
        " {min_input_tokens: 100, input: 3, output: 4}]}}\n",
        "acme/m1",
        "price.tiers[1].min_input_tokens",
        "ascending order",
    ),
    (
        "models:\n  - {provider: acme, model: m1, context_window: 1, price: {currency: USD,"
        " input: 1, output: 2, tiers: [{min_input_tokens: 500, input: 2}]}}\n",
        "acme/m1",
        "price.tiers[0].output",
        "required",
    ),
    (
        "models:\n  - {provider: acme, model: m1, context_window: 1, price: 0.5}\n",
        "acme/m1",
        "price",
        "expected a mapping of price fields or null",
    ),
]


@pytest.mark.parametrize(("text", "entry", "field", "message"), BAD)
def test_malformed_entries_name_file_entry_and_field(
    catalog: ModelCatalog, tmp_path: Path, text: str, entry: str, field: str, message: str
) -> None:
    path = tmp_path / "user.yaml"
    path.write_text(
        "models:\n  - {provider: acme, model: fine, context_window: 1}\n"
        + text.removeprefix("models:\n"),
        encoding="utf-8",
    )
    with pytest.raises(CatalogError) as err:
        catalog.load_yaml(path)
    assert (err.value.file, err.value.entry, err.value.field) == (str(path), entry, field)
    assert message in str(err.value)
    assert str(path) in str(err.value)
    assert repr(entry) in str(err.value)
    assert catalog.find("fine", "acme") is None  # nothing applied from a bad file


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models: [unclosed\n", "not valid YAML"),
        ("- just a list\n", "expected a mapping with a 'models' list"),
        ("version: 2\nmodels: []\n", "unsupported version 2"),
        ("modles: []\n", "did you mean 'models'"),
        ("models: {a: 1}\n", "expected a list"),
        ("models:\n  - just-a-string\n", "expected a mapping of fields"),
    ],
)
def test_malformed_documents(catalog: ModelCatalog, text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message) as err:
        catalog.load_yaml(text)
    assert err.value.file == "<yaml text>"


def test_missing_file(catalog: ModelCatalog, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(CatalogError, match="cannot read the file") as err:
        catalog.load_yaml(missing)
    assert err.value.file == str(missing)


def test_overlay_entries_must_be_dated_and_sourced() -> None:
    data, _ = read_source(
        "prices:\n  - {provider: acme, model: m, currency: RUB, input: 1, output: 1}\n"
    )
    with pytest.raises(CatalogError, match="required") as err:
        parse_overlay(data, file="overlay.yaml")
    assert (err.value.file, err.value.entry, err.value.field) == (
        "overlay.yaml",
        "acme/m",
        "price.source",
    )


def test_builtin_overlay_is_dated_and_sourced() -> None:
    from polyvox.costs.catalog.pricing import _builtin_prices

    prices = _builtin_prices()
    assert {(p, m) for p, m, _ in prices} >= {
        ("gigachat", "GigaChat-2-Max"),
        ("yandex", "yandexgpt-lite"),
        ("ollama", "*"),
        ("llamacpp", "*"),
        ("vllm", "*"),
    }
    for provider, _, price in prices:
        assert price.source
        assert price.as_of <= date(2026, 11, 22)
        if provider in {"gigachat", "yandex"}:
            assert (price.currency, price.per_tokens) == ("RUB", 1000)
            assert price.source.startswith("https://")
        else:
            assert (price.currency, price.input, price.output) == ("USD", 0, 0)
