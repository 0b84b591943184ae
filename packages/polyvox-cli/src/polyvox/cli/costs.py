"""``polyvox costs``: report, plot and export what the cost ledger recorded.

``polyvox costs report`` prints usage and cost grouped by provider, model, workspace, agent,
day or month as an aligned table with a totals row; ``polyvox costs plot`` draws the daily
cost per model as stacked bars (matplotlib, ``Agg`` backend, imported only for this);
``polyvox costs export`` writes the records to CSV. All three read the ledger named by
``--ledger`` (default: ``$POLYVOX_LEDGER_URL``, else the SQLite file in polyvox's data
folder) and take the same filters: ``--since``/``--until`` (UTC days, months or ISO times)
and ``--where column=value``.

:func:`format_report` and :func:`plot_daily_costs` are the building blocks, usable from
Python (a notebook) with any :class:`~polyvox.costs.ledger.Ledger`.

Every problem the user can fix (an unreachable ledger, a malformed filter or rate, an empty
ledger for a plot) is a :class:`CostsError`: the command prints it and exits with status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO, cast

if TYPE_CHECKING:
    from polyvox.costs.ledger import Ledger, ReportRow
    from polyvox.costs.ledger.reports import Dimension
from polyvox.cli.costs_format import format_amount, format_report
from polyvox.cli.costs_plot import plot_daily_costs
from polyvox.cli.costs_query import (
    DIMENSIONS,
    CostsError,
    Query,
    parse_by,
    parse_rates,
    parse_time,
    parse_where,
)
from polyvox.cli.errors import require_extra

__all__ = [
    "DIMENSIONS",
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


def add_costs_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: Sequence[argparse.ArgumentParser] = (),
) -> None:
    """Add ``costs`` (with ``report``, ``plot`` and ``export``) to the ``polyvox`` parser.

    Args:
        commands: The ``polyvox`` command's sub-parsers.
        parents: Parsers whose options every ``costs`` parser takes too (``--debug``).
    """
    common = argparse.ArgumentParser(add_help=False, parents=list(parents))
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
        parents=list(parents),
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

    Raises:
        CommandError: The ``costs`` extra (or, for ``plot``, the ``plot`` extra) is not
            installed; the message names the command that installs it.
        BrokenPipeError: The reader of standard output went away (``| head``).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    command = f"polyvox costs {args.costs_command}"
    plot = args.costs_command == "plot"
    ledger = "the cost ledger (polyvox-costs with SQLAlchemy)"
    require_extra(
        "polyvox.costs.ledger.database", "plot" if plot else "costs", command, needs=ledger
    )
    if plot:
        require_extra("matplotlib", "plot", command)
    from polyvox.costs.ledger import LedgerError

    try:
        query = Query.from_args(args)
        if args.costs_command == "report":
            return _report(args, query, out, err)
        if args.costs_command == "plot":
            return _plot(args, query, out, err)
        return _export(args, query, out, err)
    except BrokenPipeError:
        raise  # not the ledger's fault: the command ends quietly
    except (CostsError, LedgerError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=err)
        return 1


def _open(url: str | None, schema: str | None, err: TextIO) -> Ledger | None:
    """Open the ledger for reading; ``None`` for a SQLite file that does not exist yet."""
    from polyvox.costs.ledger import Ledger
    from polyvox.costs.ledger.location import mask_url, resolve_url, sqlite_file

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
    from polyvox.costs.ledger.location import mask_url, resolve_url

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
    from polyvox.costs.ledger.export import write_csv

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
