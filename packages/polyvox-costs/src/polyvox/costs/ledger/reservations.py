"""The database side of budgets: spend, reservations and the atomic check-and-reserve.

A reservation is checked and inserted in one transaction that holds a lock per budget
(PostgreSQL: ``pg_advisory_xact_lock`` on each budget's key, taken in a fixed order; SQLite:
``BEGIN IMMEDIATE``, which holds the database's write lock), so checks of one budget run one
at a time across every thread and process that shares the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, select, update

from polyvox.costs.ledger.errors import BudgetExceededError
from polyvox.costs.ledger.records import new_record_id
from polyvox.costs.ledger.schema import calls, reservations

if TYPE_CHECKING:
    from polyvox.costs.ledger.database import Database
    from polyvox.costs.ledger.limits import Budget

__all__ = ["drop", "period_start", "reserve", "restate", "usage"]

SCOPE_COLUMNS = {"workspace": "workspace_id", "agent": "agent_id"}
"""The ledger column each budget scope is keyed on."""


def period_start(period: str, now: datetime) -> datetime | None:
    """The first instant of the budget period containing ``now`` (UTC; ``None``: total)."""
    now = now.astimezone(UTC)
    if period == "day":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return None


def _spent(conn: Connection, db: Database, budget: Budget, now: datetime) -> Decimal:
    column = calls.c[SCOPE_COLUMNS[budget.scope]]
    query = select(db.dsum(calls.c.cost)).where(
        column == budget.key, calls.c.currency == budget.currency, calls.c.cost.is_not(None)
    )
    start = period_start(budget.period, now)
    if start is not None:
        query = query.where(calls.c.time >= start)
    return conn.execute(query).scalar() or Decimal(0)


def _held(conn: Connection, db: Database, budget: Budget, now: datetime) -> Decimal:
    column = reservations.c[SCOPE_COLUMNS[budget.scope]]
    query = select(db.dsum(reservations.c.amount)).where(
        column == budget.key,
        reservations.c.currency == budget.currency,
        reservations.c.expires_at > now,
    )
    return conn.execute(query).scalar() or Decimal(0)


def usage(db: Database, budget: Budget) -> tuple[Decimal, Decimal]:
    """What a budget's scope has spent this period, and what calls in flight hold.

    Returns:
        ``(spent, reserved)``.
    """
    now = datetime.now(UTC)
    db.ensure_schema()
    with db.begin() as conn:
        return _spent(conn, db, budget, now), _held(conn, db, budget, now)


def reserve(
    db: Database,
    budgets: Sequence[Budget],
    attribution: Mapping[str, str],
    estimate: Decimal,
    currency: str,
    ttl: timedelta,
) -> str:
    """Check every budget and, if the estimate fits them all, hold it (atomically).

    Args:
        db: The ledger database.
        budgets: The budgets that apply (same currency as ``currency``).
        attribution: The call's ``workspace_id`` / ``agent_id``.
        estimate: The call's estimated cost.
        currency: Its currency.
        ttl: How long the reservation counts if never committed or released.

    Returns:
        The reservation's id.

    Raises:
        BudgetExceededError: ``spent + reserved + estimate > limit`` for some budget.
    """
    now = datetime.now(UTC)
    db.ensure_schema()
    with db.begin(write=True) as conn:
        db.lock_budgets(conn, [f"{b.scope}:{b.key}" for b in budgets])
        conn.execute(delete(reservations).where(reservations.c.expires_at <= now))
        for budget in budgets:
            spent, held = _spent(conn, db, budget, now), _held(conn, db, budget, now)
            if spent + held + estimate > budget.limit:
                raise BudgetExceededError(budget, spent=spent, reserved=held, estimate=estimate)
        reservation_id = new_record_id()
        conn.execute(
            reservations.insert().values(
                id=reservation_id,
                workspace_id=attribution.get("workspace_id"),
                agent_id=attribution.get("agent_id"),
                currency=currency,
                amount=estimate,
                created_at=now,
                expires_at=now + ttl,
            )
        )
    return reservation_id


def drop(db: Database, reservation_id: str) -> None:
    """Delete a reservation (its call's cost is in the ledger now, or there is none)."""
    with db.begin(write=True) as conn:
        conn.execute(delete(reservations).where(reservations.c.id == reservation_id))


def restate(db: Database, reservation_id: str, amount: Decimal) -> None:
    """Keep a reservation, holding ``amount`` (the call's actual cost) until it expires."""
    with db.begin(write=True) as conn:
        conn.execute(
            update(reservations).where(reservations.c.id == reservation_id).values(amount=amount)
        )
