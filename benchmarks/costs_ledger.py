"""Cost tracking's ledger: how fast ``Ledger.record()`` + ``flush()`` write, per backend.

Each round records N prepared ``CallRecord`` s (as ``CostCallbackHandler`` builds them) on
one ``polyvox.costs.ledger.Ledger`` and then calls ``flush()``, which returns once the
background writer has committed every one of them: records per second end to end
(enqueue + batched writes). The rounds alternate between a temporary SQLite file and
PostgreSQL (``POLYVOX_BENCH_POSTGRES_URL``, default the local test server), each in a
schema of its own that is dropped afterwards. The loop that records also times blocks
of 100 ``record()`` calls: the cost of one on the call path (an enqueue).
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.harness import Column, Context, Row, Section, Summary, Target, register

PG_URL_ENV = "POLYVOX_BENCH_POSTGRES_URL"
PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

SQLITE = "SQLite (temporary file)"
POSTGRES = "PostgreSQL"
SQLITE_TARGET = 5_000
BLOCK = 100


def _records(n: int) -> list[Any]:
    """``n`` realistic records: priced, attributed, each with its own id."""
    from polyvox.costs.ledger import CallRecord

    now = datetime.now(UTC)
    return [
        CallRecord(
            id=uuid.uuid4().hex,
            time=now,
            run_id=str(uuid.uuid4()),
            provider="openai",
            model="gpt-4o-mini",
            workspace_id=f"w{i % 7}",
            agent_id=f"a{i % 13}",
            execution_id=f"e{i}",
            attributes={"team": "search", "env": "bench"},
            input_tokens=120 + i % 50,
            output_tokens=40 + i % 30,
            cost=Decimal("0.0000423"),
            currency="USD",
            latency_ms=812.5,
        )
        for i in range(n)
    ]


@dataclass
class _Runs:
    """One backend's rounds."""

    rps: list[float] = field(default_factory=list)
    enqueue_block_us: list[float] = field(default_factory=list)
    """Each block of ``BLOCK`` record() calls, µs per call."""
    enqueue_mean_us: list[float] = field(default_factory=list)
    flush_ms: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    ok: bool = True


def _round(ledger: Any, records: list[Any], runs: _Runs) -> None:
    record = ledger.record
    clock = time.perf_counter_ns
    blocks = runs.enqueue_block_us
    c0 = time.process_time_ns()
    t0 = clock()
    for start in range(0, len(records), BLOCK):
        b0 = clock()
        for item in records[start : start + BLOCK]:
            record(item)
        blocks.append((clock() - b0) / 1e3 / BLOCK)
    t1 = clock()
    runs.ok = ledger.flush(timeout=300) and runs.ok
    t2 = clock()
    c1 = time.process_time_ns()
    n = len(records)
    runs.rps.append(n / ((t2 - t0) / 1e9))
    runs.enqueue_mean_us.append((t1 - t0) / 1e3 / n)
    runs.flush_ms.append((t2 - t1) / 1e6)
    runs.cpu_us.append((c1 - c0) / 1e3 / n)


def _spaced(ledger: Any, records: list[Any], gap: float) -> list[float]:
    """``record()`` one at a time with a pause between: µs per call while the writer waits.

    This is what a model call pays: between calls the writer thread is blocked waiting for
    the next record, and each ``record()`` has to wake it.
    """
    record = ledger.record
    clock = time.perf_counter_ns
    out = []
    for item in records:
        t0 = clock()
        record(item)
        out.append((clock() - t0) / 1e3)
        time.sleep(gap)
    ledger.flush(timeout=60)
    return out


def _postgres(tmp: Path) -> tuple[Any, Callable[[], None], str]:
    """A strict PostgreSQL ledger in a fresh schema, and how to drop that schema."""
    from polyvox.costs.ledger import Ledger
    from polyvox.costs.ledger.location import mask_url

    url = os.environ.get(PG_URL_ENV) or PG_DEFAULT_URL
    schema = f"pv_bench_{uuid.uuid4().hex[:12]}"

    def drop() -> None:
        import sqlalchemy

        engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 5})
        try:
            with engine.begin() as conn:
                conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            engine.dispose()

    ledger = Ledger(
        url, schema=schema, strict=True, connect_timeout=5, spill_path=tmp / "pg-spill.jsonl"
    )
    return ledger, drop, f"{mask_url(url)}, schema {schema} (dropped afterwards)"


COLUMNS = [
    Column("rps", "records/s"),
    Column("rps_min", "worst records/s"),
    Column("enqueue_us", "record() µs", "{:,.2f}"),
    Column("enqueue_mean_us", "record() mean µs", "{:,.2f}"),
    Column("enqueue_idle_us", "record() µs, spaced", "{:,.2f}"),
    Column("flush_ms", "flush() wait ms"),
    Column("cpu_us", "CPU µs/record", "{:,.1f}"),
]


def _row(name: str, runs: _Runs, spaced: list[float], target: Target | None) -> Row:
    rps = Summary.of(runs.rps)
    values: dict[str, float | int | str | None] = {
        "rounds": rps.n,
        "rps": rps.median,
        "rps_min": rps.minimum,
        "enqueue_us": Summary.of(runs.enqueue_block_us).median,
        "enqueue_mean_us": Summary.of(runs.enqueue_mean_us).median,
        "enqueue_idle_us": Summary.of(spaced).median,
        "flush_ms": Summary.of(runs.flush_ms).median,
        "cpu_us": Summary.of(runs.cpu_us).median,
    }
    error = None if runs.ok else "flush() did not confirm every record written"
    return Row(name, values, target, error=error)


@register(
    "costs.ledger",
    "Ledger.record() x N + flush(): write throughput on SQLite and PostgreSQL",
    order=72,
)
def ledger_throughput(ctx: Context) -> Section:
    from polyvox.costs.ledger import Ledger

    n = ctx.scale(20_000, 5_000)
    rounds = ctx.scale(5, 2)
    warm = 500
    spaced_n, gap = ctx.scale(2_000, 500), 0.0005
    target = Target("rps", ">=", SQLITE_TARGET, f"≥ {SQLITE_TARGET:,} records/s")
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="polyvox-bench-") as tmp_name:
        tmp = Path(tmp_name)
        ledgers: dict[str, Any] = {
            SQLITE: Ledger(f"sqlite:///{tmp / 'ledger.sqlite3'}", spill_path=tmp / "spill.jsonl")
        }
        where = {SQLITE: "a fresh file in a temporary folder (WAL, synchronous=NORMAL)"}
        failures: dict[str, str] = {}
        drop: Callable[[], None] | None = None
        try:
            ledgers[POSTGRES], drop, where[POSTGRES] = _postgres(tmp)
        except Exception as exc:
            failures[POSTGRES] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        try:
            runs = {name: _Runs() for name in ledgers}
            for ledger in ledgers.values():  # untimed: schema, connections, writer thread
                _round(ledger, _records(warm), _Runs())
            names = list(ledgers)
            for r in range(rounds):
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    batch = _records(n)  # built untimed; the handler builds them per call
                    _round(ledgers[name], batch, runs[name])
            spaced = {
                name: _spaced(ledger, _records(spaced_n), gap) for name, ledger in ledgers.items()
            }
            for name, ledger in ledgers.items():
                stored = ledger.stats().calls
                want = warm + rounds * n + spaced_n
                notes.append(
                    f"{name}: {stored:,} rows in the table for {want:,} records "
                    f"({'ok' if stored == want else 'MISMATCH'}); {where[name]}"
                )
                if stored != want:
                    runs[name].ok = False
        finally:
            for ledger in ledgers.values():
                ledger.close()
            if drop is not None:
                try:
                    drop()
                except Exception as exc:
                    notes.append(f"could not drop the PostgreSQL schema: {exc!r}")
    rows = [
        _row(name, runs[name], spaced[name], target if name == SQLITE else None) for name in runs
    ]
    rows += [Row(name, {}, None, error=error) for name, error in failures.items()]
    if POSTGRES in failures:
        notes.append(f"PostgreSQL: set {PG_URL_ENV} to a reachable server to measure it")
    return Section(
        name="costs.ledger",
        title="Ledger write throughput: record() x N then flush(), end to end",
        columns=COLUMNS,
        rows=rows,
        setup=[
            f"{rounds} rounds per backend of {n:,} CallRecords (priced, attributed), "
            f"alternating in rotating order, after an untimed round of {warm}",
            "one Ledger per backend with its defaults (batch_size=500, flush_interval=0.05 s),"
            " one background writer thread each; records prepared before each round",
            "records/s = N / (first record() .. flush() returned), median over rounds; "
            "flush() wait = after the last record() until all N are committed",
            f"record() µs = median over blocks of {BLOCK} calls (the call path: an "
            "enqueue); mean = the whole loop / N, GIL hand-overs to the writer included; "
            "CPU = this process's CPU time per record (both threads)",
            f"record() µs, spaced = median of {spaced_n:,} record() calls {gap * 1e3:g} ms "
            "apart (after the rounds): the writer thread is waiting between records and each "
            "call wakes it, as between model calls",
        ],
        notes=notes,
    )
