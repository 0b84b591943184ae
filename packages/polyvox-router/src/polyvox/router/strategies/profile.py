"""What strategies read of a deployment, worked out once and cached: prices as floats, latency.

Ranking runs on every call, so nothing here touches :class:`~decimal.Decimal` or the
catalog per call: the first time a deployment is ranked, its catalog price is converted
to USD per token as floats (long-context tiers included) and kept with its other
constants in a :class:`DeploymentProfile`, cached by the catalog entry's identity (a
profile depends on nothing else). A new entry on a deployment (``deployment.entry =
...``) gets its own profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from polyvox.costs.catalog import Capability, Tier

if TYPE_CHECKING:
    from polyvox.costs.catalog import ModelEntry, ModelPrice
    from polyvox.router.deployment import Deployment
    from polyvox.router.request import RouteRequest

__all__ = [
    "DeploymentProfile",
    "clear_profiles",
    "estimate_cost_usd",
    "estimate_latency_s",
    "profile_of",
]

TIER_RANK = {Tier.FAST: 0, Tier.BALANCED: 1, Tier.POWERFUL: 2}
"""Tiers in order of strength (higher is stronger)."""


@dataclass(frozen=True, slots=True)
class _PriceBand:
    """USD per token above an input-token threshold (a long-context tier)."""

    min_input_tokens: int
    input: float
    output: float


@dataclass(frozen=True, slots=True)
class DeploymentProfile:
    """A deployment's constants as plain floats and ints, for ranking."""

    entry: ModelEntry
    """The catalog entry it was worked out from (a new entry makes a new profile)."""

    input_usd: float | None
    """USD per input token at base prices; ``None``: unpriced (or no exchange rate)."""

    output_usd: float | None
    """USD per output token at base prices; ``None`` when unpriced."""

    bands: tuple[_PriceBand, ...]
    """Long-context tiers, ascending by threshold."""

    ttft_s: float | None
    """The catalog's typical time to first token, in seconds."""

    tokens_per_second: float | None
    """The catalog's typical output speed."""

    tier_rank: int
    """0 fast, 1 balanced, 2 powerful."""

    extras: frozenset[Capability]
    """Capabilities beyond streaming (which every chat model offers)."""

    @property
    def priced(self) -> bool:
        """Whether a USD price is known."""
        return self.input_usd is not None

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float | None:
        """The estimated cost of a call, in USD.

        Args:
            input_tokens: The prompt's tokens (select the long-context tier).
            output_tokens: The output tokens expected.

        Returns:
            The cost (0 for a local model), or ``None`` when unpriced.
        """
        inp = self.input_usd
        if inp is None:
            return None
        out = self.output_usd or 0.0
        for band in self.bands:
            if input_tokens > band.min_input_tokens:
                inp, out = band.input, band.output
        return input_tokens * inp + output_tokens * out

    def latency_s(self, output_tokens: int) -> float | None:
        """The catalog's estimate of a call's duration: first token plus generation.

        Args:
            output_tokens: The output tokens expected.

        Returns:
            Seconds, or ``None`` when the catalog gives no typical latency.
        """
        ttft = self.ttft_s
        if ttft is None:
            return None
        speed = self.tokens_per_second
        return ttft if not speed else ttft + output_tokens / speed


_PROFILES: dict[int, DeploymentProfile] = {}
"""Profiles by ``id()`` of their entry (each profile holds its entry, so no id is reused)."""

MAX_PROFILES = 4096
"""The cache is emptied when it reaches this many entries (built afresh on next use)."""


def profile_of(deployment: Deployment) -> DeploymentProfile:
    """The deployment's profile, worked out on first use and cached by its catalog entry.

    A profile depends on the catalog entry alone, so deployments sharing an entry share
    one, and giving a deployment a new entry gives it a new profile.

    Args:
        deployment: The deployment.

    Returns:
        Its profile.
    """
    entry = deployment.entry
    profile = _PROFILES.get(id(entry))
    if profile is None or profile.entry is not entry:
        profile = _build(entry)
        if len(_PROFILES) >= MAX_PROFILES:
            _PROFILES.clear()
        _PROFILES[id(entry)] = profile  # two threads building at once store equal values
    return profile


def clear_profiles() -> None:
    """Forget every cached profile (after changing the default catalog's exchange rates).

    Profiles read the rates of :func:`~polyvox.costs.catalog.default_catalog` once, when
    they are built.
    """
    _PROFILES.clear()


def estimate_cost_usd(deployment: Deployment, request: RouteRequest) -> float | None:
    """What a request should cost on a deployment, in USD, from its catalog price.

    Uses the request's estimated input tokens and expected output tokens; local models
    cost 0 (the catalog prices them at 0).

    Args:
        deployment: The deployment.
        request: The request.

    Returns:
        The estimate, or ``None`` when the deployment is unpriced.
    """
    return profile_of(deployment).cost_usd(
        request.estimated_input_tokens, request.expected_output_tokens
    )


def estimate_latency_s(deployment: Deployment, request: RouteRequest) -> float | None:
    """How long a request should take on a deployment, from the catalog alone.

    Args:
        deployment: The deployment.
        request: The request.

    Returns:
        Typical time to first token plus the expected output at the typical speed, in
        seconds; ``None`` when the catalog gives no typical latency.
    """
    return profile_of(deployment).latency_s(request.expected_output_tokens)


def _build(entry: ModelEntry) -> DeploymentProfile:
    input_usd = output_usd = None
    bands: tuple[_PriceBand, ...] = ()
    per_token = _usd_per_token(entry.price)
    if per_token is not None and entry.price is not None:
        input_usd, output_usd, scale = per_token
        bands = tuple(
            _PriceBand(t.min_input_tokens, float(t.input * scale), float(t.output * scale))
            for t in entry.price.tiers
        )
    latency = entry.typical_latency_ms
    return DeploymentProfile(
        entry=entry,
        input_usd=input_usd,
        output_usd=output_usd,
        bands=bands,
        ttft_s=None if latency is None else latency / 1000.0,
        tokens_per_second=entry.tokens_per_second,
        tier_rank=TIER_RANK[entry.tier],
        extras=entry.capabilities - {Capability.STREAMING},
    )


def _usd_per_token(price: ModelPrice | None) -> tuple[float, float, Decimal] | None:
    """Base input and output prices in USD per token, and the factor that converts them."""
    if price is None:
        return None
    from polyvox.costs.catalog import default_catalog
    from polyvox.costs.computation import MissingRateError

    try:
        usd_per_unit = default_catalog().rates.convert(Decimal(1), price.currency, "USD")
    except MissingRateError:
        return None  # a price we cannot compare is treated as no price
    scale = usd_per_unit / price.per_tokens
    return float(price.input * scale), float(price.output * scale), scale
