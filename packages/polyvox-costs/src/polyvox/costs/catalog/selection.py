"""Choosing models: filter by capability, price, speed, context, locality and language; rank.

Prices are compared as a **blended price per 1M tokens**: ``(3 * input + output) / 4`` at
base (not long-context) prices, or the input price alone for embeddings models, converted
to one currency (USD unless told) with the catalog's exchange rates. A model that is
unpriced, or whose currency has no rate, never passes a price ceiling and never counts as
cheapest. ``max_cost_per_1k`` is the same ceiling per 1K tokens.

Embeddings models take part only when ``embeddings`` is asked for, and chat models only
when it is not. The generic capabilities of other registries (``text_generation``,
``code``, ``analysis``, ``chat``) are accepted and require nothing beyond a chat model.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from polyvox.costs.catalog.types import Capability, ModelEntry, Tier, canonical_provider

if TYPE_CHECKING:
    from polyvox.costs.currency import CurrencyRates

__all__ = ["SelectionMixin", "Strategy"]

Strategy = Literal["balanced", "cost", "latency", "quality", "local_first"]
"""How :meth:`SelectionMixin.candidates` ranks: ``balanced`` adds each model's rank by
cost, latency and quality (ties by id); ``cost`` and ``latency`` rank by that alone
(unknown last); ``quality`` by tier, then context window; ``local_first`` puts local
models first, then ``balanced``."""

CapabilitiesArg = Iterable[Capability | str] | Capability | str
_GENERIC = frozenset(
    {"text_generation", "text", "chat", "completion", "code", "code_generation", "analysis"}
)
_TIER_RANK = {Tier.FAST: 0, Tier.BALANCED: 1, Tier.POWERFUL: 2}
_INF = Decimal("Infinity")


class SelectionMixin:
    """Selection operations of :class:`~polyvox.costs.catalog.ModelCatalog`."""

    def entries(self, provider: str | None = None) -> list[ModelEntry]:
        """Every entry, prices resolved (provided by the catalog)."""
        raise NotImplementedError

    @property
    def rates(self) -> CurrencyRates:
        """Exchange rates (provided by the catalog)."""
        raise NotImplementedError

    def blended_price(self, entry: ModelEntry, currency: str = "USD") -> Decimal | None:
        """The entry's blended price per 1M tokens in ``currency`` (see the module docs).

        Returns:
            The price, or ``None`` when unpriced or not convertible.
        """
        from polyvox.costs.currency import MissingRateError

        price = entry.price
        if price is None:
            return None
        if Capability.EMBEDDINGS in entry.capabilities:
            per_million = price.input * 1_000_000 / price.per_tokens
        else:
            per_million = price.blended()
        try:
            return self.rates.convert(per_million, price.currency, currency)
        except MissingRateError:
            return None

    def candidates(
        self,
        capabilities: CapabilitiesArg = (),
        *,
        max_cost: Decimal | float | str | None = None,
        max_cost_per_1k: Decimal | float | str | None = None,
        min_speed: float | None = None,
        min_context: int | None = None,
        context_length: int | None = None,
        max_latency_ms: float | None = None,
        local: bool | None = None,
        language: str | None = None,
        tier: Tier | str | None = None,
        provider: str | None = None,
        exclude: Iterable[str] = (),
        currency: str = "USD",
        strategy: Strategy = "balanced",
    ) -> list[ModelEntry]:
        """Every model that meets the requirements, best first.

        Args:
            capabilities: Required capabilities (names or :class:`Capability`).
            max_cost: Ceiling on the blended price per 1M tokens in ``currency``.
            max_cost_per_1k: The same ceiling per 1K tokens (give one or the other).
            min_speed: Minimum ``tokens_per_second`` (models without one are left out).
            min_context: Minimum context window.
            context_length: Alias of ``min_context``.
            max_latency_ms: Maximum ``typical_latency_ms`` (unknown ones are left out).
            local: ``True``: local models only; ``False``: cloud only; ``None``: either.
            language: An ISO 639-1 code the model must be strong in.
            tier: Required tier.
            provider: Required provider.
            exclude: Model ids or ``provider/model`` ids to leave out.
            currency: Currency of the price ceiling and comparisons.
            strategy: How to rank (see :data:`Strategy`).

        Returns:
            The matching entries, ranked.

        Raises:
            ValueError: For an unknown capability, tier or strategy, or two price ceilings.
        """
        caps = _capabilities(capabilities)
        ceiling = _ceiling(max_cost, max_cost_per_1k)
        least = min_context if min_context is not None else context_length
        wanted_tier = Tier(str(tier).lower()) if tier is not None else None
        wanted_provider = canonical_provider(provider) if provider else None
        excluded = {e.lower() for e in exclude}
        embeddings = Capability.EMBEDDINGS in caps
        picked: list[tuple[ModelEntry, Decimal | None]] = []
        for entry in self.entries(wanted_provider):
            if (Capability.EMBEDDINGS in entry.capabilities) != embeddings:
                continue
            if not caps <= entry.capabilities:
                continue
            if excluded & {entry.model.lower(), entry.id.lower()}:
                continue
            if local is not None and entry.local != local:
                continue
            if language is not None and language.lower() not in entry.languages:
                continue
            if wanted_tier is not None and entry.tier != wanted_tier:
                continue
            if least is not None and entry.context_window < least:
                continue
            if min_speed is not None and (entry.tokens_per_second or 0) < min_speed:
                continue
            if max_latency_ms is not None and (
                entry.typical_latency_ms is None or entry.typical_latency_ms > max_latency_ms
            ):
                continue
            blended = self.blended_price(entry, currency)
            if ceiling is not None and (blended is None or blended > ceiling):
                continue
            picked.append((entry, blended))
        return _rank(picked, strategy)

    def select(self, capabilities: CapabilitiesArg = (), **requirements: Any) -> ModelEntry | None:
        """The best model meeting the requirements (see :meth:`candidates`), or ``None``.

        Example:
            .. code-block:: python

                catalog.select(capabilities=["tools"], max_cost=2, min_context=100_000)
        """
        found = self.candidates(capabilities, **requirements)
        return found[0] if found else None

    def find_by_capability(
        self,
        *capabilities: Capability | str,
        max_price: Decimal | float | str | None = None,
        **requirements: Any,
    ) -> list[ModelEntry]:
        """Models with every capability, cheapest first; ``max_price`` caps the blended price.

        Args:
            *capabilities: Required capabilities.
            max_price: Ceiling on the blended price per 1M tokens (``max_cost_per_1k``: per 1K).
            **requirements: Any other :meth:`candidates` filter.

        Returns:
            The matching entries.
        """
        requirements.setdefault("strategy", "cost")
        return self.candidates(capabilities, max_cost=max_price, **requirements)

    def cheapest(self, *capabilities: Capability | str, **requirements: Any) -> ModelEntry | None:
        """The priced model with the lowest blended price meeting the requirements."""
        currency = requirements.get("currency", "USD")
        requirements["strategy"] = "cost"
        for entry in self.candidates(capabilities, **requirements):
            if self.blended_price(entry, currency) is not None:
                return entry
        return None

    def fastest(self, *capabilities: Capability | str, **requirements: Any) -> ModelEntry | None:
        """The model with the lowest known typical latency meeting the requirements."""
        requirements["strategy"] = "latency"
        for entry in self.candidates(capabilities, **requirements):
            if entry.typical_latency_ms is not None:
                return entry
        return None

    # Names used by other registries, for migrating code.

    def find_models_by_capability(
        self, capability: Capability | str, max_cost_per_1k: Decimal | float | None = None
    ) -> list[ModelEntry]:
        """``ModelRegistry.find_models_by_capability``: :meth:`find_by_capability`, per 1K."""
        return self.find_by_capability(capability, max_cost_per_1k=max_cost_per_1k)

    def get_cheapest_model(self, capability: Capability | str | None = None) -> ModelEntry | None:
        """``ModelRegistry.get_cheapest_model``: :meth:`cheapest`."""
        return self.cheapest(*([capability] if capability else []))

    def get_fastest_model(
        self, capability: Capability | str | None = None, max_cost_per_1k: float | None = None
    ) -> ModelEntry | None:
        """``ModelRegistry.get_fastest_model``: :meth:`fastest` under a per-1K price ceiling."""
        caps = [capability] if capability else []
        return self.fastest(*caps, max_cost_per_1k=max_cost_per_1k)

    def select_model(
        self,
        capabilities: CapabilitiesArg = (),
        *,
        exclude_models: Iterable[str] = (),
        **requirements: Any,
    ) -> ModelEntry | None:
        """``ModelRegistry.select_model``: :meth:`select` (``exclude_models`` → ``exclude``)."""
        return self.select(capabilities, exclude=exclude_models, **requirements)


def _capabilities(value: CapabilitiesArg) -> frozenset[Capability]:
    items = [value] if isinstance(value, str) else list(value)
    caps = set()
    for item in items:
        name = str(item).strip().lower()
        if not isinstance(item, Capability) and name in _GENERIC:
            continue
        caps.add(Capability.parse(item))
    return frozenset(caps)


def _ceiling(per_million: Any, per_1k: Any) -> Decimal | None:
    if per_million is not None and per_1k is not None:
        raise ValueError("give max_cost (per 1M tokens) or max_cost_per_1k, not both")
    if per_million is not None:
        return Decimal(str(per_million))
    if per_1k is not None:
        return Decimal(str(per_1k)) * 1000
    return None


def _rank(picked: list[tuple[ModelEntry, Decimal | None]], strategy: Strategy) -> list[ModelEntry]:
    keys = {"cost": _cost_key, "latency": _latency_key, "quality": _quality_key}
    if strategy in keys:
        key = keys[strategy]
        return [entry for entry, _ in sorted(picked, key=lambda item: (key(item), item[0].id))]
    if strategy not in ("balanced", "local_first"):
        known = "balanced, cost, latency, quality, local_first"
        raise ValueError(f"unknown strategy {strategy!r} (known: {known})")
    # Borda count: a model's ranks by cost, latency and quality added up; equal keys share
    # a rank, so ties in one metric do not decide the order.
    score = {entry.id: 0 for entry, _ in picked}
    for key in keys.values():
        ordered = sorted(picked, key=key)
        rank = 0
        for i, item in enumerate(ordered):
            if i and key(item) != key(ordered[i - 1]):
                rank = i
            score[item[0].id] += rank
    local_first = strategy == "local_first"
    return [
        entry
        for entry, _ in sorted(
            picked, key=lambda it: (local_first and not it[0].local, score[it[0].id], it[0].id)
        )
    ]


_Item = tuple[ModelEntry, Decimal | None]


def _cost_key(item: _Item) -> tuple[Any, ...]:
    entry, blended = item
    latency = entry.typical_latency_ms
    return (blended is None, blended or 0, latency is None, latency or 0)


def _latency_key(item: _Item) -> tuple[Any, ...]:
    entry, blended = item
    latency = entry.typical_latency_ms
    price = blended if blended is not None else _INF
    return (latency is None, latency or 0, -(entry.tokens_per_second or 0), price)


def _quality_key(item: _Item) -> tuple[Any, ...]:
    entry, blended = item
    price = blended if blended is not None else _INF
    return (-_TIER_RANK[entry.tier], -entry.context_window, price)
