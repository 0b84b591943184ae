"""The errors the ledger and budgets raise.

Recording never raises (a model call must not fail because of its ledger); these come from
reading the ledger (reports, exports), from ``Ledger(strict=True)``, and from budget checks.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polyvox.costs.ledger.limits import Budget

__all__ = [
    "BudgetCurrencyError",
    "BudgetExceededError",
    "LedgerError",
    "LedgerURLError",
    "LedgerUnavailableError",
]


class LedgerError(RuntimeError):
    """Something went wrong reading or setting up the ledger."""


class LedgerURLError(LedgerError, ValueError):
    """The ledger URL is malformed, or names a database driver that is not installed."""


class LedgerUnavailableError(LedgerError):
    """The ledger database cannot be reached (refused, timed out, locked, wrong password)."""


class BudgetCurrencyError(ValueError):
    """A call priced in one currency was checked against a budget kept in another."""


class BudgetExceededError(RuntimeError):
    """A call's estimated cost does not fit in what is left of a budget.

    The message names the budget (scope, key, period, currency) and every number that went
    into the decision: what the ledger says was spent, what other calls in flight have
    reserved, this call's estimate and the limit.
    """

    def __init__(
        self, budget: Budget, *, spent: Decimal, reserved: Decimal, estimate: Decimal
    ) -> None:
        self.budget = budget
        """The budget that would be exceeded."""
        self.spent = spent
        """What the ledger holds for the budget's scope in its current period."""
        self.reserved = reserved
        """What calls in flight (in any process) have reserved against it."""
        self.estimate = estimate
        """This call's estimated cost."""
        total = spent + reserved + estimate
        cur = budget.currency
        super().__init__(
            f"budget exceeded for {budget.scope} {budget.key!r} ({_period(budget.period)}): "
            f"spent {spent} {cur} + reserved {reserved} {cur} + estimate {estimate} {cur} "
            f"= {total} {cur} > limit {budget.limit} {cur}"
        )

    @property
    def limit(self) -> Decimal:
        """The budget's limit."""
        return self.budget.limit

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_budget_error,
            (self.budget, self.spent, self.reserved, self.estimate),
        )


def _rebuild_budget_error(
    budget: Budget, spent: Decimal, reserved: Decimal, estimate: Decimal
) -> BudgetExceededError:
    return BudgetExceededError(budget, spent=spent, reserved=reserved, estimate=estimate)


def _period(period: str) -> str:
    return {"day": "this UTC day", "month": "this UTC month"}.get(period, "in total")
