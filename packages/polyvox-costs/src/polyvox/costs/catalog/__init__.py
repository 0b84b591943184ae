"""The model catalog: every model polyvox knows, its capabilities, limits and price.

For each model: provider, id and aliases, context window, max output, capabilities
(tools, vision, structured output, JSON mode, streaming, embeddings, reasoning), locality,
the languages it is strong in, tier, indicative latency and speed, and its price. Prices
come from genai-prices where it knows the model and from a small, dated, sourced overlay
where it does not (GigaChat and YandexGPT in RUB per 1K tokens; local models at 0); a
model with no known price is *unpriced* (``price is None``), never free.

Example:
    .. code-block:: python

        from polyvox.costs.catalog import default_catalog

        catalog = default_catalog()
        catalog.get("gpt-4o").context_window                # 128000
        catalog.list_models("gigachat")                     # ['gigachat/GigaChat-2', ...]
        catalog.cheapest("tools", local=False)              # the cheapest cloud model with tools
        catalog.select(capabilities=["tools"], language="pl", max_cost=5, min_context=32_000)
        catalog.load_yaml("my-models.yaml")                 # add or override models

Names load lazily: importing this package imports neither PyYAML nor genai-prices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.costs.catalog.catalog import (
        CATALOG_FILE_ENV,
        ModelCatalog,
        default_catalog,
        set_default_catalog,
    )
    from polyvox.costs.catalog.errors import CatalogError, UnknownModelError
    from polyvox.costs.catalog.pricing import PriceOverlay
    from polyvox.costs.catalog.selection import Strategy
    from polyvox.costs.catalog.types import (
        Capability,
        ModelEntry,
        ModelPrice,
        PriceTier,
        Tier,
        UnitPrices,
        canonical_provider,
    )

_EXPORTS = {
    "CATALOG_FILE_ENV": "polyvox.costs.catalog.catalog",
    "ModelCatalog": "polyvox.costs.catalog.catalog",
    "default_catalog": "polyvox.costs.catalog.catalog",
    "set_default_catalog": "polyvox.costs.catalog.catalog",
    "CatalogError": "polyvox.costs.catalog.errors",
    "UnknownModelError": "polyvox.costs.catalog.errors",
    "PriceOverlay": "polyvox.costs.catalog.pricing",
    "Strategy": "polyvox.costs.catalog.selection",
    "Capability": "polyvox.costs.catalog.types",
    "ModelEntry": "polyvox.costs.catalog.types",
    "ModelPrice": "polyvox.costs.catalog.types",
    "PriceTier": "polyvox.costs.catalog.types",
    "Tier": "polyvox.costs.catalog.types",
    "UnitPrices": "polyvox.costs.catalog.types",
    "canonical_provider": "polyvox.costs.catalog.types",
}

__all__ = [
    "CATALOG_FILE_ENV",
    "Capability",
    "CatalogError",
    "ModelCatalog",
    "ModelEntry",
    "ModelPrice",
    "PriceOverlay",
    "PriceTier",
    "Strategy",
    "Tier",
    "UnitPrices",
    "UnknownModelError",
    "canonical_provider",
    "default_catalog",
    "set_default_catalog",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
