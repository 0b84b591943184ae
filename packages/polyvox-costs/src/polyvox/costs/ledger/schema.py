"""The ledger's tables, column types and row conversion (SQLAlchemy Core).

Two tables: ``ledger_calls`` (one row per model call) and ``budget_reservations`` (what
calls in flight have reserved against budgets). Times are stored as naive UTC timestamps
on every backend so that day and month grouping means the same everywhere; costs are exact
decimals: ``NUMERIC`` on PostgreSQL, decimal text on SQLite (summed exactly by a SQL
function the ledger registers on each SQLite connection).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.types import TypeDecorator, TypeEngine

from polyvox.costs.ledger.records import CallRecord

__all__ = [
    "CALLS_TABLE",
    "RESERVATIONS_TABLE",
    "ExactDecimal",
    "UTCDateTime",
    "calls",
    "metadata",
    "record_to_row",
    "reservations",
    "row_to_record",
]

CALLS_TABLE = "ledger_calls"
"""The name of the table of call records."""

RESERVATIONS_TABLE = "budget_reservations"
"""The name of the table of budget reservations."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC, read back as an aware UTC ``datetime``."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Aware values become naive UTC; naive values are taken as UTC already."""
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Mark the stored (naive UTC) value as UTC."""
        if value is None:
            return None
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
        assert isinstance(parsed, datetime)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal: ``NUMERIC`` where the database has it, decimal text on SQLite."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Text on SQLite (whose NUMERIC is a float), unconstrained ``NUMERIC`` elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Write the exact digits (plain notation on SQLite)."""
        if value is None:
            return None
        value = value if isinstance(value, Decimal) else Decimal(str(value))
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Read the stored digits back as a ``Decimal``."""
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


metadata = MetaData()
"""Both tables (``schema_translate_map`` puts them in a configured schema)."""

calls = Table(
    CALLS_TABLE,
    metadata,
    Column("id", String(), primary_key=True),
    Column("time", UTCDateTime(), nullable=False),
    Column("run_id", String()),
    Column("parent_run_id", String()),
    Column("provider", String(), nullable=False),
    Column("model", String(), nullable=False),
    Column("workspace_id", String()),
    Column("agent_id", String()),
    Column("execution_id", String()),
    Column("attributes", JSON(), nullable=False),
    Column("input_tokens", Integer(), nullable=False),
    Column("cache_read_tokens", Integer(), nullable=False),
    Column("cache_write_tokens", Integer(), nullable=False),
    Column("output_tokens", Integer(), nullable=False),
    Column("reasoning_tokens", Integer(), nullable=False),
    Column("cost", ExactDecimal()),
    Column("currency", String()),
    Column("provider_cost", ExactDecimal()),
    Column("provider_currency", String()),
    Column("latency_ms", Float()),
    Column("cache_hit", Boolean(), nullable=False),
    Column("outcome", String(), nullable=False),
    Column("error_type", String()),
    Index("ix_ledger_calls_time", "time"),
    Index("ix_ledger_calls_workspace_time", "workspace_id", "time"),
    Index("ix_ledger_calls_agent_time", "agent_id", "time"),
)
"""One row per model call (columns added after the first release are nullable, so that
:meth:`~polyvox.costs.ledger.database.Database.ensure_schema` can add them to older ledgers)."""

reservations = Table(
    RESERVATIONS_TABLE,
    metadata,
    Column("id", String(), primary_key=True),
    Column("workspace_id", String()),
    Column("agent_id", String()),
    Column("currency", String(), nullable=False),
    Column("amount", ExactDecimal(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_budget_reservations_workspace", "workspace_id"),
    Index("ix_budget_reservations_agent", "agent_id"),
    Index("ix_budget_reservations_expires", "expires_at"),
)
"""One row per call in flight that holds a budget reservation."""


def record_to_row(record: CallRecord) -> dict[str, Any]:
    """The ``ledger_calls`` row of a record."""
    return {
        "id": record.id,
        "time": record.time,
        "run_id": record.run_id,
        "parent_run_id": record.parent_run_id,
        "provider": record.provider,
        "model": record.model,
        "workspace_id": record.workspace_id,
        "agent_id": record.agent_id,
        "execution_id": record.execution_id,
        "attributes": dict(record.attributes),
        "input_tokens": record.input_tokens,
        "cache_read_tokens": record.cache_read_tokens,
        "cache_write_tokens": record.cache_write_tokens,
        "output_tokens": record.output_tokens,
        "reasoning_tokens": record.reasoning_tokens,
        "cost": record.cost,
        "currency": record.currency,
        "provider_cost": record.provider_cost,
        "provider_currency": record.provider_currency,
        "latency_ms": record.latency_ms,
        "cache_hit": record.cache_hit,
        "outcome": record.outcome,
        "error_type": record.error_type,
    }


def row_to_record(row: Mapping[str, Any] | RowMapping) -> CallRecord:
    """The record a ``ledger_calls`` row holds."""
    return CallRecord(**{name: row[name] for name in calls.c.keys()})  # noqa: SIM118
