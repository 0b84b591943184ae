"""What the router knows of each deployment, worked out once when it is built: :class:`Facts`.

Locality, window, tier and capabilities from the catalog entry, and its price as USD per
token (floats for estimates, :class:`~polyvox.router.token_rates.TokenRates` for pricing
finished calls exactly). The filters (:mod:`polyvox.router.constraints`), the attempt loop
and the statistics read them on every call; nothing here runs per call except
:meth:`Facts.cost_usd` and :meth:`Facts.priced_tokens`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from polyvox.costs.catalog import Capability, Tier
from polyvox.costs.computation import compute_cost, per_token_rates, usage_tokens
from polyvox.router.token_rates import TokenRates, Tokens

if TYPE_CHECKING:
    from langchain_core.messages.ai import UsageMetadata

    from polyvox.costs.catalog import ModelCatalog, ModelPrice
    from polyvox.router.deployment import Deployment

__all__ = ["Facts", "compute_facts"]


@dataclass(frozen=True, slots=True)
class Facts:
    """What the router's filters need to know of one deployment, computed once."""

    local: bool
    """Whether it runs on the user's own hardware."""

    window: int
    """Its context window in tokens."""

    tier: Tier
    """Its tier."""

    capabilities: frozenset[Capability]
    """What it supports."""

    usd_per_input: float | None
    """USD per input token (``None``: unpriced, or priced in a currency with no rate)."""

    usd_per_output: float | None
    """USD per output token."""

    price: ModelPrice | None
    """The catalog price, for the cost of finished calls."""

    usd_rate: Decimal | None
    """USD per unit of the price's currency (1 for USD; ``None``: no rate known)."""

    rates: TokenRates | None
    """USD per token (input, cache read, cache write, output, reasoning, 1-hour cache
    write) for pricing finished calls by their tokens; ``None`` for tiered prices
    (``compute_cost`` takes them)."""

    typical_latency_s: float | None
    """The catalog's indicative time to first token, in seconds."""

    def estimated_cost(self, input_tokens: int, output_tokens: int) -> float | None:
        """A high estimate of a call's cost in USD (``None`` when unpriced; 0 when local)."""
        if self.usd_per_input is None or self.usd_per_output is None:
            return 0.0 if self.local else None
        return input_tokens * self.usd_per_input + output_tokens * self.usd_per_output

    def cost_usd(self, usage: UsageMetadata | None) -> Decimal | None:
        """What a finished call cost, in USD, from its usage.

        Args:
            usage: The answer's ``usage_metadata``.

        Returns:
            The cost (``None`` when unpriced, without usage, or for usage the price cannot
            be applied to: statistics lose a cost, the answer stands).
        """
        if not usage or self.price is None or self.usd_rate is None:
            return None
        try:
            if self.rates is not None:  # per-token rates resolved once: a few products
                return self.rates.price(usage_tokens(usage))
            total = compute_cost(usage, self.price).total
        except Exception:  # odd usage from a provider
            return None
        return None if total is None else total * self.usd_rate

    def priced_tokens(self, usage: UsageMetadata | None) -> Tokens | None:
        """A finished call's tokens, when :attr:`rates` can price them.

        Args:
            usage: The answer's ``usage_metadata``.

        Returns:
            ``(input, cache_read, cache_write, output, reasoning)``, or ``None`` without
            rates, without usage, or for counts that contradict each other (more cached
            than input tokens...): :meth:`cost_usd` then says what it cost.
        """
        if not usage or self.rates is None:
            return None
        try:
            tokens = usage_tokens(usage)
        except (TypeError, ValueError):  # odd usage from a provider
            return None
        inp, read, write, out, reasoning, hour = tokens
        if read + write > inp or reasoning > out or hour > write or min(tokens) < 0:
            return None
        return tokens


def compute_facts(deployment: Deployment, catalog: ModelCatalog | None = None) -> Facts:
    """Compute a deployment's :class:`Facts` (once, when the router is built).

    Args:
        deployment: The deployment.
        catalog: The catalog whose exchange rates convert non-USD prices.

    Returns:
        The facts.
    """
    entry = deployment.entry
    price = entry.price
    usd_in = usd_out = None
    rate: Decimal | None = None
    rates: TokenRates | None = None
    if price is not None:
        rate = _usd_rate(price.currency, catalog)
        if rate is not None:
            per = Decimal(price.per_tokens)
            usd_in = float(price.input * rate / per)
            usd_out = float(price.output * rate / per)
            exact = per_token_rates(price)
            if exact is not None:
                rates = TokenRates.of([r * rate for r in exact])
    latency = entry.typical_latency_ms / 1000.0 if entry.typical_latency_ms else None
    return Facts(
        local=entry.local,
        window=entry.context_window,
        tier=entry.tier,
        capabilities=entry.capabilities,
        usd_per_input=usd_in,
        usd_per_output=usd_out,
        price=price,
        usd_rate=rate,
        rates=rates,
        typical_latency_s=latency,
    )


def _usd_rate(currency: str, catalog: ModelCatalog | None) -> Decimal | None:
    if currency == "USD":
        return Decimal(1)
    from polyvox.costs.computation import MissingRateError

    if catalog is None:
        from polyvox.costs.catalog import default_catalog

        catalog = default_catalog()
    try:
        return catalog.rates.convert(Decimal(1), currency, "USD")
    except MissingRateError:
        return None
