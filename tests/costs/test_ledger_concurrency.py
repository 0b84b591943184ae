"""Many writers at once: threads, asyncio tasks and processes; exact counts and totals."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from polyvox.costs.ledger import CallRecord, Ledger
from tests.costs.test_ledger_support import BACKENDS, Target, spawn_pool, target

N = 1000


def _cost(i: int) -> Decimal:
    return Decimal(i) / Decimal(10**9) + Decimal("0.000001")  # nine decimals, all different


EXPECTED_TOTAL = sum((_cost(i) for i in range(N)), Decimal(0))


def _record(i: int, worker: int = 0) -> CallRecord:
    return CallRecord(
        provider="openai",
        model="gpt-x",
        workspace_id=f"w{worker}",
        cost=_cost(i),
        currency="USD",
        latency_ms=float(i % 97),
        input_tokens=i,
    )


@pytest.fixture(params=BACKENDS)
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    with target(request.param, tmp_path) as found:
        yield found


def _check(led: Ledger) -> None:
    stats = led.stats()
    assert stats.calls == N
    assert stats.input_tokens == sum(range(N))
    assert led.total_cost() == EXPECTED_TOTAL
    assert led.health().spilled == 0


def test_sixteen_threads(where: Target) -> None:
    led = where.ledger()
    barrier = threading.Barrier(16)

    def work(t: int) -> None:
        barrier.wait()
        for i in range(t, N, 16):
            led.record(_record(i))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert led.flush(timeout=30)
    _check(led)
    led.close()


async def test_two_hundred_tasks(where: Target) -> None:
    led = where.ledger()

    async def call(task: int) -> None:
        for i in range(task, N, 200):
            await asyncio.sleep(0)  # a model call's await
            led.record(_record(i))

    await asyncio.gather(*(call(t) for t in range(200)))
    assert await led.aflush()
    _check(led)
    led.close()


def _process_writer(url: str, schema: str | None, worker: int) -> int:
    """Runs in a spawned process: 250 records, left for close() at exit to write."""
    led = Ledger(url, schema=schema, batch_size=50)
    for i in range(worker, N, 4):
        led.record(_record(i, worker))
    led.close()
    return led.health().written


def test_four_processes(where: Target) -> None:
    args = [(where.url, where.schema, w) for w in range(4)]
    written = spawn_pool().starmap(_process_writer, args, chunksize=1)
    assert written == [250] * 4
    with where.ledger() as led:
        _check(led)
        assert [(r.workspace_id, r.calls) for r in led.report(by=["workspace_id"])] == [
            (f"w{w}", 250) for w in range(4)
        ]
