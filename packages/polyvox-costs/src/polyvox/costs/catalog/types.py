"""What the catalog knows about a model: capabilities, tier, limits and price.

Every type here is a frozen dataclass that validates (and normalises) itself on
construction, raising :class:`~polyvox.costs.catalog.errors.CatalogError` naming the field.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from polyvox.costs.catalog._checks import (
    CURRENCY,
    capability_set,
    count,
    money,
    money_or_none,
    positive_or_none,
    set_field,
    strings,
    tier_value,
)
from polyvox.costs.catalog.errors import CatalogError
from polyvox.costs.catalog.values import LOCAL_PROVIDERS, Capability, Tier, canonical_provider

__all__ = [
    "LOCAL_PROVIDERS",
    "Capability",
    "ModelEntry",
    "ModelPrice",
    "PriceTier",
    "Tier",
    "UnitPrices",
    "canonical_provider",
]


class UnitPrices(NamedTuple):
    """The prices that apply to one call (its tier resolved, every fallback filled in)."""

    input: Decimal
    """Uncached input."""
    cache_read: Decimal
    """Cache reads (the input price when the model has none of its own)."""
    cache_write: Decimal
    """Cache writes (the input price when the model has none of its own)."""
    output: Decimal
    """Output."""
    reasoning: Decimal
    """Reasoning (the output price when the model has none of its own)."""
    cache_write_1h: Decimal
    """Cache writes with Anthropic's 1-hour lifetime (the cache-write price when the model
    has none of its own)."""


@dataclass(frozen=True)
class PriceTier:
    """Prices that replace the base prices for a call with more input tokens than a threshold.

    Providers switch the *whole* call to the tier's prices (Gemini 2.5 Pro and Claude's
    long-context pricing bill every token of a prompt over 200K at the higher rate).
    """

    min_input_tokens: int
    """The tier applies when the call's input tokens (cached ones included) exceed this."""

    input: Decimal
    """Uncached input price in the tier."""

    output: Decimal
    """Output price in the tier (reasoning too, unless the model prices reasoning apart)."""

    cache_read: Decimal | None = None
    """Cache-read price in the tier; ``None``: the base cache-read price."""

    cache_write: Decimal | None = None
    """Cache-write price in the tier; ``None``: the base cache-write price."""

    cache_write_1h: Decimal | None = None
    """1-hour cache-write price in the tier; ``None``: the base one."""

    def __post_init__(self) -> None:
        set_field(self, "min_input_tokens", count(self.min_input_tokens, "min_input_tokens"))
        set_field(self, "input", money(self.input, "input"))
        set_field(self, "output", money(self.output, "output"))
        set_field(self, "cache_read", money_or_none(self.cache_read, "cache_read"))
        set_field(self, "cache_write", money_or_none(self.cache_write, "cache_write"))
        set_field(self, "cache_write_1h", money_or_none(self.cache_write_1h, "cache_write_1h"))


@dataclass(frozen=True)
class ModelPrice:
    """A model's token prices, in one currency, per ``per_tokens`` tokens.

    ``None`` for ``cache_read``/``cache_write`` means the provider does not price them apart:
    such tokens are billed as uncached input. ``None`` for ``reasoning`` means reasoning
    tokens are billed as output (as every provider bills them today).
    """

    currency: str
    """ISO 4217 code: ``USD`` for genai-prices, ``RUB`` for GigaChat and YandexGPT."""

    input: Decimal
    """Price of uncached input tokens."""

    output: Decimal
    """Price of output tokens (``0`` for embeddings models)."""

    cache_read: Decimal | None = None
    """Price of input tokens read from the prompt cache."""

    cache_write: Decimal | None = None
    """Price of input tokens written to the prompt cache (Anthropic's 5-minute write)."""

    reasoning: Decimal | None = None
    """Price of reasoning tokens; ``None``: billed as output."""

    per_tokens: int = 1_000_000
    """How many tokens the prices are for: 1,000,000 (USD per MTok) or 1,000 (RUB per 1K)."""

    tiers: tuple[PriceTier, ...] = ()
    """Long-context tiers, ascending by threshold; the highest one exceeded applies."""

    source: str = ""
    """Where the prices come from (a URL, or ``genai-prices <version>: provider/model``)."""

    as_of: date = field(default_factory=date.today)
    """The date the prices were taken or took effect."""

    cache_write_1h: Decimal | None = None
    """Price of input tokens written to Anthropic's 1-hour cache (twice the input price
    there, against 1.25 times for the 5-minute write); ``None``: the :attr:`cache_write`
    price."""

    deferred_multiplier: Decimal | None = None
    """What every price is multiplied by for a call run in the provider's deferred (batch)
    mode: ``0.5`` where such calls cost half (Yandex's ``completionAsync``); ``None``: no
    deferred price known, such calls are priced as synchronous ones."""

    def __post_init__(self) -> None:
        currency = str(self.currency).strip().upper()
        if not CURRENCY.fullmatch(currency):
            msg = f"currency must be an ISO 4217 code like USD or RUB, not {self.currency!r}"
            raise CatalogError(msg, field="currency")
        set_field(self, "currency", currency)
        for name in ("input", "output"):
            set_field(self, name, money(getattr(self, name), name))
        for name in ("cache_read", "cache_write", "reasoning", "cache_write_1h",
                     "deferred_multiplier"):  # fmt: skip
            set_field(self, name, money_or_none(getattr(self, name), name))
        per = count(self.per_tokens, "per_tokens")
        if per == 0:
            raise CatalogError("per_tokens must be positive", field="per_tokens")
        set_field(self, "per_tokens", per)
        tiers = tuple(self.tiers)
        for i, tier in enumerate(tiers):
            if not isinstance(tier, PriceTier):
                msg = f"expected a PriceTier, got {type(tier).__name__}"
                raise CatalogError(msg, field=f"tiers[{i}]")
            if i and tier.min_input_tokens <= tiers[i - 1].min_input_tokens:
                msg = "tiers must be in ascending order of min_input_tokens, without repeats"
                raise CatalogError(msg, field=f"tiers[{i}].min_input_tokens")
        set_field(self, "tiers", tiers)
        if not isinstance(self.as_of, date):
            raise CatalogError(f"expected a date, got {self.as_of!r}", field="as_of")
        set_field(self, "source", str(self.source))

    def deferred(self) -> ModelPrice:
        """The prices of a deferred (batch) call: every price times the multiplier.

        Returns:
            The scaled prices (tiers included), or these prices when there is no multiplier.
        """
        factor = self.deferred_multiplier
        if factor is None:
            return self

        def scale(value: Decimal | None) -> Decimal | None:
            return None if value is None else value * factor

        def scale_tier(tier: PriceTier) -> PriceTier:
            return PriceTier(
                tier.min_input_tokens, tier.input * factor, tier.output * factor,
                scale(tier.cache_read), scale(tier.cache_write), scale(tier.cache_write_1h),
            )  # fmt: skip

        return replace(
            self,
            input=self.input * factor,
            output=self.output * factor,
            cache_read=scale(self.cache_read),
            cache_write=scale(self.cache_write),
            reasoning=scale(self.reasoning),
            cache_write_1h=scale(self.cache_write_1h),
            tiers=tuple(scale_tier(t) for t in self.tiers),
            deferred_multiplier=None,
            source=f"{self.source} (deferred: x{factor})",
        )

    def tier_for(self, input_tokens: int) -> PriceTier | None:
        """The tier a call with ``input_tokens`` input tokens falls in (``None``: base prices)."""
        applied = None
        for tier in self.tiers:
            if input_tokens > tier.min_input_tokens:
                applied = tier
        return applied

    def unit_prices(self, input_tokens: int) -> UnitPrices:
        """Every price that applies to a call, tier and fallbacks resolved.

        Args:
            input_tokens: The call's input tokens, cached ones included (selects the tier).

        Returns:
            Prices per :attr:`per_tokens` tokens.
        """
        tier = self.tier_for(input_tokens)
        inp = tier.input if tier else self.input
        out = tier.output if tier else self.output
        read = tier.cache_read if tier and tier.cache_read is not None else self.cache_read
        write = tier.cache_write if tier and tier.cache_write is not None else self.cache_write
        hour = tier.cache_write_1h if tier and tier.cache_write_1h is not None else None
        hour = self.cache_write_1h if hour is None else hour
        write = inp if write is None else write
        return UnitPrices(
            input=inp,
            cache_read=inp if read is None else read,
            cache_write=write,
            output=out,
            reasoning=out if self.reasoning is None else self.reasoning,
            cache_write_1h=write if hour is None else hour,
        )

    def blended(self, *, input_weight: int = 3, output_weight: int = 1) -> Decimal:
        """A single comparable price per **1M** tokens: base prices, weighted input:output.

        The default 3:1 blend is the usual convention for chat workloads (prompts run longer
        than answers). Tiers and cache discounts are ignored.

        Args:
            input_weight: Weight of the input price.
            output_weight: Weight of the output price.

        Returns:
            ``(input_weight·input + output_weight·output) / (sum of weights)``, per 1M tokens.
        """
        weights = input_weight + output_weight
        mixed = (self.input * input_weight + self.output * output_weight) / weights
        return mixed * 1_000_000 / self.per_tokens


@dataclass(frozen=True)
class ModelEntry:
    """Everything polyvox knows about one model of one provider."""

    provider: str
    """Provider id (``openai``, ``openrouter``, ``anthropic``, ``google``, ``ollama``, ...)."""

    model: str
    """The id the provider's API takes (``gpt-4o``, ``GigaChat-2-Max``, an Ollama tag)."""

    _: KW_ONLY

    aliases: tuple[str, ...] = ()
    """Other names that resolve to this entry (``yandexgpt/latest``, ``bielik-11b``)."""

    context_window: int
    """Maximum input tokens."""

    max_output: int | None = None
    """Maximum output tokens per call, when documented."""

    capabilities: frozenset[Capability] = frozenset()
    """What the model supports."""

    local: bool = False
    """Whether it runs on your own hardware (Ollama, llama.cpp, vLLM) rather than a cloud API."""

    languages: tuple[str, ...] = ()
    """ISO 639-1 codes of the languages it is strong in (empty: not documented)."""

    tier: Tier = Tier.BALANCED
    """Fast, balanced or powerful."""

    typical_latency_ms: float | None = None
    """Indicative time to first token for a short prompt; ``None`` where not known."""

    tokens_per_second: float | None = None
    """Indicative output speed; ``None`` where not known (local: depends on hardware)."""

    price: ModelPrice | None = None
    """The price; ``None`` is *unpriced* (never read as free)."""

    price_source: str = "auto"
    """Where :attr:`price` comes from: ``genai-prices``, ``overlay``, ``user``, ``none`` (known
    to be unpriced), or ``auto`` (look it up in the overlay and genai-prices; the catalog
    resolves it before handing the entry out)."""

    def __post_init__(self) -> None:
        for name in ("provider", "model"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise CatalogError("must be a non-empty string", field=name)
        set_field(self, "provider", canonical_provider(self.provider))
        set_field(self, "model", self.model.strip())
        set_field(self, "aliases", strings(self.aliases, "aliases"))
        window = count(self.context_window, "context_window")
        if window == 0:
            raise CatalogError("must be positive", field="context_window")
        set_field(self, "context_window", window)
        if self.max_output is not None:
            set_field(self, "max_output", count(self.max_output, "max_output"))
        set_field(self, "capabilities", capability_set(self.capabilities))
        if not isinstance(self.local, bool):
            raise CatalogError(f"expected true or false, got {self.local!r}", field="local")
        set_field(
            self, "languages", tuple(code.lower() for code in strings(self.languages, "languages"))
        )
        set_field(self, "tier", tier_value(self.tier))
        for name in ("typical_latency_ms", "tokens_per_second"):
            set_field(self, name, positive_or_none(getattr(self, name), name))
        if self.price is not None and not isinstance(self.price, ModelPrice):
            raise CatalogError(f"expected a ModelPrice, got {self.price!r}", field="price")

    @property
    def id(self) -> str:
        """``provider/model``."""
        return f"{self.provider}/{self.model}"

    @property
    def priced(self) -> bool:
        """Whether a price is known."""
        return self.price is not None

    def supports(self, *capabilities: Capability | str) -> bool:
        """Whether the model has every one of ``capabilities``."""
        return all(Capability.parse(c) in self.capabilities for c in capabilities)
