"""Where prices come from: the dated overlay, then genai-prices.

genai-prices (the ``costs`` extra) is imported only when a price is first looked up; it
works offline from the data snapshot bundled with the installed version (or the one
``genai_prices.UpdatePrices`` fetched). Only token prices are mapped — input, output,
cache reads and writes, reasoning and long-context tiers; per-request, audio, image and
web-search charges are not part of a :class:`~polyvox.costs.catalog.types.ModelPrice`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from typing import TYPE_CHECKING, Any

from polyvox.costs.catalog.errors import CatalogError
from polyvox.costs.catalog.types import ModelPrice, PriceTier

if TYPE_CHECKING:
    from polyvox.costs.catalog.schema import OverlayPrice

__all__ = [
    "ONE_HOUR_WRITE",
    "PriceOverlay",
    "builtin_overlay",
    "genai_price",
    "price_time",
    "with_one_hour_writes",
]

logger = logging.getLogger("polyvox.catalog")

NO_GENAI_PRICES = frozenset(
    {"ollama", "llamacpp", "vllm", "gigachat", "yandex", "huggingface", "cloudru"}
)
"""Providers genai-prices does not price (the overlay, or nothing, does)."""

_GENAI_PROVIDER_IDS = {"google": "google", "x-ai": "x-ai", "xai": "x-ai"}


class PriceOverlay:
    """Prices for models genai-prices lacks: by exact model id, or ``"*"`` for a whole provider."""

    def __init__(self, prices: Iterable[OverlayPrice] = ()) -> None:
        """Create an overlay.

        Args:
            prices: ``(provider, model or "*", price)`` triples; later ones win.
        """
        self._exact: dict[tuple[str, str], ModelPrice] = {}
        self._wildcard: dict[str, ModelPrice] = {}
        for provider, model, price in prices:
            self.add(provider, model, price)

    def add(self, provider: str, model: str, price: ModelPrice) -> None:
        """Add (or replace) a price.

        Args:
            provider: The provider id.
            model: The model id (case-insensitive), or ``"*"`` for every model of the provider.
            price: The price.
        """
        provider = provider.strip().lower()
        if model.strip() == "*":
            self._wildcard[provider] = price
        else:
            self._exact[(provider, model.strip().lower())] = price

    def lookup(self, provider: str, *models: str) -> ModelPrice | None:
        """The overlay's price for the first of ``models`` it knows, else the provider's ``"*"``."""
        for model in models:
            price = self._exact.get((provider, model.lower()))
            if price is not None:
                return price
        return self._wildcard.get(provider)

    def __len__(self) -> int:
        return len(self._exact) + len(self._wildcard)


def builtin_overlay() -> PriceOverlay:
    """The overlay shipped with polyvox (``catalog/price_overlay.yaml``).

    Returns:
        A fresh overlay (the file is parsed once per process).
    """
    return PriceOverlay(_builtin_prices())


@functools.cache
def _builtin_prices() -> tuple[OverlayPrice, ...]:
    from polyvox.costs.catalog.schema import parse_overlay, read_source

    text = resources.files("polyvox.costs.catalog").joinpath("price_overlay.yaml")
    data, _ = read_source(text.read_text(encoding="utf-8"))
    return tuple(parse_overlay(data, file="polyvox/costs/catalog/price_overlay.yaml"))


def price_time(when: date | datetime | None) -> datetime:
    """The moment prices are looked up for (``None``: now), as an aware UTC datetime."""
    if when is None:
        return datetime.now(UTC)
    if isinstance(when, datetime):
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return datetime(when.year, when.month, when.day, tzinfo=UTC)


def genai_price(provider: str, model: str, at: datetime) -> ModelPrice | None:
    """Ask genai-prices for a model's token prices.

    Args:
        provider: The polyvox provider id (``openai``, ``anthropic``, ``google``...).
        model: The model id as the provider's API takes it.
        at: When the price should hold (genai-prices keeps dated price changes).

    Returns:
        The price in USD per 1M tokens, or ``None`` when genai-prices does not know the
        model, does not price it per token, or is not installed.
    """
    if provider in NO_GENAI_PRICES:
        return None
    try:
        import genai_prices
        from genai_prices import data_snapshot
    except ImportError:  # the ``costs`` extra is not installed
        logger.debug("genai-prices is not installed; %s/%s has no price from it", provider, model)
        return None
    snapshot = data_snapshot.get_snapshot()
    provider_id = _GENAI_PROVIDER_IDS.get(provider, provider)
    try:
        found, info = snapshot.find_provider_model(model, None, provider_id, None)
    except LookupError:
        return None
    prices = info.get_prices(at)
    source = f"genai-prices {genai_prices.__version__}: {found.id}/{info.id}"
    try:
        price = _to_model_price(prices, source, at.date())
        return with_one_hour_writes(price) if price and provider == "anthropic" else price
    except CatalogError:  # a shape we cannot represent: report unpriced, never a wrong price
        logger.warning("genai-prices has an unusable price for %s/%s", provider, model)
        return None


ONE_HOUR_WRITE = Decimal(2)
"""Anthropic's 1-hour cache write, as a multiple of the input price (the 5-minute write is
1.25 times it): genai-prices has the 5-minute price only."""


def with_one_hour_writes(price: ModelPrice) -> ModelPrice:
    """An Anthropic price with its 1-hour cache-write price, base and tiers.

    Args:
        price: The price from genai-prices.

    Returns:
        The price with ``cache_write_1h`` at :data:`ONE_HOUR_WRITE` times the input
        price, in each tier too; a price that has one already is returned as it is.
    """
    if price.cache_write_1h is not None:
        return price
    tiers = tuple(replace(t, cache_write_1h=t.input * ONE_HOUR_WRITE) for t in price.tiers)
    return replace(price, cache_write_1h=price.input * ONE_HOUR_WRITE, tiers=tiers)


def _to_model_price(prices: Any, source: str, as_of: date) -> ModelPrice | None:
    from genai_prices.types import TieredPrices

    inp = getattr(prices, "input_mtok", None)
    if inp is None:
        return None
    out = getattr(prices, "output_mtok", None)
    read = getattr(prices, "cache_read_mtok", None)
    write = getattr(prices, "cache_write_mtok", None)
    reasoning = getattr(prices, "output_reasoning_mtok", None)
    tiered = [p for p in (inp, out, read, write) if isinstance(p, TieredPrices)]
    thresholds = sorted({tier.start for p in tiered for tier in p.tiers})

    def at(price: Any, threshold: int | None) -> Decimal | None:
        if price is None:
            return None
        if not isinstance(price, TieredPrices):
            return Decimal(price)
        value = Decimal(price.base)
        for tier in sorted(price.tiers, key=lambda t: t.start):
            if threshold is not None and tier.start <= threshold:
                value = Decimal(tier.price)
        return value

    zero = Decimal(0)
    tiers = tuple(
        PriceTier(t, at(inp, t) or zero, at(out, t) or zero, at(read, t), at(write, t))
        for t in thresholds
    )
    return ModelPrice(
        "USD",
        at(inp, None) or zero,
        at(out, None) or zero,
        cache_read=at(read, None),
        cache_write=at(write, None),
        reasoning=at(reasoning, None),
        per_tokens=1_000_000,
        tiers=tiers,
        source=source,
        as_of=as_of,
    )
