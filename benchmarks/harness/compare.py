"""Tables that compare clients with a baseline measured in the same rounds.

Latency: median and p90 per call, client CPU per call, and the overhead over the
baseline (difference of medians, with an approximate 95% interval) and the ratio.
Throughput: requests per second per batch, and the ratio to the baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from benchmarks.harness.report import Column, Row, Target
from benchmarks.harness.stats import Summary, diff_ci_halfwidth
from benchmarks.harness.timing import Samples

__all__ = ["LATENCY_COLUMNS", "THROUGHPUT_COLUMNS", "latency_rows", "probe", "throughput_rows"]

T = TypeVar("T")


def probe(
    calls: Mapping[str, Callable[[], T]], baseline: str
) -> tuple[dict[str, T], dict[str, str]]:
    """Call each client once, untimed: which work, and what they answered.

    A client that raises is reported (its row says FAIL) rather than ending the run; the
    others are still measured. Their answers must agree: clients that got different
    replies did different work, and comparing their timings would mean nothing.

    Args:
        calls: Client name → a call doing one operation.
        baseline: The baseline's name (if it fails, nothing can be compared).

    Returns:
        The answers of the clients that worked, and ``name → error`` for the others.

    Raises:
        RuntimeError: When the baseline fails or the answers differ.
    """
    answers: dict[str, T] = {}
    failures: dict[str, str] = {}
    for name, call in calls.items():
        try:
            answers[name] = call()
        except Exception as exc:
            failures[name] = f"{type(exc).__name__}: {exc}"
    if baseline in failures:
        raise RuntimeError(f"the baseline ({baseline}) failed: {failures[baseline]}")
    if len({repr(a) for a in answers.values()}) > 1:
        raise RuntimeError(f"the clients got different answers: {answers}")
    return answers, failures


def _with_failed(
    rows: list[Row],
    failures: Mapping[str, str] | None,
    targets: Mapping[str, Target] | None,
    order: Sequence[str] | None,
) -> list[Row]:
    rows = rows + [
        Row(name, {}, (targets or {}).get(name), error=error)
        for name, error in (failures or {}).items()
    ]
    if order:
        rank = {name: i for i, name in enumerate(order)}
        rows.sort(key=lambda row: rank.get(row.label, len(rank)))
    return rows


def _signed(value: float) -> str:
    return f"{value:+,.0f}"


LATENCY_COLUMNS = [
    Column("median_us", "median µs"),
    Column("p90_us", "p90 µs"),
    Column("cpu_us", "CPU µs"),
    Column("overhead_us", "overhead µs", _signed),
    Column("overhead_ci_us", "± (95%)", "±{:,.0f}"),
    Column("ratio", "ratio", "{:.2f}"),
]

THROUGHPUT_COLUMNS = [
    Column("rps", "req/s", "{:,.0f}"),
    Column("rps_min", "worst req/s", "{:,.0f}"),
    Column("cpu_us_per_req", "CPU µs/req"),
    Column("cpu_overhead_us", "CPU overhead µs/req", _signed),
    Column("ratio", "ratio", "{:.3f}"),
]


def latency_rows(
    samples: Mapping[str, Samples],
    baseline: str,
    targets: Mapping[str, Target] | None = None,
    failures: Mapping[str, str] | None = None,
    order: Sequence[str] | None = None,
) -> list[Row]:
    """One row per client: its per-call latency and its overhead over ``baseline``.

    Args:
        samples: Client name → per-call samples (from :func:`interleave`).
        baseline: The baseline client's name.
        targets: Client name → the target its row is checked against.
        failures: Client name → why it could not be measured (rows saying FAIL).
        order: Client names in the order to print them (default: baseline first, the
            others as measured, failed clients last).

    Returns:
        The rows.
    """
    base = Summary.of(samples[baseline].wall_us())
    rows = []
    for name in [baseline, *(n for n in samples if n != baseline)]:
        wall = Summary.of(samples[name].wall_us())
        cpu = Summary.of(samples[name].cpu_us())
        is_base = name == baseline
        values: dict[str, float | int | str | None] = {
            "n": wall.n,
            "median_us": wall.median,
            "p90_us": wall.p90,
            "cpu_us": cpu.median,
            "overhead_us": None if is_base else wall.median - base.median,
            "overhead_ci_us": None if is_base else diff_ci_halfwidth(wall, base),
            "ratio": wall.median / base.median,
        }
        rows.append(Row(name, values, (targets or {}).get(name)))
    return _with_failed(rows, failures, targets, order)


def throughput_rows(
    samples: Mapping[str, Samples],
    baseline: str,
    requests: int,
    targets: Mapping[str, Target] | None = None,
    failures: Mapping[str, str] | None = None,
    order: Sequence[str] | None = None,
) -> list[Row]:
    """One row per client: requests per second of its batches, and the ratio to ``baseline``.

    Args:
        samples: Client name → one sample per batch (from :func:`interleave_async`).
        baseline: The baseline client's name.
        requests: Requests per batch.
        targets: Client name → the target its row is checked against.
        failures: Client name → why it could not be measured (rows saying FAIL).
        order: Client names in the order to print them (default: baseline first, the
            others as measured, failed clients last).

    Returns:
        The rows.
    """

    def rps(s: Samples) -> list[float]:
        return [requests / (ns / 1e9) for ns in s.wall_ns]

    def cpu(s: Samples) -> float:
        return Summary.of([ns / 1e3 / requests for ns in s.cpu_ns]).median

    base_rps = Summary.of(rps(samples[baseline])).median
    base_cpu = cpu(samples[baseline])
    rows = []
    for name in [baseline, *(n for n in samples if n != baseline)]:
        summary = Summary.of(rps(samples[name]))
        values: dict[str, float | int | str | None] = {
            "batches": summary.n,
            "rps": summary.median,
            "rps_min": summary.minimum,
            "cpu_us_per_req": cpu(samples[name]),
            "cpu_overhead_us": None if name == baseline else cpu(samples[name]) - base_cpu,
            "ratio": summary.median / base_rps,
        }
        rows.append(Row(name, values, (targets or {}).get(name)))
    return _with_failed(rows, failures, targets, order)
