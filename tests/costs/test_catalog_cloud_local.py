"""A cloud model is never taken for a local one: Mistral's cloud models and the lookup rule.

``find("mistral-large")`` once resolved, as a family member, to the local ``ollama/mistral``
priced at 0: a cloud call silently free and treated as local. A family (prefix) match now
reaches a local entry only when the lookup names a local provider, or, without a provider,
through an Ollama tag (``mistral:7b``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from polyvox.costs.catalog import ModelCatalog, ModelEntry, ModelPrice
from polyvox.costs.currency import CurrencyRates

MISTRAL_MODELS = [
    "mistral-large-latest",
    "mistral-medium-latest",
    "mistral-small-latest",
    "codestral-latest",
    "ministral-8b-latest",
]


@pytest.fixture(scope="module")
def builtin() -> ModelCatalog:
    return ModelCatalog.builtin(price_date=date(2026, 11, 20), rates=CurrencyRates())


@pytest.mark.parametrize("model", MISTRAL_MODELS)
def test_mistral_cloud_models_are_priced_cloud_entries(builtin: ModelCatalog, model: str) -> None:
    entry = builtin.get(model, "mistral")
    assert entry.id == f"mistral/{model}"
    assert not entry.local
    assert entry.context_window >= 128_000
    assert entry.price is not None
    assert entry.price.currency == "USD"
    assert entry.price.input > 0
    assert entry.price.output > 0
    assert builtin.price_for("mistral", model) == entry.price


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mistral-large", "mistral/mistral-large-latest"),
        ("Mistral-Large", "mistral/mistral-large-latest"),
        ("mistral-large-2512", "mistral/mistral-large-latest"),
        ("mistral-large-latest", "mistral/mistral-large-latest"),
        ("mistral-medium", "mistral/mistral-medium-latest"),
        ("mistral-small-2506", "mistral/mistral-small-latest"),
        ("codestral", "mistral/codestral-latest"),
        ("codestral-2508", "mistral/codestral-latest"),
        ("ministral-8b", "mistral/ministral-8b-latest"),
        # local names stay local
        ("mistral", "ollama/mistral"),
        ("mistral:7b", "ollama/mistral"),
        ("mistral:7b-instruct-q4_K_M", "ollama/mistral"),
        ("llama3.2:3b", "ollama/llama3.2"),
        # a cloud-looking name that no cloud entry knows is unknown, never local and free
        ("mistral-nemo", None),
        ("mistral-tiny-latest", None),
        ("llama3.2-vision", None),
    ],
)
def test_provider_less_lookups_never_cross_to_a_local_model(
    builtin: ModelCatalog, name: str, expected: str | None
) -> None:
    found = builtin.find(name)
    assert (found.id if found else None) == expected


def test_a_named_provider_decides(builtin: ModelCatalog) -> None:
    local = builtin.get("mistral-nemo", "ollama")  # a local provider: its families apply
    assert (local.id, local.local) == ("ollama/mistral", True)
    assert builtin.find("mistral-large", "openrouter") is None
    assert builtin.find("mistral-large", "mistral") == builtin.get("mistral-large-latest")
    assert builtin.price_for("ollama", "mistral-large") == builtin.get("mistral").price
    assert builtin.price_for("mistral", "mistral-large-2411") == builtin.get("mistral-large").price


def test_the_rule_follows_each_entry_not_its_provider() -> None:
    catalog = ModelCatalog.builtin(genai_prices=False)
    free = ModelPrice(currency="USD", input=Decimal(0), output=Decimal(0))
    catalog.register(ModelEntry("acme", "tiny", context_window=8192, local=True, price=free))
    catalog.register(ModelEntry("acme", "huge", context_window=8192, local=False, price=free))
    assert catalog.find("tiny-preview") is None  # a local entry of any provider
    assert catalog.find("tiny:q4") is not None
    assert catalog.find("tiny-preview", "acme") is None  # a provider that is not a local one
    assert catalog.find("huge-preview").id == "acme/huge"  # type: ignore[union-attr]
    catalog.register(ModelEntry("acme", "tiny", context_window=8192, local=False, price=free))
    assert catalog.find("tiny-preview").id == "acme/tiny"  # type: ignore[union-attr]
