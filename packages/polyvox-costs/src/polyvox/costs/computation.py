"""What a call cost: usage partitioned by how it is billed, priced exactly, in its currency.

LangChain's :class:`~langchain_core.messages.ai.UsageMetadata` counts cached tokens inside
``input_tokens`` and reasoning tokens inside ``output_tokens``; :class:`TokenPartition`
splits them into disjoint parts (uncached input, cache reads, cache writes, output,
reasoning) and :func:`compute_cost` prices each part with :class:`~decimal.Decimal`
arithmetic, so figures are exact (no float rounding, no rounding at all: round for display).

The price tier is chosen by the call's *total* input tokens, cached ones included, and the
whole call is billed at that tier, as Google and Anthropic do for prompts over 200K tokens.
A cost stays in the price's currency (``USD``, or ``RUB`` for GigaChat and YandexGPT);
:class:`CurrencyRates` converts for reports.

An unpriced model yields ``CostBreakdown(priced=False)`` whose amounts and currency are
``None`` — never 0: "we do not know" must not read as "free".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Context, Decimal, localcontext
from typing import TYPE_CHECKING, Any

from polyvox.costs.catalog.types import ModelPrice, PriceTier
from polyvox.costs.currency import CurrencyRates, MissingRateError

if TYPE_CHECKING:
    from polyvox.costs.catalog.catalog import ModelCatalog

__all__ = [
    "CACHE_WRITE_KEYS",
    "ONE_HOUR_WRITE_KEY",
    "CostBreakdown",
    "CurrencyRates",
    "MissingRateError",
    "TokenPartition",
    "UsageCounts",
    "compute_cost",
    "cost_of",
    "per_token_rates",
    "priced_total",
    "sum_costs",
    "tokens_usage",
    "usage_tokens",
]


CACHE_WRITE_KEYS = ("cache_creation", "ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")
"""``input_token_details`` keys that count prompt-cache writes: ``cache_creation`` (the
total) and the split by cache lifetime that Anthropic's models report (langchain-anthropic's
and polyvox's) in the ``ephemeral_*`` keys. The split is counted when there is one, else
the total: a reporter giving both is not counted twice."""

ONE_HOUR_WRITE_KEY = "ephemeral_1h_input_tokens"
"""The cache writes billed at the 1-hour rate (:attr:`ModelPrice.cache_write_1h`)."""

UsageCounts = tuple[int, int, int, int, int, int]
"""``(input, cache_read, cache_write, output, reasoning, cache_write_1h)``: input includes
the cached tokens, output the reasoning ones, and cache_write the 1-hour writes."""


@dataclass(frozen=True)
class TokenPartition:
    """A call's tokens, split into disjoint billed parts."""

    input_uncached: int
    """Input tokens neither read from nor written to the prompt cache."""

    cache_read: int
    """Input tokens read from the prompt cache."""

    cache_write: int
    """Input tokens written to the prompt cache (the 1-hour writes included)."""

    output: int
    """Output tokens other than reasoning."""

    reasoning: int
    """Hidden reasoning tokens."""

    cache_write_1h: int = 0
    """Of :attr:`cache_write`, the tokens written to Anthropic's 1-hour cache (billed at
    :attr:`ModelPrice.cache_write_1h`)."""

    @property
    def input_total(self) -> int:
        """All input tokens (what LangChain calls ``input_tokens``; selects the price tier)."""
        return self.input_uncached + self.cache_read + self.cache_write

    @property
    def output_total(self) -> int:
        """All output tokens, reasoning included (LangChain's ``output_tokens``)."""
        return self.output + self.reasoning

    @classmethod
    def from_usage(cls, usage: Mapping[str, Any]) -> TokenPartition:
        """Partition a LangChain ``UsageMetadata`` (or any mapping of the same shape).

        Args:
            usage: ``input_tokens`` (cached included), ``output_tokens`` (reasoning
                included), and optional ``input_token_details`` (``cache_read``, the cache
                writes in :data:`CACHE_WRITE_KEYS`) and ``output_token_details``
                (``reasoning``).

        Returns:
            The partition.

        Raises:
            ValueError: Counts that are negative, not whole numbers, or inconsistent (more
                cached tokens than input tokens, more reasoning than output tokens).
        """
        details_in = usage.get("input_token_details") or {}
        details_out = usage.get("output_token_details") or {}
        inp = _tokens(usage.get("input_tokens"), "input_tokens")
        out = _tokens(usage.get("output_tokens"), "output_tokens")
        read = _tokens(details_in.get("cache_read"), "input_token_details.cache_read")
        split = sum(
            _tokens(details_in.get(key), f"input_token_details.{key}")
            for key in CACHE_WRITE_KEYS[1:]
        )
        # the split by lifetime when reported, else the total (never both: some reporters
        # give the total beside the split)
        write = split or _tokens(
            details_in.get("cache_creation"), "input_token_details.cache_creation"
        )
        reasoning = _tokens(details_out.get("reasoning"), "output_token_details.reasoning")
        hour = _tokens(
            details_in.get(ONE_HOUR_WRITE_KEY), f"input_token_details.{ONE_HOUR_WRITE_KEY}"
        )
        if read + write > inp:
            msg = (
                f"usage reports {read} cache-read + {write} cache-write tokens but only {inp} "
                "input tokens; input_tokens must include cached tokens (LangChain's convention)"
            )
            raise ValueError(msg)
        if reasoning > out:
            msg = (
                f"usage reports {reasoning} reasoning tokens but only {out} output tokens; "
                "output_tokens must include reasoning tokens (LangChain's convention)"
            )
            raise ValueError(msg)
        return cls(inp - read - write, read, write, out - reasoning, reasoning, hour)


@dataclass(frozen=True)
class CostBreakdown:
    """A call's cost by billed part. Amounts are ``None`` when the model is unpriced."""

    currency: str | None
    """The price's currency (``None`` when unpriced)."""

    input: Decimal | None
    """Cost of uncached input tokens."""

    cache_read: Decimal | None
    """Cost of cache reads."""

    cache_write: Decimal | None
    """Cost of cache writes (5-minute and 1-hour together)."""

    output: Decimal | None
    """Cost of (non-reasoning) output tokens."""

    reasoning: Decimal | None
    """Cost of reasoning tokens."""

    total: Decimal | None
    """The sum; ``None`` when unpriced (never 0 for an unknown price)."""

    priced: bool
    """Whether a price was known."""

    tokens: TokenPartition
    """The token counts that were priced."""

    tier: PriceTier | None = None
    """The long-context tier applied, ``None`` for base prices."""

    def convert(self, to: str, rates: CurrencyRates) -> CostBreakdown:
        """The same cost in another currency (unpriced stays unpriced).

        Args:
            to: The target currency.
            rates: Exchange rates.

        Returns:
            A new breakdown with every amount converted.

        Raises:
            MissingRateError: When ``rates`` lacks a needed rate.
        """
        if not self.priced or self.currency is None or self.currency == to.upper():
            return self

        def conv(amount: Decimal | None) -> Decimal | None:
            assert self.currency is not None
            return None if amount is None else rates.convert(amount, self.currency, to)

        return replace(
            self,
            currency=to.upper(),
            input=conv(self.input),
            cache_read=conv(self.cache_read),
            cache_write=conv(self.cache_write),
            output=conv(self.output),
            reasoning=conv(self.reasoning),
            total=conv(self.total),
        )


def compute_cost(
    usage: Mapping[str, Any] | TokenPartition, price: ModelPrice | None
) -> CostBreakdown:
    """Price one call.

    Each part is ``tokens * unit price / price.per_tokens``; the tier is the highest whose
    threshold the call's total input tokens exceed. Cache reads/writes without their own
    price are billed as input, 1-hour writes without their own price as 5-minute writes,
    reasoning without its own price as output.

    Args:
        usage: LangChain ``UsageMetadata`` (or a :class:`TokenPartition`).
        price: The model's price; ``None`` means unpriced.

    Returns:
        The breakdown; unpriced → ``priced=False`` with ``None`` amounts and currency.

    Raises:
        ValueError: For inconsistent usage (see :meth:`TokenPartition.from_usage`).
    """
    tokens = usage if isinstance(usage, TokenPartition) else TokenPartition.from_usage(usage)
    if price is None:
        return CostBreakdown(None, None, None, None, None, None, None, False, tokens)
    unit = price.unit_prices(tokens.input_total)
    with localcontext() as ctx:
        ctx.prec = 50
        per = Decimal(price.per_tokens)
        parts = (
            tokens.input_uncached * unit.input / per,
            tokens.cache_read * unit.cache_read / per,
            (
                (tokens.cache_write - tokens.cache_write_1h) * unit.cache_write
                + tokens.cache_write_1h * unit.cache_write_1h
            )
            / per,
            tokens.output * unit.output / per,
            tokens.reasoning * unit.reasoning / per,
        )
        total = sum(parts, Decimal(0))
    return CostBreakdown(
        price.currency,
        *parts,
        total=total,
        priced=True,
        tokens=tokens,
        tier=price.tier_for(tokens.input_total),
    )


def cost_of(
    usage: Mapping[str, Any] | TokenPartition,
    provider: str,
    model: str,
    catalog: ModelCatalog | None = None,
) -> CostBreakdown:
    """Price a call of ``provider``'s ``model`` from the catalog.

    Args:
        usage: LangChain ``UsageMetadata`` (or a :class:`TokenPartition`).
        provider: The provider id (``response_metadata["model_provider"]``).
        model: The model id (``response_metadata["model_name"]``).
        catalog: Where prices come from (the default catalog when ``None``).

    Returns:
        The breakdown (``priced=False`` for a model the catalog knows but cannot price).

    Raises:
        UnknownModelError: When neither the catalog, a registered profile, the overlay nor
            genai-prices knows the model.
    """
    from polyvox.costs.catalog.catalog import default_catalog

    price = (catalog or default_catalog()).price_for(provider, model, strict=True)
    return compute_cost(usage, price)


def sum_costs(
    costs: Iterable[CostBreakdown], currency: str = "USD", rates: CurrencyRates | None = None
) -> tuple[Decimal, int]:
    """Add costs up in one currency, for a report.

    Args:
        costs: Breakdowns, in any currencies.
        currency: The report's currency.
        rates: Exchange rates (``POLYVOX_FX_RATES`` when ``None``).

    Returns:
        ``(total, unpriced)``: the total of the priced costs and how many were unpriced.

    Raises:
        MissingRateError: When a currency present has no rate.
    """
    rates = rates or CurrencyRates.from_env()
    total, unpriced = Decimal(0), 0
    for cost in costs:
        if cost.total is None or cost.currency is None:
            unpriced += 1
        else:
            total += rates.convert(cost.total, cost.currency, currency)
    return total, unpriced


def _tokens(value: Any, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"usage {name} must be a non-negative whole number, got {value!r}")
    return value


def per_token_rates(price: ModelPrice) -> tuple[Decimal, ...] | None:
    """A price's six unit prices per single token, or ``None`` where that is not exact.

    For pricing many calls of one model: compute the rates once, then price each call with
    :func:`priced_total`.

    Args:
        price: The model's price.

    Returns:
        ``(input, cache_read, cache_write, output, reasoning, cache_write_1h)`` per token
        (:class:`UnitPrices`' order), for a price with
        no tiers whose ``per_tokens`` is a power of ten (the division is then exact, so
        :func:`priced_total` equals :func:`compute_cost`'s total to the last digit);
        ``None`` otherwise (use :func:`compute_cost`).
    """
    per = price.per_tokens
    if price.tiers or per <= 0 or str(per).rstrip("0") != "1":
        return None
    shift = -(len(str(per)) - 1)
    return tuple(rate.scaleb(shift) for rate in price.unit_prices(0))


def usage_tokens(usage: Mapping[str, Any] | None) -> UsageCounts:
    """A ``UsageMetadata``'s counts as :data:`UsageCounts`.

    Args:
        usage: The usage (``None``: all zero). Cached tokens are inside ``input`` and
            reasoning inside ``output``, as LangChain counts them.

    Returns:
        The six counts.
    """
    if not usage:
        return (0, 0, 0, 0, 0, 0)
    details_in = usage.get("input_token_details") or {}
    details_out = usage.get("output_token_details") or {}
    return (
        int(usage.get("input_tokens") or 0),
        int(details_in.get("cache_read") or 0),
        sum(int(details_in.get(key) or 0) for key in CACHE_WRITE_KEYS[1:])
        or int(details_in.get("cache_creation") or 0),
        int(usage.get("output_tokens") or 0),
        int(details_out.get("reasoning") or 0),
        int(details_in.get(ONE_HOUR_WRITE_KEY) or 0),
    )


def priced_total(tokens: tuple[int, ...], rates: tuple[Decimal, ...]) -> Decimal:
    """A call's exact total from :func:`usage_tokens` and :func:`per_token_rates`.

    Args:
        tokens: :data:`UsageCounts` (the five first alone: no 1-hour writes).
        rates: The per-token rates (the five first alone: 1-hour writes at the
            5-minute rate).

    Returns:
        The total cost in the price's currency (50 significant digits: exact).

    Raises:
        ValueError: For inconsistent usage, as :func:`compute_cost`.
    """
    inp, read, write, out, reasoning = tokens[:5]
    hour = tokens[5] if len(tokens) > 5 else 0
    if read + write > inp or reasoning > out or hour > write or min(tokens) < 0:
        TokenPartition.from_usage(tokens_usage(tokens))  # raises the detailed error
    ctx = _EXACT
    total = ctx.multiply(rates[0], inp - read - write)
    total = ctx.add(total, ctx.multiply(rates[3], out - reasoning))
    if read:
        total = ctx.add(total, ctx.multiply(rates[1], read))
    if hour and len(rates) > 5:
        total = ctx.add(total, ctx.multiply(rates[5], hour))
        write -= hour
    if write:
        total = ctx.add(total, ctx.multiply(rates[2], write))
    if reasoning:
        total = ctx.add(total, ctx.multiply(rates[4], reasoning))
    return total


def tokens_usage(tokens: tuple[int, ...]) -> dict[str, Any]:
    """The ``UsageMetadata``-shaped mapping of :func:`usage_tokens`' counts (its inverse)."""
    inp, read, write, out, reasoning = tokens[:5]
    hour = tokens[5] if len(tokens) > 5 else 0
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "total_tokens": inp + out,
        "input_token_details": {
            "cache_read": read,
            "cache_creation": write,
            "ephemeral_5m_input_tokens": write - hour,
            ONE_HOUR_WRITE_KEY: hour,
        },
        "output_token_details": {"reasoning": reasoning},
    }


_EXACT = Context(prec=50)
