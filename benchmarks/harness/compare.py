"""Tables that compare clients with a baseline measured in the same rounds.

Latency: median and p90 per call, client CPU per call, and the overhead over the
baseline (difference of medians, with an approximate 95% interval) and the ratio.
Throughput: requests per second per batch, and the ratio to the baseline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from benchmarks.harness.network import connects_per_call
from benchmarks.harness.report import Column, Row, Target
from benchmarks.harness.stats import Summary, diff_ci_halfwidth
from benchmarks.harness.timing import Samples, interleave_async

if TYPE_CHECKING:
    from benchmarks.harness.context import Context

__all__ = [
    "CONNECT_COLUMNS",
    "LATENCY_COLUMNS",
    "THROUGHPUT_COLUMNS",
    "latency_rows",
    "latency_setup",
    "measure_batches",
    "probe",
    "throughput_rows",
    "throughput_setup",
    "with_connects",
]

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

CONNECT_COLUMNS = [*LATENCY_COLUMNS, Column("connects", "new conns/call", "{:.1f}")]
"""The latency columns and the new TCP connections per call (see :func:`with_connects`)."""

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


def with_connects(rows: list[Row], calls: Mapping[str, Callable[[], object]]) -> list[Row]:
    """Add each client's new connections per call (``connects``, untimed) to its row.

    Args:
        rows: The latency rows.
        calls: The clients that worked (already called, so their pools are warm).

    Returns:
        The same rows.
    """
    counts = connects_per_call(calls)
    for row in rows:
        if row.label in counts:
            row.values["connects"] = counts[row.label]
    return rows


def latency_setup(
    ctx: Context,
    *,
    what: str,
    rounds: int,
    warmup: int,
    clients: int,
    baseline: str,
    clients_note: str,
) -> list[str]:
    """The set-up lines of a latency table (printed above it).

    Args:
        ctx: The run.
        what: What one call does.
        rounds: Timed rounds.
        warmup: Warm-up rounds.
        clients: Clients measured.
        baseline: The baseline's short name in the formulas (``openai SDK``).
        clients_note: How the clients are set up.

    Returns:
        The lines.
    """
    return [
        f"{what}",
        f"{rounds:,} rounds x {clients} clients after {warmup} warm-up rounds, "
        "round-robin in rotating order",
        clients_note,
        ctx.server_note,
        f"overhead = median(client) - median({baseline}); ratio = median(client) / "
        f"median({baseline}); CPU = this process's CPU time per call (median)",
    ]


Batch = Callable[[int], Awaitable[list[str]]]
"""One client's batch: ``await batch(n)`` makes ``n`` requests and returns the replies."""


async def measure_batches(
    batches: Mapping[str, Batch], baseline: str, *, requests: int, rounds: int, warmup: int
) -> tuple[dict[str, Samples], dict[str, str]]:
    """Warm each client up with one batch, check the replies agree, then time batches.

    Args:
        batches: Client name → its batch.
        baseline: The baseline's name (if it fails, nothing can be compared).
        requests: Requests per timed batch.
        rounds: Timed batches per client (interleaved, rotating order).
        warmup: Requests in the untimed warm-up batch (opens the connections, loads what
            loads lazily).

    Returns:
        Client name → one sample per batch, and ``name → error`` for the clients that failed.

    Raises:
        RuntimeError: When the baseline fails or the replies differ.
    """
    replies: dict[str, list[str]] = {}
    failures: dict[str, str] = {}
    for name, batch in batches.items():
        try:
            replies[name] = await batch(warmup)
        except Exception as exc:
            failures[name] = f"{type(exc).__name__}: {exc}"
    if baseline in failures:
        raise RuntimeError(f"the baseline failed: {failures[baseline]}")
    if len({tuple(r) for r in replies.values()}) != 1:
        raise RuntimeError(f"the clients got different replies: {replies}")

    def full(batch: Batch) -> Callable[[], Awaitable[list[str]]]:
        return lambda: batch(requests)

    calls = {name: full(batch) for name, batch in batches.items() if name not in failures}
    return await interleave_async(calls, rounds=rounds, warmup=0), failures


def throughput_setup(
    ctx: Context, *, rounds: int, requests: int, warmup: int, baseline: str, how: str
) -> list[str]:
    """The set-up lines of a throughput table (printed above it).

    Args:
        ctx: The run.
        rounds: Timed batches per client.
        requests: Requests per batch.
        warmup: Requests in the warm-up batch.
        baseline: The baseline's short name in the formulas (``SDK``).
        how: How the baseline and the models run their batches.

    Returns:
        The lines.
    """
    return [
        f"{rounds} batches of {requests:,} per client, alternating (rotating order), "
        f"after a warm-up batch of {warmup}; non-streaming",
        how,
        ctx.server_note,
        f"req/s = median over batches; ratio = req/s / {baseline} req/s; CPU = this "
        "process's CPU time per request"
        + (" (the server's is not in it)" if ctx.server == "subprocess" else " (server's too)"),
    ]
