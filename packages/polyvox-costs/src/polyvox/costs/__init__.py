"""polyvox.costs: what calls cost, recorded and held to budgets.

- :mod:`polyvox.costs.catalog`: the model catalog (context windows, capabilities, tiers
  and prices; the models of :mod:`polyvox.core.facts`, priced by a dated overlay and
  genai-prices).
- :mod:`polyvox.costs.computation`: usage split into billed parts and priced exactly
  (:func:`compute_cost`, :class:`CostBreakdown`, :class:`CurrencyRates`), re-exported here.
- :mod:`polyvox.costs.tracking`: ``CostCallbackHandler`` (LangChain) and the LlamaIndex
  handler, which record every call into a ledger.
- :mod:`polyvox.costs.ledger`: the ledger (SQLite by default, PostgreSQL for teams; the
  ``ledger`` extra), reports and budgets.

Nothing here is needed to call a model: provider packages depend on ``polyvox-core``
alone; the router, the RLM and the CLI use this distribution. Names load lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.costs.catalog import ModelCatalog, default_catalog
    from polyvox.costs.computation import (
        CostBreakdown,
        CurrencyRates,
        MissingRateError,
        TokenPartition,
        compute_cost,
        cost_of,
        per_token_rates,
        priced_total,
        sum_costs,
        tokens_usage,
        usage_tokens,
    )
    from polyvox.costs.ledger import Ledger
    from polyvox.costs.tracking import CostCallbackHandler

_COMPUTATION = (
    "CostBreakdown",
    "CurrencyRates",
    "MissingRateError",
    "TokenPartition",
    "compute_cost",
    "cost_of",
    "per_token_rates",
    "priced_total",
    "sum_costs",
    "tokens_usage",
    "usage_tokens",
)
_EXPORTS = {
    **dict.fromkeys(_COMPUTATION, "polyvox.costs.computation"),
    "ModelCatalog": "polyvox.costs.catalog",
    "default_catalog": "polyvox.costs.catalog",
    "Ledger": "polyvox.costs.ledger",
    "CostCallbackHandler": "polyvox.costs.tracking",
}

__all__ = [
    "CostBreakdown",
    "CostCallbackHandler",
    "CurrencyRates",
    "Ledger",
    "MissingRateError",
    "ModelCatalog",
    "TokenPartition",
    "compute_cost",
    "cost_of",
    "default_catalog",
    "per_token_rates",
    "priced_total",
    "sum_costs",
    "tokens_usage",
    "usage_tokens",
]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
