"""Budgets: spending limits per workspace or agent, checked before each call.

A :class:`BudgetGuard` holds the budgets and the ledger. Before a call, ``reserve`` checks
each budget that applies (the call's ``workspace_id`` / ``agent_id`` matches its key) and
holds the call's estimated cost; after it, the reservation is committed or released.

How overshoot stays bounded: ``reserve`` computes ``spent + reserved + estimate`` and
inserts the reservation in one transaction under a per-budget lock shared by every process
on the ledger database (advisory locks on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite). A
guarded call's cost is counted at every moment by its reservation, its ledger row, or
briefly both: ``commit`` first waits until the process's ledgers have written what they
queued (the call's own record, queued by the cost callback before the call returned), and
only then drops the reservation; ``reserve`` likewise writes what the process has queued
before it checks. So two reservers can never both take the last of a budget, and
concurrency adds no overshoot at all (within the promised bound of one request's
estimate). Spend passes a limit only by what calls in flight cost beyond their estimates;
with estimates that are upper bounds it never does. If the ledger cannot confirm the write
in time, the reservation stays (holding the actual cost) until it expires.

Spend is what the ledger holds: attach the cost callback handler with the same ledger to
every guarded call. Budgets compare costs in their own currency only; checking a call
priced in another currency is an error. A guard fails closed: if the ledger database is
unavailable, ``reserve`` raises :class:`LedgerUnavailableError`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Self

from polyvox.costs.ledger.errors import (
    BudgetCurrencyError,
    BudgetExceededError,
    LedgerError,
    LedgerUnavailableError,
)
from polyvox.costs.ledger.limits import SCOPE_KEYS, Budget

if TYPE_CHECKING:
    from polyvox.costs.ledger.store import Ledger

__all__ = [
    "Budget",
    "BudgetExceededError",
    "BudgetGuard",
    "BudgetStatus",
    "LedgerUnavailableError",
    "Reservation",
]

logger = logging.getLogger("polyvox.ledger")

RESERVE_FLUSH_TIMEOUT = 2.0
"""Most seconds ``reserve`` waits for the process's queued records (usually none) to be
written, so that the check sees this process's unguarded calls too."""


@dataclass(frozen=True)
class BudgetStatus:
    """Where one budget stands."""

    budget: Budget
    """The budget."""
    spent: Decimal
    """What the ledger holds for its scope this period."""
    reserved: Decimal
    """What calls in flight hold against it."""

    @property
    def remaining(self) -> Decimal:
        """What can still be reserved (never below zero)."""
        return max(Decimal(0), self.budget.limit - self.spent - self.reserved)


class Reservation:
    """An estimated cost held against budgets while a call runs.

    Use it as a (sync or async) context manager, or call :meth:`commit` / :meth:`release`:
    leaving the block commits, leaving it with an exception releases.
    """

    def __init__(
        self,
        guard: BudgetGuard,
        reservation_id: str | None,
        budgets: tuple[Budget, ...],
        estimate: Decimal,
        currency: str,
    ) -> None:
        self._guard = guard
        self.id = reservation_id
        """The reservation's row id (``None`` when no budget applied)."""
        self.budgets = budgets
        """The budgets it was checked against."""
        self.estimate = estimate
        """The estimated cost held."""
        self.currency = currency
        """The estimate's currency."""
        self.actual: Decimal | None = None
        """The actual cost given to :meth:`commit`."""
        self.state: Literal["held", "committed", "released"] = "held"
        """Where the reservation stands."""

    def __repr__(self) -> str:
        return f"Reservation({self.estimate} {self.currency}, {self.state})"

    def commit(self, actual: Decimal | None = None) -> None:
        """The call is done: its cost now counts through the ledger, not the reservation.

        Waits (up to the guard's ``commit_timeout``) for the ledger to write what it has
        queued, then drops the reservation. Never raises: if the write cannot be confirmed,
        the reservation stays (holding ``actual`` when given) until it expires.

        Args:
            actual: The call's actual cost, when known.
        """
        if self.state == "held":
            self.state, self.actual = "committed", actual
            if self.id is not None:
                self._guard._finish(
                    self, self._guard.ledger._flush_alike(self._guard.commit_timeout)
                )

    def release(self) -> None:
        """The call did not happen (or failed): drop the reservation (after the same wait)."""
        if self.state == "held":
            self.state = "released"
            if self.id is not None:
                self._guard._finish(
                    self, self._guard.ledger._flush_alike(self._guard.commit_timeout)
                )

    async def acommit(self, actual: Decimal | None = None) -> None:
        """:meth:`commit` for asyncio (the ledger flush is awaited natively).

        Dropping the reservation is one short transaction on the synchronous SQLAlchemy
        layer (sqlite3/psycopg), run in a worker thread to keep the event loop free, as in
        :meth:`BudgetGuard.areserve`.
        """
        if self.state == "held":
            self.state, self.actual = "committed", actual
            if self.id is not None:
                written = await self._guard.ledger._aflush_alike(self._guard.commit_timeout)
                # one short transaction on the synchronous SQLAlchemy layer, off the loop
                await asyncio.to_thread(self._guard._finish, self, written)

    async def arelease(self) -> None:
        """:meth:`release` for asyncio (the ledger flush is awaited natively)."""
        if self.state == "held":
            self.state = "released"
            if self.id is not None:
                written = await self._guard.ledger._aflush_alike(self._guard.commit_timeout)
                # one short transaction on the synchronous SQLAlchemy layer, off the event
                # loop (as in acommit and BudgetGuard.areserve)
                await asyncio.to_thread(self._guard._finish, self, written)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.release()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.acommit()
        else:
            await self.arelease()


class BudgetGuard:
    """Checks calls against budgets before they run; shared across processes by the ledger."""

    def __init__(
        self,
        ledger: Ledger,
        budgets: Iterable[Budget],
        *,
        reservation_ttl: float = 900.0,
        commit_timeout: float = 30.0,
    ) -> None:
        """Create a guard.

        Args:
            ledger: The ledger whose database holds the spend (and the reservations).
            budgets: The budgets to enforce.
            reservation_ttl: Seconds a reservation counts if it is never committed or
                released (a crashed process); longer than your slowest call.
            commit_timeout: Most seconds ``commit`` waits for the ledger's writes.
        """
        self.ledger = ledger
        """The ledger."""
        self.budgets = tuple(budgets)
        """The budgets enforced."""
        self.reservation_ttl = reservation_ttl
        """Seconds an abandoned reservation keeps counting."""
        self.commit_timeout = commit_timeout
        """Most seconds ``commit`` waits for the ledger."""

    def applicable(self, attribution: Mapping[str, str], currency: str) -> tuple[Budget, ...]:
        """The budgets a call with this attribution is checked against.

        Raises:
            BudgetCurrencyError: Budgets apply, but none is kept in ``currency``.
        """
        matching = [b for b in self.budgets if attribution.get(SCOPE_KEYS[b.scope]) == b.key]
        same = tuple(b for b in matching if b.currency == currency)
        if matching and not same:
            b = matching[0]
            msg = (
                f"the call is priced in {currency} but the budget for {b.scope} {b.key!r} is "
                f"kept in {b.currency}; currencies are not converted: estimate the call in "
                f"{b.currency} or add a Budget in {currency}"
            )
            raise BudgetCurrencyError(msg)
        return same

    def reserve(
        self, attribution: Mapping[str, str], estimate: Decimal, currency: str = "USD"
    ) -> Reservation:
        """Check the budgets that apply and hold the call's estimated cost.

        Args:
            attribution: The call's attribution (``workspace_id``, ``agent_id``, ...).
            estimate: Its estimated cost (an upper bound keeps spend within the limit).
            currency: The estimate's currency.

        Returns:
            The reservation; commit or release it when the call ends.

        Raises:
            BudgetExceededError: Spent + reserved + estimate would pass a limit.
            BudgetCurrencyError: The budgets that apply are kept in another currency.
            LedgerUnavailableError: The ledger database cannot be reached (fails closed).
        """
        from polyvox.costs.ledger import reservations

        estimate = estimate if isinstance(estimate, Decimal) else Decimal(str(estimate))
        if estimate < 0:
            msg = f"a cost estimate cannot be negative ({estimate})"
            raise ValueError(msg)
        budgets = self.applicable(attribution, currency)
        if not budgets:
            return Reservation(self, None, (), estimate, currency)
        self.ledger._flush_alike(min(self.commit_timeout, RESERVE_FLUSH_TIMEOUT))
        db = self.ledger._database()
        ttl = timedelta(seconds=self.reservation_ttl)
        with db.errors("checking a budget"):
            rid = reservations.reserve(db, budgets, attribution, estimate, currency, ttl)
        return Reservation(self, rid, budgets, estimate, currency)

    async def areserve(
        self, attribution: Mapping[str, str], estimate: Decimal, currency: str = "USD"
    ) -> Reservation:
        """:meth:`reserve` for asyncio (the database work runs in a worker thread)."""
        # The ledger's database layer is synchronous SQLAlchemy (sqlite3, psycopg); the
        # reservation is one short locked transaction, run off the event loop. A native
        # async engine (aiosqlite/asyncpg) would remove the thread hop.
        return await asyncio.to_thread(self.reserve, attribution, estimate, currency)

    def status(self) -> list[BudgetStatus]:
        """Where every budget stands (after writing what the ledger has queued)."""
        from polyvox.costs.ledger import reservations

        self.ledger._flush_alike(self.commit_timeout)
        db = self.ledger._database()
        found = []
        with db.errors("reading budgets"):
            for budget in self.budgets:
                spent, held = reservations.usage(db, budget)
                found.append(BudgetStatus(budget, spent, held))
        return found

    def remaining(
        self, scope: Literal["workspace", "agent"], key: str, currency: str | None = None
    ) -> Decimal:
        """What a workspace or agent can still spend: the least left under its budgets.

        Args:
            scope: ``"workspace"`` or ``"agent"``.
            key: Its id.
            currency: Which budgets, when the key has budgets in several currencies.

        Returns:
            The amount (never below zero).

        Raises:
            ValueError: No budget for that scope and key (in that currency).
        """
        picked = [
            s
            for s in self.status()
            if (s.budget.scope, s.budget.key) == (scope, key)
            and currency in (None, s.budget.currency)
        ]
        if not picked:
            msg = f"no budget for {scope} {key!r}" + (f" in {currency}" if currency else "")
            raise ValueError(msg)
        if len({s.budget.currency for s in picked}) > 1:
            msg = f"{scope} {key!r} has budgets in several currencies; pass currency="
            raise ValueError(msg)
        return min(s.remaining for s in picked)

    def _finish(self, reservation: Reservation, written: bool) -> None:
        from polyvox.costs.ledger import reservations

        assert reservation.id is not None
        db = self.ledger._database()
        try:
            with db.errors("ending a budget reservation"):
                if written:
                    reservations.drop(db, reservation.id)
                else:
                    amount = reservation.actual
                    if amount is not None:
                        reservations.restate(db, reservation.id, amount)
                    logger.warning(
                        "ledger %s: could not confirm the call's record was written; its "
                        "budget reservation keeps counting for %.0f s",
                        self.ledger.url,
                        self.reservation_ttl,
                    )
        except LedgerError as exc:
            logger.warning("budget reservation %s stays until it expires: %s", reservation.id, exc)
