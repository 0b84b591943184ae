"""A deployment's per-token USD rates, for pricing calls by their token counts.

The router prices every answer it records. A price without tiers is linear in the token
counts, so the statistics add up each call's counts and price the sum when a snapshot is
read (exactly, in :class:`~decimal.Decimal`); per call they only add integers and a float
estimate. :func:`polyvox.router.facts.compute_facts` makes each deployment's rates
once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["COUNTS", "TokenRates", "Tokens"]

COUNTS = 6
"""How many token counts a call has (see :data:`Tokens`)."""

Tokens = tuple[int, int, int, int, int, int]
"""A call's tokens as ``(input, cache_read, cache_write, output, reasoning, cache_write_1h)``
(:data:`polyvox.costs.computation.UsageCounts`): the cached ones inside ``input``, the
1-hour cache writes inside ``cache_write`` and reasoning inside ``output``, as LangChain
counts them."""


@dataclass(frozen=True, slots=True)
class TokenRates:
    """USD per token for a price without tiers, exactly and as floats.

    Each holds ``(input, cache_read, cache_write, output, reasoning, cache_write_1h)``. A
    call recorded with its tokens and these rates is priced by summing its tokens: the exact
    total (:attr:`DeploymentStats.total_cost_usd`) is worked out when a snapshot is read, so
    the router prices no call in :class:`~decimal.Decimal` on its hot path.
    """

    exact: tuple[Decimal, ...]
    """The exact rates (as :func:`polyvox.costs.computation.per_token_rates`, in USD)."""

    approx: tuple[float, ...]
    """The same as floats, for the running mean cost."""

    @classmethod
    def of(cls, exact: Sequence[Decimal]) -> TokenRates:
        """The rates from their exact values.

        Args:
            exact: USD per input, cache-read, cache-write, output, reasoning and (when
                given) 1-hour cache-write token; a 1-hour write without its own rate costs
                a cache write.

        Returns:
            The rates.
        """
        rates = tuple(exact)
        if len(rates) == COUNTS - 1:
            rates += (rates[2],)
        if len(rates) != COUNTS:
            raise ValueError(f"expected {COUNTS} per-token rates, got {len(rates)}")
        return cls(rates, tuple(float(r) for r in rates))

    def price(self, tokens: Tokens) -> Decimal:
        """The exact cost of ``tokens`` (a call's, or a sum of calls')."""
        from polyvox.costs.computation import priced_total

        return priced_total(tokens, self.exact)

    def approx_price(self, tokens: Tokens) -> float:
        """The cost of one call's ``tokens`` as a float."""
        inp, read, write, out, reasoning, hour = tokens
        r_in, r_read, r_write, r_out, r_reasoning, r_hour = self.approx
        return (
            (inp - read - write) * r_in
            + read * r_read
            + (write - hour) * r_write
            + hour * r_hour
            + (out - reasoning) * r_out
            + reasoning * r_reasoning
        )
