"""What a ledger can be asked: reports, statistics, totals, records and CSV exports.

:class:`LedgerReader` is the reading half of :class:`~polyvox.costs.ledger.Ledger`. Every
read first writes what the ledger has queued (waiting a few seconds at most), so a report
shows the calls just recorded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from polyvox.costs.ledger.records import CallRecord

if TYPE_CHECKING:
    from polyvox.costs.ledger.database import Database
    from polyvox.costs.ledger.reports import Dimension, ReportRow

__all__ = ["LedgerReader"]

READ_FLUSH_TIMEOUT = 5.0
"""Most seconds a read waits for the ledger's queued records to be written first."""


class LedgerReader:
    """Reports, statistics, totals, records and CSV exports of a ledger."""

    def flush(self, timeout: float | None = None) -> bool:
        """Write what is queued (see :meth:`polyvox.costs.ledger.Ledger.flush`)."""
        raise NotImplementedError

    def _database(self) -> Database:
        raise NotImplementedError

    def _reading(self, action: str) -> Database:
        self.flush(timeout=READ_FLUSH_TIMEOUT)
        db = self._database()
        with db.errors(action):
            db.ensure_schema()
        return db

    def report(
        self,
        by: Iterable[Dimension] = ("provider", "model"),
        *,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        where: Mapping[str, Any] | None = None,
        currency: str | None = None,
        rates: Mapping[str, Decimal] | None = None,
    ) -> list[ReportRow]:
        """Usage grouped by any of provider, model, workspace_id, agent_id, day and month.

        Args:
            by: The dimensions to group by (``()`` for one overall row); days and months
                are UTC, as ``YYYY-MM-DD`` and ``YYYY-MM``.
            since: First instant included (UTC when naive).
            until: First instant excluded.
            where: Column filters: ``{"provider": "openai", "agent_id": ["a1", "a2"]}``
                (a list means any of; ``None`` means unset).
            currency: Give each row's ``cost`` in this currency (see ``rates``).
            rates: Units of ``currency`` per unit of each other currency, to convert costs.

        Returns:
            One row per group, sorted by the group (dimensions in the order given).

        Raises:
            ValueError: An unknown dimension or filter, or a cost in a currency with no rate.
            LedgerUnavailableError: The database cannot be reached.
        """
        from polyvox.costs.ledger.reports import build_report

        db = self._reading("reading a report")
        with db.errors("reading a report"):
            return build_report(db, tuple(by), since, until, where, currency, rates)

    def stats(
        self,
        *,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        where: Mapping[str, Any] | None = None,
        currency: str | None = None,
        rates: Mapping[str, Decimal] | None = None,
    ) -> ReportRow:
        """Overall usage: calls, failures, tokens, latency and cost (see :meth:`report`)."""
        return self.report(
            (), since=since, until=until, where=where, currency=currency, rates=rates
        )[0]

    def total_cost(
        self,
        *,
        where: Mapping[str, Any] | None = None,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        currency: str | None = None,
        rates: Mapping[str, Decimal] | None = None,
    ) -> Decimal:
        """The exact total cost of the matching calls (unpriced calls count as nothing).

        Args:
            where: Column filters, as for :meth:`report`.
            since: First instant included.
            until: First instant excluded.
            currency: The currency of the total; costs in others need ``rates``. When
                ``None`` the calls must all be priced in one currency.
            rates: Units of ``currency`` per unit of each other currency.

        Returns:
            The total (``0`` when nothing matches).

        Raises:
            ValueError: Costs in several currencies and no ``currency``, or no rate for one.
        """
        from polyvox.costs.ledger.reports import convert, costs_by_currency

        db = self._reading("totalling costs")
        with db.errors("totalling costs"):
            costs = costs_by_currency(db, since, until, where)
        return convert(costs, currency, rates, strict=True) or Decimal(0)

    def records(
        self,
        *,
        where: Mapping[str, Any] | None = None,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        limit: int | None = None,
    ) -> list[CallRecord]:
        """The matching records, oldest first.

        Args:
            where: Column filters, as for :meth:`report`.
            since: First instant included.
            until: First instant excluded.
            limit: Most records to return.

        Returns:
            The records.
        """
        from polyvox.costs.ledger.reports import iter_records

        db = self._reading("reading records")
        with db.errors("reading records"):
            return list(iter_records(db, since, until, where, limit))

    def export_csv(
        self,
        path_or_file: str | os.PathLike[str] | IO[str],
        *,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> int:
        """Write the matching records to CSV (one column per :class:`CallRecord` field).

        Args:
            path_or_file: A path, or a text file opened with ``newline=""``.
            since: First instant included.
            until: First instant excluded.
            where: Column filters, as for :meth:`report`.

        Returns:
            How many records were written.
        """
        from polyvox.costs.ledger.export import write_csv
        from polyvox.costs.ledger.reports import iter_records

        db = self._reading("exporting records")
        with db.errors("exporting records"):
            return write_csv(iter_records(db, since, until, where, None), path_or_file)
