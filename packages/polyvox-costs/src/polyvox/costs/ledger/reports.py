"""Reports over the ledger, on SQLite and PostgreSQL alike.

Usage and cost grouped by provider, model, workspace, agent, day and month.

Counts, token sums, mean and 95th-percentile latency (``percentile_cont``; a registered
aggregate on SQLite) are computed in SQL. Costs are summed exactly per currency in a second
query and then, when asked, converted into one currency with caller-given rates; a cost
in a currency with no rate is an error, never silently dropped. Unpriced calls are counted
apart. What providers themselves reported the calls cost (``provider_cost``) is summed per
currency the same way, beside the catalog's cost.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, get_args

from sqlalchemy import Select, case, func, select
from sqlalchemy.sql import ColumnElement

from polyvox.costs.ledger.records import CallRecord
from polyvox.costs.ledger.schema import calls, row_to_record

if TYPE_CHECKING:
    from polyvox.costs.ledger.database import Database

__all__ = [
    "DIMENSIONS",
    "FILTERS",
    "Dimension",
    "ReportRow",
    "build_report",
    "convert",
    "costs_by_currency",
    "iter_records",
]

Dimension = Literal["provider", "model", "workspace_id", "agent_id", "day", "month"]
"""What a report can group by."""

DIMENSIONS: tuple[str, ...] = get_args(Dimension)
"""Every dimension."""

FILTERS = (
    "provider",
    "model",
    "workspace_id",
    "agent_id",
    "execution_id",
    "run_id",
    "parent_run_id",
    "outcome",
    "currency",
    "error_type",
)
"""The columns ``where`` may filter on."""


@dataclass(frozen=True, kw_only=True)
class ReportRow:
    """Usage and cost of one group of calls (fields of dimensions not grouped by are None)."""

    provider: str | None = None
    """The provider, when grouped by provider."""
    model: str | None = None
    """The model, when grouped by model."""
    workspace_id: str | None = None
    """The workspace, when grouped by workspace."""
    agent_id: str | None = None
    """The agent, when grouped by agent."""
    day: str | None = None
    """The UTC day (``YYYY-MM-DD``), when grouped by day."""
    month: str | None = None
    """The UTC month (``YYYY-MM``), when grouped by month."""
    calls: int = 0
    """Calls made."""
    failures: int = 0
    """Calls that failed."""
    input_tokens: int = 0
    """Prompt tokens."""
    output_tokens: int = 0
    """Completion tokens."""
    total_tokens: int = 0
    """Prompt plus completion tokens."""
    cache_read_tokens: int = 0
    """Prompt tokens read from a prompt cache."""
    cache_write_tokens: int = 0
    """Prompt tokens written to a prompt cache."""
    reasoning_tokens: int = 0
    """Completion tokens spent on reasoning."""
    mean_latency_ms: float | None = None
    """Mean latency of the calls that have one."""
    p95_latency_ms: float | None = None
    """95th-percentile latency (interpolated, as PostgreSQL's ``percentile_cont``)."""
    costs: Mapping[str, Decimal] = field(default_factory=dict, hash=False)
    """Exact cost per currency, as recorded."""
    cost: Decimal | None = None
    """The cost in ``currency``: converted when the report asked for a currency, else the
    one currency's total (``None`` when the calls were priced in several or none)."""
    currency: str | None = None
    """The currency of ``cost``."""
    unpriced_calls: int = 0
    """Calls with no known price (not in ``cost``)."""
    provider_costs: Mapping[str, Decimal] = field(default_factory=dict, hash=False)
    """Exact cost per currency as the providers reported it (OpenRouter's ``usage.cost``), for
    the calls whose provider reported one; compare with ``costs``."""
    provider_cost: Decimal | None = None
    """``provider_costs`` in one currency: converted into the report's ``currency`` when it
    asked for one (``None`` when a rate is missing), else the one currency's total."""
    provider_currency: str | None = None
    """The currency of ``provider_cost``."""
    provider_cost_calls: int = 0
    """Calls whose provider reported a cost (those in ``provider_costs``)."""


def _utc(value: datetime | date) -> datetime:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def conditions(
    since: datetime | date | None, until: datetime | date | None, where: Mapping[str, Any] | None
) -> list[ColumnElement[bool]]:
    """The SQL conditions of a time range and column filters.

    Raises:
        ValueError: A filter on an unknown column.
    """
    found: list[ColumnElement[bool]] = []
    if since is not None:
        found.append(calls.c.time >= _utc(since))
    if until is not None:
        found.append(calls.c.time < _utc(until))
    for key, value in (where or {}).items():
        if key not in FILTERS:
            msg = f"cannot filter the ledger on {key!r}; use one of {', '.join(FILTERS)}"
            raise ValueError(msg)
        column = calls.c[key]
        if value is None:
            found.append(column.is_(None))
        elif isinstance(value, str):
            found.append(column == value)
        else:
            found.append(column.in_(list(value)))
    return found


def _dimension(db: Database, name: str) -> ColumnElement[Any]:
    if name == "day":
        return db.day(calls.c.time).label("day")
    if name == "month":
        return db.month(calls.c.time).label("month")
    return calls.c[name].label(name)


def _dimensions(by: Sequence[str]) -> list[str]:
    unknown = [b for b in by if b not in DIMENSIONS]
    if unknown:
        msg = f"cannot group a report by {unknown}; use any of {', '.join(DIMENSIONS)}"
        raise ValueError(msg)
    return list(dict.fromkeys(by))


def convert(
    costs: Mapping[str, Decimal],
    currency: str | None,
    rates: Mapping[str, Decimal] | None,
    *,
    strict: bool = False,
) -> Decimal | None:
    """One total from costs per currency.

    Args:
        costs: Cost per currency.
        currency: The target currency; ``None`` keeps the only currency there is.
        rates: Units of ``currency`` per unit of each other currency.
        strict: Raise (rather than return ``None``) for several currencies and no target.

    Returns:
        The total, or ``None`` with no costs (or several currencies, when not strict).

    Raises:
        ValueError: A cost in a currency with no rate (or several and no target, if strict).
    """
    if currency is None:
        if len(costs) == 1:
            return next(iter(costs.values()))
        if len(costs) > 1 and strict:
            msg = (
                f"the calls are priced in several currencies ({', '.join(sorted(costs))}); "
                "pass currency= (and rates= to convert), or filter with where={'currency': ...}"
            )
            raise ValueError(msg)
        return None
    total = Decimal(0)
    for code, amount in costs.items():
        if code == currency:
            total += amount
        elif rates is not None and code in rates:
            total += amount * Decimal(rates[code])
        else:
            msg = (
                f"some calls are priced in {code or 'an unknown currency'}; pass "
                f"rates={{{code!r}: <{currency} per {code}>}} to convert them into {currency}, "
                "or filter with where={'currency': ...}"
            )
            raise ValueError(msg)
    return total


def _cost_query(
    db: Database, dims: list[ColumnElement[Any]], conds: list[ColumnElement[bool]]
) -> Select[Any]:
    c = calls.c
    return (
        select(*dims, c.currency, db.dsum(c.cost).label("cost"))
        .where(*conds, c.cost.is_not(None))
        .group_by(*dims, c.currency)
    )


def _provider_cost_query(
    db: Database, dims: list[ColumnElement[Any]], conds: list[ColumnElement[bool]]
) -> Select[Any]:
    c = calls.c
    return (
        select(*dims, c.provider_currency, db.dsum(c.provider_cost).label("cost"))
        .where(*conds, c.provider_cost.is_not(None))
        .group_by(*dims, c.provider_currency)
    )


def _by_group(
    rows: Sequence[Any], names: Sequence[str], currency: str
) -> dict[tuple[Any, ...], dict[str, Decimal]]:
    """Costs per currency (the ``currency`` column) of each group's key."""
    found: dict[tuple[Any, ...], dict[str, Decimal]] = {}
    for row in rows:
        key = tuple(getattr(row, n) for n in names)
        found.setdefault(key, {})[getattr(row, currency) or ""] = row.cost
    return found


def _provider_total(
    costs: Mapping[str, Decimal], currency: str | None, rates: Mapping[str, Decimal] | None
) -> tuple[Decimal | None, str | None]:
    """``provider_cost`` and ``provider_currency`` of a row (never raises for a rate)."""
    if currency is None:
        total = convert(costs, None, None)
        return total, (next(iter(costs)) if total is not None else None)
    if not costs:
        return None, None
    try:
        return convert(costs, currency, rates), currency
    except ValueError:
        return None, None


def costs_by_currency(
    db: Database,
    since: datetime | date | None,
    until: datetime | date | None,
    where: Mapping[str, Any] | None,
) -> dict[str, Decimal]:
    """The exact total cost per currency of the matching calls."""
    with db.begin() as conn:
        rows = conn.execute(_cost_query(db, [], conditions(since, until, where))).all()
    return {row.currency or "": row.cost for row in rows if row.cost is not None}


def build_report(
    db: Database,
    by: Sequence[str],
    since: datetime | date | None,
    until: datetime | date | None,
    where: Mapping[str, Any] | None,
    currency: str | None,
    rates: Mapping[str, Decimal] | None,
) -> list[ReportRow]:
    """Usage grouped by ``by`` (see :meth:`polyvox.costs.ledger.Ledger.report`)."""
    names = _dimensions(by)
    conds = conditions(since, until, where)
    dims = [_dimension(db, n) for n in names]
    c = calls.c

    def total(column: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(column), 0)

    usage = (
        select(
            *dims,
            func.count().label("calls"),
            total(case((c.outcome == "error", 1), else_=0)).label("failures"),
            total(c.input_tokens).label("input_tokens"),
            total(c.output_tokens).label("output_tokens"),
            total(c.cache_read_tokens).label("cache_read_tokens"),
            total(c.cache_write_tokens).label("cache_write_tokens"),
            total(c.reasoning_tokens).label("reasoning_tokens"),
            func.avg(c.latency_ms).label("mean_latency_ms"),
            db.p95(c.latency_ms).label("p95_latency_ms"),
            total(case((c.cost.is_(None), 1), else_=0)).label("unpriced_calls"),
            func.count(c.provider_cost).label("provider_cost_calls"),
        )
        .where(*conds)
        .group_by(*dims)
    )
    with db.begin() as conn:
        usage_rows = conn.execute(usage).all()
        costs = _by_group(conn.execute(_cost_query(db, dims, conds)).all(), names, "currency")
        reported = _by_group(
            conn.execute(_provider_cost_query(db, dims, conds)).all(), names, "provider_currency"
        )
    report = []
    for row in usage_rows:
        if not row.calls and names:
            continue
        key = tuple(getattr(row, n) for n in names)
        row_costs = costs.get(key, {})
        cost = convert(row_costs, currency, rates)
        only = next(iter(row_costs)) if len(row_costs) == 1 else None
        row_reported = reported.get(key, {})
        provider_cost, provider_currency = _provider_total(row_reported, currency, rates)
        report.append(
            ReportRow(
                **dict(zip(names, key, strict=True)),
                calls=int(row.calls),
                failures=int(row.failures),
                input_tokens=int(row.input_tokens),
                output_tokens=int(row.output_tokens),
                total_tokens=int(row.input_tokens) + int(row.output_tokens),
                cache_read_tokens=int(row.cache_read_tokens),
                cache_write_tokens=int(row.cache_write_tokens),
                reasoning_tokens=int(row.reasoning_tokens),
                mean_latency_ms=None if row.mean_latency_ms is None else float(row.mean_latency_ms),
                p95_latency_ms=None if row.p95_latency_ms is None else float(row.p95_latency_ms),
                costs=row_costs,
                cost=cost,
                currency=currency if currency is not None else (only if cost is not None else None),
                unpriced_calls=int(row.unpriced_calls),
                provider_costs=row_reported,
                provider_cost=provider_cost,
                provider_currency=provider_currency,
                provider_cost_calls=int(row.provider_cost_calls),
            )
        )
    report.sort(
        key=lambda r: tuple((getattr(r, n) is not None, getattr(r, n) or "") for n in names)
    )
    return report


def iter_records(
    db: Database,
    since: datetime | date | None,
    until: datetime | date | None,
    where: Mapping[str, Any] | None,
    limit: int | None,
) -> Iterator[CallRecord]:
    """Stream the matching records, oldest first."""
    query = select(calls).where(*conditions(since, until, where)).order_by(calls.c.time, calls.c.id)
    if limit is not None:
        query = query.limit(limit)
    with db.begin() as conn:
        result = conn.execution_options(yield_per=1000).execute(query)
        for row in result.mappings():
            yield row_to_record(row)
