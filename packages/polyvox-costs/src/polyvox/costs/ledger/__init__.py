r"""The ledger: every model call recorded in SQLite or PostgreSQL, reported, and budgeted.

``Ledger()`` writes to ``$POLYVOX_LEDGER_URL`` or, by default, to a SQLite file in the
user's data folder (``~/.local/share/polyvox/ledger.sqlite3`` on Linux and macOS,
``%LOCALAPPDATA%\\polyvox\\ledger.sqlite3`` on Windows; see
:mod:`polyvox.costs.ledger.location`). Recording is a non-blocking enqueue; a background
thread writes batches, retries through outages and spills to a JSON-lines file rather than
lose a record. ``report``, ``stats``, ``total_cost``, ``records`` and ``export_csv`` read it
back; :class:`BudgetGuard` enforces :class:`Budget` limits across processes.

Needs the ``ledger`` extra (SQLAlchemy, psycopg). Names load lazily: importing this package
does not import SQLAlchemy; creating a ``Ledger`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.costs.ledger.budgets import Budget, BudgetGuard, BudgetStatus, Reservation
    from polyvox.costs.ledger.errors import (
        BudgetCurrencyError,
        BudgetExceededError,
        LedgerError,
        LedgerUnavailableError,
        LedgerURLError,
    )
    from polyvox.costs.ledger.export import read_csv
    from polyvox.costs.ledger.location import default_url
    from polyvox.costs.ledger.records import CallRecord, new_record_id
    from polyvox.costs.ledger.reports import ReportRow
    from polyvox.costs.ledger.store import Ledger, LedgerHealth

_EXPORTS = {
    "Budget": "polyvox.costs.ledger.budgets",
    "BudgetCurrencyError": "polyvox.costs.ledger.errors",
    "BudgetExceededError": "polyvox.costs.ledger.errors",
    "BudgetGuard": "polyvox.costs.ledger.budgets",
    "BudgetStatus": "polyvox.costs.ledger.budgets",
    "CallRecord": "polyvox.costs.ledger.records",
    "Ledger": "polyvox.costs.ledger.store",
    "LedgerError": "polyvox.costs.ledger.errors",
    "LedgerHealth": "polyvox.costs.ledger.store",
    "LedgerURLError": "polyvox.costs.ledger.errors",
    "LedgerUnavailableError": "polyvox.costs.ledger.errors",
    "ReportRow": "polyvox.costs.ledger.reports",
    "Reservation": "polyvox.costs.ledger.budgets",
    "default_url": "polyvox.costs.ledger.location",
    "new_record_id": "polyvox.costs.ledger.records",
    "read_csv": "polyvox.costs.ledger.export",
}

__all__ = [
    "Budget",
    "BudgetCurrencyError",
    "BudgetExceededError",
    "BudgetGuard",
    "BudgetStatus",
    "CallRecord",
    "Ledger",
    "LedgerError",
    "LedgerHealth",
    "LedgerURLError",
    "LedgerUnavailableError",
    "ReportRow",
    "Reservation",
    "default_url",
    "new_record_id",
    "read_csv",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
