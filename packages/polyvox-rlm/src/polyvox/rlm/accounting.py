"""Usage over a whole RLM call tree: calls, tokens and cost per depth and per model.

Each model call of a run (root turns, ``llm_query`` sub-calls, child RLMs' calls) is priced
the way :class:`polyvox.costs.tracking.CostCallbackHandler` prices it for the ledger: the
provider and model from the reply's ``response_metadata`` (else the model's LangSmith
parameters), the price from the catalog, :func:`polyvox.costs.computation.compute_cost` on the
reply's ``usage_metadata``. So a run's :class:`UsageReport` and the ledger agree call for call.

:class:`Accountant` is shared by every depth of one run; it takes a lock, so sub-calls
finishing on other tasks or threads are counted exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from polyvox.core.langchain_internals import ls_params

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage

    from polyvox.costs.catalog import ModelCatalog
    from polyvox.rlm.trajectory import SubCall

__all__ = ["Accountant", "UsageReport", "UsageTotals", "model_identity", "price_usage"]


@dataclass
class UsageTotals:
    """Calls, tokens and cost of a group of model calls."""

    calls: int = 0
    """How many calls."""
    input_tokens: int = 0
    """Input tokens."""
    output_tokens: int = 0
    """Output tokens."""
    cost_usd: Decimal = Decimal(0)
    """USD cost of the priced calls."""
    unpriced_calls: int = 0
    """Calls whose cost is unknown (unpriced model, or no USD rate for its currency):
    :attr:`cost_usd` is then a lower bound."""
    errors: int = 0
    """Calls that failed."""

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def add(self, call: SubCall) -> None:
        """Count one call.

        Args:
            call: The call.
        """
        self.calls += 1
        self.input_tokens += call.input_tokens
        self.output_tokens += call.output_tokens
        if call.cost_usd is None:
            self.unpriced_calls += 1
        else:
            self.cost_usd += call.cost_usd
        if call.error is not None:
            self.errors += 1

    def merge(self, other: UsageTotals) -> None:
        """Add another group's totals to this one.

        Args:
            other: The other totals.
        """
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost_usd += other.cost_usd
        self.unpriced_calls += other.unpriced_calls
        self.errors += other.errors

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (cost as a string)."""
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": str(self.cost_usd),
            "unpriced_calls": self.unpriced_calls,
            "errors": self.errors,
        }


@dataclass
class UsageReport:
    """Usage of a whole call tree, in total, per depth and per model."""

    total: UsageTotals = field(default_factory=UsageTotals)
    """Every call."""
    by_depth: dict[int, UsageTotals] = field(default_factory=dict)
    """Per depth (0: the root model's turns; 1: its sub-calls and child RLMs' turns; ...)."""
    by_model: dict[str, UsageTotals] = field(default_factory=dict)
    """Per ``provider/model``."""

    @property
    def calls(self) -> int:
        """How many model calls the tree made."""
        return self.total.calls

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens of every call."""
        return self.total.total_tokens

    @property
    def total_cost_usd(self) -> Decimal | None:
        """USD cost of the priced calls; ``None`` when calls were made and none was priced."""
        if self.total.calls and self.total.unpriced_calls == self.total.calls:
            return None
        return self.total.cost_usd

    def merge(self, other: UsageReport) -> None:
        """Add another report (another run) to this one.

        Args:
            other: The other report.
        """
        self.total.merge(other.total)
        for depth, totals in other.by_depth.items():
            self.by_depth.setdefault(depth, UsageTotals()).merge(totals)
        for model, totals in other.by_model.items():
            self.by_model.setdefault(model, UsageTotals()).merge(totals)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "total": self.total.as_dict(),
            "by_depth": {str(d): t.as_dict() for d, t in sorted(self.by_depth.items())},
            "by_model": {m: t.as_dict() for m, t in sorted(self.by_model.items())},
        }


class Accountant:
    """Counts the calls of one run (every depth), safely from any task or thread."""

    def __init__(self) -> None:
        """Create an empty account."""
        self._lock = threading.Lock()
        self._report = UsageReport()

    def add(self, call: SubCall) -> UsageTotals:
        """Count a model call.

        Args:
            call: The call (a pointer to a child RLM is not a call and is ignored).

        Returns:
            A copy of the running total after it.
        """
        with self._lock:
            if call.is_model_call:
                self._report.total.add(call)
                self._report.by_depth.setdefault(call.depth, UsageTotals()).add(call)
                key = f"{call.provider}/{call.model}"
                self._report.by_model.setdefault(key, UsageTotals()).add(call)
            return _copy(self._report.total)

    def totals(self) -> UsageTotals:
        """A copy of the running total."""
        with self._lock:
            return _copy(self._report.total)

    def report(self) -> UsageReport:
        """A copy of the report so far."""
        with self._lock:
            return UsageReport(
                total=_copy(self._report.total),
                by_depth={d: _copy(t) for d, t in self._report.by_depth.items()},
                by_model={m: _copy(t) for m, t in self._report.by_model.items()},
            )


def model_identity(model: BaseChatModel, message: AIMessage | None = None) -> tuple[str, str]:
    """The provider and model name a call is recorded under, as the ledger's handler does.

    Args:
        model: The chat model called.
        message: Its reply, when there is one (its ``response_metadata`` wins).

    Returns:
        ``(provider, model)``.
    """
    meta: Mapping[str, Any] = message.response_metadata if message is not None else {}
    try:
        params: Mapping[str, Any] = ls_params(model)
    except Exception:  # a model whose LangSmith parameters fail still gets counted
        params = {}
    provider = meta.get("model_provider") or params.get("ls_provider") or "unknown"
    name = (
        meta.get("model_name")
        or params.get("ls_model_name")
        or getattr(model, "model_name", None)
        or getattr(model, "model", None)
        or type(model).__name__
    )
    return str(provider), str(name)


def price_usage(
    usage: Mapping[str, Any] | None,
    provider: str,
    model: str,
    catalog: ModelCatalog | None = None,
) -> tuple[Decimal | None, str | None, Decimal | None]:
    """Price one call from its usage.

    Args:
        usage: The reply's ``usage_metadata`` (``None``: nothing reported, cost 0 if priced).
        provider: The provider id.
        model: The model name.
        catalog: Where prices come from (the default catalog).

    Returns:
        ``(cost, currency, cost_usd)``; ``(None, None, None)`` for an unpriced model, and
        ``cost_usd`` is ``None`` when the currency has no configured USD rate.
    """
    from polyvox.costs.computation import MissingRateError, compute_cost

    if catalog is None:
        from polyvox.costs.catalog import default_catalog

        catalog = default_catalog()
    try:
        price = catalog.price_for(provider, model)
    except Exception:  # pricing never breaks a run: an unknown price is "unpriced"
        return None, None, None
    if price is None:
        return None, None, None
    if not usage:
        return Decimal(0), price.currency, Decimal(0)
    try:
        breakdown = compute_cost(usage, price)
    except ValueError:  # inconsistent usage from a provider: counted, not priced
        return None, None, None
    cost, currency = breakdown.total, breakdown.currency or price.currency
    if cost is None:
        return None, None, None
    if currency == "USD":
        return cost, currency, cost
    try:
        return cost, currency, catalog.rates.convert(cost, currency, "USD")
    except MissingRateError:
        return cost, currency, None


def _copy(totals: UsageTotals) -> UsageTotals:
    return UsageTotals(
        totals.calls,
        totals.input_tokens,
        totals.output_tokens,
        totals.cost_usd,
        totals.unpriced_calls,
        totals.errors,
    )
