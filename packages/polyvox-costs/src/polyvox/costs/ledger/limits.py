"""A budget: the spending limit one workspace or agent has over a period.

The value only; :mod:`polyvox.costs.ledger.budgets` checks calls against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = ["SCOPE_KEYS", "Budget"]

SCOPE_KEYS = {"workspace": "workspace_id", "agent": "agent_id"}
"""A budget's scope → the attribution key a call's metadata names it by."""


@dataclass(frozen=True)
class Budget:
    """A spending limit for one workspace or agent over a period (UTC days and months)."""

    scope: Literal["workspace", "agent"]
    """What the budget limits: a workspace (``workspace_id``) or an agent (``agent_id``)."""

    key: str
    """The workspace or agent id."""

    limit: Decimal
    """The most that may be spent in a period."""

    currency: str = "USD"
    """The currency of ``limit`` (and of the calls counted against it)."""

    period: Literal["day", "month", "total"] = "month"
    """The period the limit renews over; ``"total"`` never renews."""

    def __post_init__(self) -> None:
        if self.scope not in SCOPE_KEYS:
            msg = f"Budget.scope must be 'workspace' or 'agent', not {self.scope!r}"
            raise ValueError(msg)
        if self.period not in ("day", "month", "total"):
            msg = f"Budget.period must be 'day', 'month' or 'total', not {self.period!r}"
            raise ValueError(msg)
        if not self.key:
            raise ValueError("Budget.key must name a workspace or agent")
        limit = self.limit if isinstance(self.limit, Decimal) else Decimal(str(self.limit))
        if limit < 0:
            msg = f"Budget.limit must not be negative, not {limit}"
            raise ValueError(msg)
        object.__setattr__(self, "limit", limit)
