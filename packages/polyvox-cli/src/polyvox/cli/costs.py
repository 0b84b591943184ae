"""``polyvox costs``: report, plot and export what the cost ledger recorded.

``polyvox costs report`` prints usage and cost grouped by provider, model, workspace, agent,
day or month as an aligned table with a totals row; ``polyvox costs plot`` draws the daily
cost per model as stacked bars (matplotlib, ``Agg`` backend, imported only for this);
``polyvox costs export`` writes the records to CSV. All three read the ledger named by
``--ledger`` (default: ``$POLYVOX_LEDGER_URL``, else the SQLite file in polyvox's data
folder) and take the same filters: ``--since``/``--until`` (UTC days, months or ISO times)
and ``--where column=value``.

:func:`format_report` and :func:`plot_daily_costs` are the building blocks, usable from
Python (a notebook) with any :class:`~polyvox.core.ledger.Ledger`.

Every problem the user can fix (an unreachable ledger, a malformed filter or rate, an empty
ledger for a plot) is a :class:`CostsError`: the command prints it and exits with status 1.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

if TYPE_CHECKING:
    from polyvox.core.ledger import Ledger, ReportRow
    from polyvox.core.ledger.reports import Dimension

__all__ = [
    "CostsError",
    "Query",
    "add_costs_parser",
    "format_amount",
    "format_report",
    "parse_by",
    "parse_rates",
    "parse_time",
    "parse_where",
    "plot_daily_costs",
    "run_costs",
]

DIMENSIONS = ("provider", "model", "workspace_id", "agent_id", "day", "month")
"""What ``--by`` accepts (the ledger's report dimensions)."""

DEFAULT_BY = ("provider", "model")
"""The grouping of ``polyvox costs report`` without ``--by``."""

_COLOURS = (0, 1, 2, 3, 4, 5, 6, 8, 9)
"""The tab10 colours models get (its grey, 7, is kept for "other")."""

_HEADERS = {"workspace_id": "workspace", "agent_id": "agent"}
_CODE = re.compile(r"^[A-Za-z]{3}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


class CostsError(Exception):
    """A problem the user can fix; the command prints it and exits with status 1."""


# ---- parsing the options -------------------------------------------------------------------


def parse_by(values: Iterable[str] | None) -> tuple[str, ...]:
    """Read ``--by`` values (repeated and/or comma-separated).

    Args:
        values: The option's values (``["provider,model", "day"]``); ``None`` for the default.

    Returns:
        The dimensions, in order, without repeats.

    Raises:
        CostsError: An unknown dimension, or none at all.
    """
    if values is None:
        return DEFAULT_BY
    names = [part.strip() for value in values for part in value.split(",") if part.strip()]
    unknown = [name for name in names if name not in DIMENSIONS]
    if unknown:
        msg = f"--by: cannot group by {', '.join(unknown)}; use any of {', '.join(DIMENSIONS)}"
        raise CostsError(msg)
    if not names:
        msg = f"--by: name at least one of {', '.join(DIMENSIONS)}"
        raise CostsError(msg)
    return tuple(dict.fromkeys(names))


def parse_where(items: Iterable[str] | None) -> dict[str, str | list[str] | None]:
    """Read ``--where`` filters.

    ``workspace_id=w1`` keeps one value, ``workspace_id=w1,w2`` (or the key given twice) any
    of several, and ``workspace_id=`` (empty) the calls without one.

    Args:
        items: The option's values.

    Returns:
        Column filters for :meth:`polyvox.core.ledger.Ledger.report`.

    Raises:
        CostsError: An item that is not ``column=value``, or an unknown column.
    """
    from polyvox.core.ledger.reports import FILTERS

    found: dict[str, list[str | None]] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            msg = f"--where: expected column=value (e.g. workspace_id=w1), got {item!r}"
            raise CostsError(msg)
        if key not in FILTERS:
            msg = f"--where: cannot filter on {key!r}; use one of {', '.join(FILTERS)}"
            raise CostsError(msg)
        parts: list[str | None] = [v.strip() for v in value.split(",") if v.strip()]
        found.setdefault(key, []).extend(parts or [None])
    where: dict[str, str | list[str] | None] = {}
    for key, values in found.items():
        unique = list(dict.fromkeys(values))
        if unique == [None]:
            where[key] = None
        elif None in unique:
            shown = ", ".join(repr(v or "") for v in unique)
            msg = f"--where: {key} cannot be both empty and set ({shown})"
            raise CostsError(msg)
        else:
            texts = [v for v in unique if v is not None]
            where[key] = texts[0] if len(texts) == 1 else texts
    return where


def parse_rates(items: Iterable[str] | None) -> dict[str, Decimal]:
    """Read ``--rates`` (``RUB=0.011,EUR=1.08``, repeatable).

    Args:
        items: The option's values.

    Returns:
        Units of the report's currency per unit of each currency, codes upper-cased.

    Raises:
        CostsError: An item that is not ``CODE=RATE``, a code that is not three letters, or
            a rate that is not a positive number.
    """
    rates: dict[str, Decimal] = {}
    for value in items or ():
        for item in filter(None, (part.strip() for part in value.split(","))):
            code, sep, text = item.partition("=")
            code = code.strip()
            if not sep or not _CODE.match(code):
                msg = f"--rates: expected CODE=RATE items like RUB=0.011, got {item!r}"
                raise CostsError(msg)
            try:
                rate = Decimal(text.strip())
            except InvalidOperation:
                rate = Decimal("NaN")
            if not rate.is_finite() or rate <= 0:
                msg = (
                    f"--rates: the rate for {code.upper()} must be a positive number, got {text!r}"
                )
                raise CostsError(msg)
            rates[code.upper()] = rate
    return rates


def parse_time(text: str, *, end: bool = False, option: str = "--since") -> datetime:
    """Read a ``--since`` or ``--until`` value as a UTC instant.

    Args:
        text: ``YYYY-MM-DD`` (a UTC day), ``YYYY-MM`` (a UTC month) or an ISO 8601 time
            (naive times are UTC).
        end: Read it as the end of a range: a day or month is *included*, so the instant
            returned is the start of the next one; an ISO time is the first instant excluded.
        option: The option's name, for the error message.

    Returns:
        The instant (aware, UTC).

    Raises:
        CostsError: The text is none of those forms.
    """
    value = text.strip()
    try:
        if _MONTH.match(value):
            year, month = int(value[:4]), int(value[5:])
            start = date(year, month, 1)
            if end:
                start = date(year + month // 12, month % 12 + 1, 1)
            return datetime.combine(start, time(), UTC)
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1 if end else 0), time(), UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        msg = f"{option}: expected YYYY-MM-DD, YYYY-MM or an ISO 8601 time, got {text!r}"
        raise CostsError(msg) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Query:
    """Which calls a command looks at, and the currency it reports costs in."""

    since: datetime | None = None
    """First instant included."""

    until: datetime | None = None
    """First instant excluded."""

    where: Mapping[str, str | list[str] | None] = field(default_factory=dict)
    """Column filters."""

    currency: str | None = None
    """Report costs in this currency (``None``: as recorded)."""

    rates: Mapping[str, Decimal] = field(default_factory=dict)
    """Units of ``currency`` per unit of each other currency."""

    labels: tuple[str, ...] = ()
    """The filters as the user gave them, for headings and messages."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Query:
        """Build a query from parsed command-line options.

        Args:
            args: The parsed options (``since``, ``until``, ``where``, and for report and
                plot ``currency`` and ``rates``).

        Returns:
            The query.

        Raises:
            CostsError: A malformed option.
        """
        since = parse_time(args.since) if args.since else None
        until = parse_time(args.until, end=True, option="--until") if args.until else None
        if since is not None and until is not None and since >= until:
            msg = f"--since {args.since} is not before --until {args.until}"
            raise CostsError(msg)
        where = parse_where(args.where)
        currency_arg: str | None = getattr(args, "currency", None)
        rates = parse_rates(getattr(args, "rates", None))
        currency = None
        if currency_arg is not None:
            currency = currency_arg.strip().upper()
            if not _CODE.match(currency):
                msg = f"--currency: expected a code like USD or RUB, got {currency_arg!r}"
                raise CostsError(msg)
            if not rates:
                rates = _env_rates(currency)
        elif rates:
            msg = "--rates needs --currency: the currency to convert the costs into"
            raise CostsError(msg)
        labels = []
        if args.since:
            labels.append(f"since {args.since}")
        if args.until:
            labels.append(f"until {args.until}")
        labels += [f"where {item}" for item in args.where or ()]
        return cls(since, until, where, currency, rates, tuple(labels))

    def describe(self) -> str:
        """The filters in words (empty when there are none)."""
        return ", ".join(self.labels)


def _env_rates(currency: str) -> dict[str, Decimal]:
    """Rates into ``currency`` from ``POLYVOX_FX_RATES`` (USD per unit), when it has them.

    Args:
        currency: The report's currency.

    Returns:
        Units of ``currency`` per unit of each currency the variable prices (empty when
        it is unset, or has no rate for ``currency`` itself).

    Raises:
        CostsError: The variable is malformed.
    """
    from polyvox.core.costs import CurrencyRates, MissingRateError

    try:
        known = CurrencyRates.from_env()
    except ValueError as exc:
        raise CostsError(str(exc)) from None
    rates: dict[str, Decimal] = {}
    for code in known.rates:
        if code == currency:
            continue
        try:
            rates[code] = known.convert(Decimal(1), code, currency)
        except MissingRateError:
            return {}
    return rates


# ---- formatting ----------------------------------------------------------------------------


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


def plot_daily_costs(
    ledger: Ledger,
    output: str | os.PathLike[str],
    *,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    where: Mapping[str, Any] | None = None,
    currency: str | None = None,
    rates: Mapping[str, Decimal] | None = None,
    top: int = 8,
    title: str = "Daily cost per model",
) -> Path:
    """Draw the daily cost per model as stacked bars and save the chart.

    Uses matplotlib's ``Agg`` backend on a private figure (no ``pyplot`` state, no display
    needed). Models beyond the ``top`` most expensive are drawn together as "other".

    Args:
        ledger: The ledger.
        output: The image file (the format follows the suffix; none means ``.png``).
        since: First instant included.
        until: First instant excluded.
        where: Column filters, as for :meth:`polyvox.core.ledger.Ledger.report`.
        currency: Draw costs in this currency (``None``: the calls' own, which must be one).
        rates: Units of ``currency`` per unit of each other currency.
        top: Most models drawn on their own.
        title: The chart's title.

    Returns:
        The path written.

    Raises:
        CostsError: Nothing to draw (no calls, or none priced), or costs in several
            currencies and no ``currency``.
        ValueError: A cost in a currency with no rate.
    """
    path = Path(output)
    if not path.suffix:
        path = path.with_suffix(".png")
    rows = ledger.report(
        ("day", "provider", "model"),
        since=since,
        until=until,
        where=where,
        currency=currency,
        rates=rates,
    )
    if not rows:
        msg = "nothing to plot: the ledger has no calls" + (
            " that match" if where or since or until else ""
        )
        raise CostsError(msg)
    shown = currency
    if shown is None:
        found = sorted({code for row in rows for code in row.costs})
        if len(found) > 1:
            msg = (
                f"the calls are priced in several currencies ({', '.join(found)}); draw them "
                "in one with --currency USD --rates RUB=<USD per RUB>, or keep one with "
                "--where currency=USD"
            )
            raise CostsError(msg)
        shown = found[0] if found else None
    series: dict[str, dict[date, Decimal]] = {}
    for row in rows:
        amount = row.cost if currency is not None else row.costs.get(shown or "")
        if amount is None or not row.costs:
            continue
        label = f"{row.provider}/{row.model}"
        day = date.fromisoformat(str(row.day))
        series.setdefault(label, {})[day] = series.get(label, {}).get(day, Decimal(0)) + amount
    unpriced = sum(row.unpriced_calls for row in rows)
    if not series or shown is None:
        calls = sum(row.calls for row in rows)
        msg = f"nothing to plot: none of the {calls:,} calls has a known price"
        raise CostsError(msg)
    days = sorted({date.fromisoformat(str(row.day)) for row in rows})
    span = [days[0] + timedelta(days=i) for i in range((days[-1] - days[0]).days + 1)]
    _draw(series, span, path, currency=shown, top=top, title=title, unpriced=unpriced)
    return path


def _draw(
    series: Mapping[str, Mapping[date, Decimal]],
    days: Sequence[date],
    path: Path,
    *,
    currency: str,
    top: int,
    title: str,
    unpriced: int,
) -> None:
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import ScalarFormatter

    totals = {label: sum(values.values(), Decimal(0)) for label, values in series.items()}
    ranked = sorted(totals, key=lambda label: (-totals[label], label))
    keep, rest = ranked[: max(1, top)], ranked[max(1, top) :]
    if len(rest) == 1:  # "other (1 model)" would hide a name for nothing
        keep, rest = ranked, []
    stacks: list[tuple[str, list[Decimal]]] = [
        (label, [series[label].get(day, Decimal(0)) for day in days]) for label in keep
    ]
    if rest:
        other = [
            sum((series[label].get(day, Decimal(0)) for label in rest), Decimal(0)) for day in days
        ]
        stacks.append((f"other ({len(rest)} models)", other))

    figure = Figure(figsize=(10, 5.5), dpi=120, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    x = list(range(len(days)))
    palette = colormaps["tab10"]
    bottom = [0.0] * len(days)
    handles = []
    for i, (label, amounts) in enumerate(stacks):
        values = [float(a) for a in amounts]
        color = "#b0b0b0" if rest and i == len(stacks) - 1 else palette(_COLOURS[i % 9])
        bars = axes.bar(
            x, values, width=0.8, bottom=bottom, label=label, color=color, edgecolor="white"
        )
        handles.append(bars)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylim(0, max(max(bottom), 1e-12) * 1.08)
    total = sum(totals.values(), Decimal(0))
    first, last = days[0].isoformat(), days[-1].isoformat()
    period = first if first == last else f"{first} to {last}"
    subtitle = f"{period} (UTC) · total {format_amount(total)} {currency}"
    if unpriced:
        subtitle += f" · {unpriced:,} unpriced calls not shown"
    figure.suptitle(title, fontsize=14, fontweight="bold")
    axes.set_title(subtitle, fontsize=10, color="#555555")
    axes.set_xlabel("day (UTC)")
    axes.set_ylabel(f"cost ({currency})")
    step = -(-len(days) // 14)  # at most 14 labelled days
    ticks = x[::step]
    axes.set_xticks(ticks, [days[i].isoformat() for i in ticks])
    if len(ticks) > 4:
        axes.tick_params(axis="x", labelrotation=30)
        for tick in axes.get_xticklabels():
            tick.set_horizontalalignment("right")
    axes.set_xlim(-0.7, len(days) - 0.3)
    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    axes.yaxis.set_major_formatter(formatter)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.legend(
        handles=handles[::-1],  # the legend reads top-down like the stack
        title="provider/model",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
    )
    figure.savefig(path)


# ---- the command ---------------------------------------------------------------------------


def add_costs_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``costs`` (with ``report``, ``plot`` and ``export``) to the ``polyvox`` parser.

    Args:
        commands: The ``polyvox`` command's sub-parsers.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--ledger",
        metavar="URL",
        help="the ledger database: sqlite:///path or postgresql://user@host/db "
        "(default: $POLYVOX_LEDGER_URL, else the SQLite file in polyvox's data folder)",
    )
    common.add_argument("--schema", help="the PostgreSQL schema of the ledger's tables")
    common.add_argument(
        "--since", metavar="WHEN", help="first UTC day (YYYY-MM-DD), month (YYYY-MM) or ISO time"
    )
    common.add_argument(
        "--until",
        metavar="WHEN",
        help="last UTC day or month included (YYYY-MM-DD, YYYY-MM), or an ISO time (excluded)",
    )
    common.add_argument(
        "--where",
        action="append",
        metavar="COLUMN=VALUE",
        help="keep matching calls: workspace_id=w1, agent_id=a1,a2 (any of), provider=..., "
        "model=..., execution_id=..., outcome=error, currency=RUB; repeatable; an empty "
        "value matches calls without one",
    )
    money = argparse.ArgumentParser(add_help=False)
    money.add_argument(
        "--currency", metavar="CODE", help="give every cost in this currency (e.g. USD)"
    )
    money.add_argument(
        "--rates",
        action="append",
        metavar="CODE=RATE",
        help="units of --currency per unit of another currency, e.g. RUB=0.011 "
        "(comma-separated or repeated; default: $POLYVOX_FX_RATES, in USD per unit)",
    )

    costs = commands.add_parser(
        "costs",
        help="report, plot and export the costs in the ledger",
        description="Read the cost ledger written by polyvox's cost callback handlers.",
    )
    actions = costs.add_subparsers(dest="costs_command", required=True, metavar="ACTION")
    report = actions.add_parser(
        "report",
        parents=[common, money],
        help="a table of calls, tokens, latency and cost",
        description="Print calls, failures, tokens, cache reads, mean and p95 latency and "
        "cost per group, with totals. Costs are exact; unpriced calls are counted apart.",
    )
    report.add_argument(
        "--by",
        action="append",
        metavar="DIMENSIONS",
        help="group by any of provider, model, workspace_id, agent_id, day, month "
        "(comma-separated; default: provider,model)",
    )
    plot = actions.add_parser(
        "plot",
        parents=[common, money],
        help="a chart of the daily cost per model",
        description="Draw the daily cost per model as stacked bars and print the file's path.",
    )
    plot.add_argument(
        "--output", "-o", required=True, help="the image file, e.g. costs.png (or .svg, .pdf)"
    )
    plot.add_argument(
        "--top", type=int, default=8, help="models drawn on their own (default: %(default)s)"
    )
    export = actions.add_parser(
        "export",
        parents=[common],
        help="the call records as CSV",
        description="Write the matching call records as CSV, one column per record field "
        "(costs exact, times ISO 8601 UTC).",
    )
    export.add_argument("--output", "-o", required=True, help="the CSV file, or - for stdout")


def run_costs(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run ``polyvox costs report|plot|export``.

    Args:
        args: The parsed options.
        out: Where results go (default: standard output).
        err: Where errors and notes go (default: standard error).

    Returns:
        0 on success; 1 when the ledger cannot be read or an option is malformed (the
        error is printed).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    from polyvox.core.ledger import LedgerError

    try:
        query = Query.from_args(args)
        if args.costs_command == "report":
            return _report(args, query, out, err)
        if args.costs_command == "plot":
            return _plot(args, query, out, err)
        return _export(args, query, out, err)
    except (CostsError, LedgerError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=err)
        return 1


def _open(url: str | None, schema: str | None, err: TextIO) -> Ledger | None:
    """Open the ledger for reading; ``None`` for a SQLite file that does not exist yet."""
    from polyvox.core.ledger import Ledger
    from polyvox.core.ledger.location import mask_url, resolve_url, sqlite_file

    raw = resolve_url(url)
    db_file = sqlite_file(raw)
    if db_file is not None and not db_file.expanduser().exists():
        return None  # reading must not create an empty ledger file
    try:
        ledger = Ledger(url, schema=schema, strict=True)
    except OSError as exc:
        msg = f"cannot open the ledger {mask_url(raw)}: {exc}"
        raise CostsError(msg) from exc
    _spill_note(ledger, err)
    return ledger


def _where_text(url: str | None) -> str:
    from polyvox.core.ledger.location import mask_url, resolve_url

    return mask_url(resolve_url(url))


def _spill_note(ledger: Ledger, err: TextIO) -> None:
    """Say when records wait in the spill file (they are not in the database yet)."""
    try:
        with ledger.spill_path.open(encoding="utf-8") as spill:
            waiting = sum(1 for line in spill if line.strip())
    except OSError:
        return
    if waiting:
        print(
            f"note: {waiting:,} records wait in the spill file {ledger.spill_path} and are not "
            f"counted here; import them with Ledger({ledger.url!r}).replay_spill()",
            file=err,
        )


def _empty(query: Query, url: str | None, missing: bool) -> str:
    place = _where_text(url)
    if missing:
        return f"no calls recorded: the ledger {place} does not exist yet"
    if query.labels:
        return f"no calls in the ledger {place} match ({query.describe()})"
    return f"no calls recorded in the ledger {place} yet"


def _check_rates(total: ReportRow, query: Query) -> None:
    """Name every currency the report cannot convert, in the command's own terms."""
    if query.currency is None:
        return
    missing = sorted(c for c in total.costs if c != query.currency and c not in query.rates)
    if missing:
        needed = ",".join(f"{c}=<{query.currency} per {c}>" for c in missing)
        msg = (
            f"some calls are priced in {', '.join(c or 'no currency' for c in missing)}: give "
            f"--rates {needed} to convert them into {query.currency}, or keep one currency "
            f"with --where currency={query.currency}"
        )
        raise CostsError(msg)


def _report(args: argparse.Namespace, query: Query, out: TextIO, err: TextIO) -> int:
    by = parse_by(args.by)
    ledger = _open(args.ledger, args.schema, err)
    if ledger is None:
        print(_empty(query, args.ledger, missing=True), file=out)
        return 0
    try:
        filters: dict[str, Any] = {"since": query.since, "until": query.until, "where": query.where}
        recorded = ledger.stats(**filters)
        if not recorded.calls:
            print(_empty(query, args.ledger, missing=False), file=out)
            return 0
        _check_rates(recorded, query)
        money: dict[str, Any] = {"currency": query.currency, "rates": query.rates or None}
        rows = ledger.report(cast("tuple[Dimension, ...]", by), **filters, **money)
        total = ledger.stats(**filters, **money)
    finally:
        ledger.close()
    heading = f"Costs in {ledger.url}" + (f" ({query.describe()})" if query.labels else "")
    text = format_report(
        rows, total, by, currency=query.currency, rates=query.rates, heading=heading
    )
    out.write(text)
    return 0


def _plot(args: argparse.Namespace, query: Query, out: TextIO, err: TextIO) -> int:
    ledger = _open(args.ledger, args.schema, err)
    if ledger is None:
        msg = f"nothing to plot: the ledger {_where_text(args.ledger)} does not exist yet"
        raise CostsError(msg)
    try:
        recorded = ledger.stats(since=query.since, until=query.until, where=query.where)
        if not recorded.calls:
            raise CostsError("nothing to plot: " + _empty(query, args.ledger, missing=False))
        _check_rates(recorded, query)
        path = plot_daily_costs(
            ledger,
            args.output,
            since=query.since,
            until=query.until,
            where=query.where,
            currency=query.currency,
            rates=query.rates or None,
            top=args.top,
        )
    finally:
        ledger.close()
    print(path, file=out)
    return 0


def _export(args: argparse.Namespace, query: Query, out: TextIO, err: TextIO) -> int:
    from polyvox.core.ledger.export import write_csv

    to_stdout = args.output == "-"
    target: str | TextIO = out if to_stdout else args.output
    ledger = _open(args.ledger, args.schema, err)
    if ledger is None:
        count = write_csv([], target)
    else:
        try:
            count = ledger.export_csv(
                target, since=query.since, until=query.until, where=query.where
            )
        finally:
            ledger.close()
    print(
        f"exported {count:,} records to {'standard output' if to_stdout else args.output}",
        file=err if to_stdout else out,
    )
    return 0
