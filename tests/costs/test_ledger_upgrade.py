"""A ledger made by an earlier polyvox keeps working: opening it adds the columns it lacks.

The table below is ``ledger_calls`` as polyvox 0.1.0 created it, before ``provider_cost``
and ``provider_currency``; the tests make it, write a row the old way, then use the ledger
with the current code, on SQLite and on the real PostgreSQL, and with many openers at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

from polyvox.costs.ledger.database import Database
from polyvox.costs.ledger.schema import CALLS_TABLE, ExactDecimal, UTCDateTime
from tests.costs.test_ledger_support import BACKENDS, T0, Target, rec, target

ADDED = ("provider_cost", "provider_currency")


def _old_table(metadata: MetaData) -> Table:
    """``ledger_calls`` as the first release defined it."""
    return Table(
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
        Column("latency_ms", Float()),
        Column("cache_hit", Boolean(), nullable=False),
        Column("outcome", String(), nullable=False),
        Column("error_type", String()),
        Index("ix_ledger_calls_time", "time"),
        Index("ix_ledger_calls_workspace_time", "workspace_id", "time"),
        Index("ix_ledger_calls_agent_time", "agent_id", "time"),
    )


OLD_ROW: dict[str, Any] = {
    "id": "old-row",
    "time": T0,
    "run_id": None,
    "parent_run_id": None,
    "provider": "openai",
    "model": "gpt-old",
    "workspace_id": "w1",
    "agent_id": None,
    "execution_id": None,
    "attributes": {"team": "red"},
    "input_tokens": 100,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "output_tokens": 10,
    "reasoning_tokens": 0,
    "cost": Decimal("0.00123"),
    "currency": "USD",
    "latency_ms": 12.5,
    "cache_hit": False,
    "outcome": "ok",
    "error_type": None,
}


def _engine(where: Target) -> sqlalchemy.Engine:
    engine = sqlalchemy.create_engine(where.url)
    if where.schema:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.schema.CreateSchema(where.schema, if_not_exists=True))
        return engine.execution_options(schema_translate_map={None: where.schema})
    return engine


def _columns(where: Target) -> list[str]:
    engine = sqlalchemy.create_engine(where.url)
    try:
        with engine.connect() as conn:
            found = sqlalchemy.inspect(conn).get_columns(CALLS_TABLE, schema=where.schema)
    finally:
        engine.dispose()
    return [c["name"] for c in found]


@pytest.fixture(params=BACKENDS)
def old_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """A ledger with the old table and one row written the old way."""
    with target(request.param, tmp_path) as where:
        engine = _engine(where)
        try:
            metadata = MetaData()
            table = _old_table(metadata)
            with engine.begin() as conn:
                metadata.create_all(conn)
                conn.execute(table.insert(), [OLD_ROW])
        finally:
            engine.dispose()
        assert not set(ADDED) & set(_columns(where))
        yield where


def test_an_old_ledger_gains_the_new_columns(old_ledger: Target) -> None:
    ledger = old_ledger.ledger()
    try:
        [old] = ledger.records()  # a read opens it: the columns are added first
        assert (old.id, old.model, old.cost, old.attributes) == (
            "old-row", "gpt-old", Decimal("0.00123"), {"team": "red"},
        )  # fmt: skip
        assert (old.provider_cost, old.provider_currency) == (None, None)
        assert _columns(old_ledger)[-2:] == list(ADDED)
        new = rec(
            time=T0 + timedelta(minutes=1),
            model="gpt-new",
            provider_cost=Decimal("0.000924"),
            provider_currency="USD",
        )
        ledger.record(new)
        assert ledger.flush(timeout=30)
        assert ledger.records() == [old, new]
        row = ledger.stats()
        assert (row.calls, row.provider_costs, row.provider_cost_calls) == (
            2, {"USD": Decimal("0.000924")}, 1,
        )  # fmt: skip
        assert row.cost == Decimal("0.00123") + new.cost  # type: ignore[operator]
        assert ledger.health().ok
    finally:
        ledger.close()
    again = old_ledger.ledger()  # opening an upgraded ledger changes nothing
    try:
        assert len(again.records()) == 2
        assert _columns(old_ledger).count("provider_cost") == 1
    finally:
        again.close()


def test_writing_first_upgrades_too(old_ledger: Target) -> None:
    ledger = old_ledger.ledger()
    try:
        ledger.record(rec(provider_cost=Decimal("1.5"), provider_currency="EUR"))
        assert ledger.flush(timeout=30)
        assert ledger.health().spilled == 0
        costs = sorted(str(r.provider_cost) for r in ledger.records())
        assert costs == ["1.5", "None"]
    finally:
        ledger.close()


def test_many_openers_at_once(old_ledger: Target) -> None:
    databases = [
        Database(old_ledger.url, schema=old_ledger.schema, connect_timeout=10) for _ in range(8)
    ]
    start = threading.Barrier(len(databases))
    failures: list[BaseException] = []

    def open_it(db: Database) -> None:
        try:
            start.wait(timeout=30)
            db.ensure_schema()
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=open_it, args=(db,)) for db in databases]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for db in databases:
            db.dispose()
    assert not failures, failures
    columns = _columns(old_ledger)
    assert [columns.count(name) for name in ADDED] == [1, 1]


def test_a_column_added_by_someone_else_meanwhile_is_tolerated(
    old_ledger: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    from polyvox.costs.ledger import database

    first = Database(old_ledger.url, schema=old_ledger.schema)
    try:
        first.ensure_schema()
    finally:
        first.dispose()
    real_inspect = sqlalchemy.inspect

    class Stale:
        """Sees the table as it was before another writer added the columns."""

        def __init__(self, conn: Any) -> None:
            self._inspector = real_inspect(conn)

        def get_columns(self, *args: Any, **kwargs: Any) -> list[Any]:
            found = self._inspector.get_columns(*args, **kwargs)
            return [c for c in found if c["name"] not in ADDED]

    monkeypatch.setattr(database, "inspect", Stale)
    ledger = old_ledger.ledger()
    try:
        ledger.record(rec(provider_cost=Decimal("2"), provider_currency="USD"))
        assert ledger.flush(timeout=30)
        assert len(ledger.records()) == 2
    finally:
        ledger.close()
    assert [_columns(old_ledger).count(name) for name in ADDED] == [1, 1]
