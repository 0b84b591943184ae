"""``polyvox costs plot``: daily cost per model as stacked bars (matplotlib, ``Agg``)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from polyvox.costs.ledger import Ledger
from polyvox.cli.costs_format import _COLOURS, format_amount
from polyvox.cli.costs_query import CostsError


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
        where: Column filters, as for :meth:`polyvox.costs.ledger.Ledger.report`.
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
