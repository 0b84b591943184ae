r"""The ledger: every model call recorded in SQLite or PostgreSQL, reported, and budgeted.

``Ledger()`` writes to ``$POLYVOX_LEDGER_URL`` or, by default, to a SQLite file in the
user's data folder (``~/.local/share/polyvox/ledger.sqlite3`` on Linux and macOS,
``%LOCALAPPDATA%\\polyvox\\ledger.sqlite3`` on Windows; see
:mod:`polyvox.core.ledger.location`). Recording is a non-blocking enqueue; a background
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
    from polyvox.core.ledger.budgets import Budget, BudgetGuard, BudgetStatus, Reservation
    from polyvox.core.ledger.errors import (
        BudgetCurrencyError,
        BudgetExceededError,
        LedgerError,
        LedgerUnavailableError,
        LedgerURLError,
    )
    from polyvox.core.ledger.export import read_csv
    from polyvox.core.ledger.location import default_url
    from polyvox.core.ledger.records import CallRecord, new_record_id
    from polyvox.core.ledger.reports import ReportRow
    from polyvox.core.ledger.store import Ledger, LedgerHealth

_EXPORTS = {
    "Budget": "polyvox.core.ledger.budgets",
    "BudgetCurrencyError": "polyvox.core.ledger.errors",
    "BudgetExceededError": "polyvox.core.ledger.errors",
    "BudgetGuard": "polyvox.core.ledger.budgets",
    "BudgetStatus": "polyvox.core.ledger.budgets",
    "CallRecord": "polyvox.core.ledger.records",
    "Ledger": "polyvox.core.ledger.store",
    "LedgerError": "polyvox.core.ledger.errors",
    "LedgerHealth": "polyvox.core.ledger.store",
    "LedgerURLError": "polyvox.core.ledger.errors",
    "LedgerUnavailableError": "polyvox.core.ledger.errors",
    "ReportRow": "polyvox.core.ledger.reports",
    "Reservation": "polyvox.core.ledger.budgets",
    "default_url": "polyvox.core.ledger.location",
    "new_record_id": "polyvox.core.ledger.records",
    "read_csv": "polyvox.core.ledger.export",
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
