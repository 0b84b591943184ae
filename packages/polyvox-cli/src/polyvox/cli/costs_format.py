"""The ``polyvox costs report`` table: aligned columns, exact amounts, a totals row."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polyvox.costs.ledger import ReportRow
from polyvox.cli.costs_query import _HEADERS, DEFAULT_BY

_COLOURS = (0, 1, 2, 3, 4, 5, 6, 8, 9)


def format_amount(amount: Decimal) -> str:
    """An exact amount in plain notation without trailing zeros (``0.00125``, ``12``)."""
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _costs_text(costs: Mapping[str, Decimal]) -> str:
    return " + ".join(f"{format_amount(costs[c])} {c or '?'}" for c in sorted(costs))


def _latency(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if value < 10 else f"{value:,.0f}"


def _report_currency(
    rows: Sequence[ReportRow], total: ReportRow, currency: str | None
) -> str | None:
    """The one currency every cost cell is in, if there is one."""
    if currency is not None:
        return currency
    found = set(total.costs)
    for row in rows:
        found |= set(row.costs)
    return next(iter(found)) if len(found) == 1 and "" not in found else None


def _cost_cell(row: ReportRow, currency: str | None, converted: bool) -> str:
    if converted:
        return format_amount(row.cost) if row.cost is not None and row.costs else "-"
    if not row.costs:
        return "-"  # nothing priced: unknown, not zero
    if currency is not None and set(row.costs) == {currency}:
        return format_amount(row.costs[currency])
    return _costs_text(row.costs)


_NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?$")


def _align_decimals(cells: list[str]) -> list[str]:
    """Pad plain numbers on the right so that their decimal points line up."""
    numbers = [c for c in cells if _NUMBER.match(c)]
    width = max((len(c.partition(".")[2]) + (1 if "." in c else 0) for c in numbers), default=0)
    aligned = []
    for cell in cells:
        if _NUMBER.match(cell):
            frac = len(cell.partition(".")[2]) + (1 if "." in cell else 0)
            cell += " " * (width - frac)
        aligned.append(cell)
    return aligned


def format_report(
    rows: Sequence[ReportRow],
    total: ReportRow,
    by: Sequence[str] = DEFAULT_BY,
    *,
    currency: str | None = None,
    rates: Mapping[str, Decimal] | None = None,
    heading: str | None = None,
) -> str:
    """A ledger report as an aligned text table with a totals row and notes.

    Costs are shown exactly (no rounding). A cell with no priced call shows ``-`` (unknown,
    not zero); the ``unpriced`` column counts the calls left out of the costs.

    Args:
        rows: ``Ledger.report(by, ...)``.
        total: ``Ledger.stats(...)`` with the same filters and currency.
        by: The dimensions the rows are grouped by.
        currency: The currency the report converted costs into (``None``: as recorded).
        rates: The rates used to convert (named in a note).
        heading: A first line (the ledger and filters).

    Returns:
        The table, ending with a line break.
    """
    shown = _report_currency(rows, total, currency)
    converted = currency is not None
    header = [_HEADERS.get(name, name) for name in by]
    header += ["calls", "failures", "tokens in", "tokens out", "cache reads"]
    header += ["mean ms", "p95 ms", f"cost ({shown})" if shown else "cost", "unpriced"]
    table: list[list[str]] = []
    for row in [*rows, total]:
        if row is total:
            labels = ["total", *([""] * (len(by) - 1))] if by else []
        else:
            labels = [str(getattr(row, name) or "(none)") for name in by]
        table.append(
            [
                *labels,
                f"{row.calls:,}",
                f"{row.failures:,}",
                f"{row.input_tokens:,}",
                f"{row.output_tokens:,}",
                f"{row.cache_read_tokens:,}",
                _latency(row.mean_latency_ms),
                _latency(row.p95_latency_ms),
                _cost_cell(row, shown, converted),
                f"{row.unpriced_calls:,}",
            ]
        )
    cost_col = len(by) + 7
    costs = _align_decimals([line[cost_col] for line in table])
    for line, cell in zip(table, costs, strict=True):
        line[cost_col] = cell
    widths = [max(len(h), *(len(line[i]) for line in table)) for i, h in enumerate(header)]
    left = len(by)

    def render(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    lines = [heading] if heading else []
    lines += [render(header), rule]
    lines += [render(line) for line in table[:-1]]
    lines += [rule, render(table[-1])]
    notes = []
    if total.unpriced_calls:
        notes.append(
            f"{total.unpriced_calls:,} of {total.calls:,} calls have no known price and are "
            "not in the costs (unpriced is not free: price them in the model catalog)."
        )
    others = sorted(c for c in total.costs if c != currency)
    if converted and others:
        used = ", ".join(
            f"{c}={format_amount((rates or {})[c])}" for c in others if c in (rates or {})
        )
        notes.append(f"Costs in {', '.join(others)} converted into {currency} at {used}.")
    elif not shown and len(total.costs) > 1:
        notes.append(
            "The calls are priced in several currencies; add --currency USD --rates "
            "RUB=<USD per RUB> (or set POLYVOX_FX_RATES) for one total."
        )
    lines += ["", *notes] if notes else []
    return "\n".join(lines) + "\n"


# ---- the plot ------------------------------------------------------------------------------
