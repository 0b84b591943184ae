"""Interleaved timing: every client is measured in the same rounds, in rotating order.

Measuring client A for a minute and then client B for a minute folds any drift (another
process waking up, CPU frequency, the server's caches) into the difference between
them. Here each round calls every client once, the order rotating from round to round,
so drift hits all of them alike and cancels out of the differences and ratios.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Samples", "interleave", "interleave_async"]


@dataclass(slots=True)
class Samples:
    """Wall-clock and CPU time of each call of one client, in nanoseconds."""

    wall_ns: list[int] = field(default_factory=list)
    cpu_ns: list[int] = field(default_factory=list)
    """This process's CPU time (all its threads) during each call."""

    def wall_us(self) -> list[float]:
        """The wall-clock times in microseconds."""
        return [v / 1e3 for v in self.wall_ns]

    def cpu_us(self) -> list[float]:
        """The CPU times in microseconds."""
        return [v / 1e3 for v in self.cpu_ns]


def _orders(names: list[str], rounds: int) -> list[list[str]]:
    k = len(names)
    return [names[r % k :] + names[: r % k] for r in range(rounds)]


def interleave(
    calls: Mapping[str, Callable[[], object]], *, rounds: int, warmup: int
) -> dict[str, Samples]:
    """Time synchronous calls, round-robin.

    Args:
        calls: Client name → a call doing one complete operation.
        rounds: Timed rounds (each client is called once per round).
        warmup: Untimed rounds first (connections, caches, lazy imports).

    Returns:
        Client name → its samples.
    """
    names = list(calls)
    for _ in range(warmup):
        for name in names:
            calls[name]()
    gc.collect()
    out = {name: Samples() for name in names}
    clock, cpu = time.perf_counter_ns, time.process_time_ns
    for order in _orders(names, rounds):
        for name in order:
            fn = calls[name]
            c0 = cpu()
            t0 = clock()
            fn()
            t1 = clock()
            c1 = cpu()
            samples = out[name]
            samples.wall_ns.append(t1 - t0)
            samples.cpu_ns.append(c1 - c0)
    return out


async def interleave_async(
    calls: Mapping[str, Callable[[], Awaitable[object]]], *, rounds: int, warmup: int
) -> dict[str, Samples]:
    """Time coroutine calls, round-robin (one at a time: each call may fan out itself).

    Args:
        calls: Client name → a coroutine function doing one complete operation.
        rounds: Timed rounds.
        warmup: Untimed rounds first.

    Returns:
        Client name → its samples.
    """
    names = list(calls)
    for _ in range(warmup):
        for name in names:
            await calls[name]()
    gc.collect()
    out = {name: Samples() for name in names}
    clock, cpu = time.perf_counter_ns, time.process_time_ns
    for order in _orders(names, rounds):
        for name in order:
            fn = calls[name]
            c0 = cpu()
            t0 = clock()
            await fn()
            t1 = clock()
            c1 = cpu()
            samples = out[name]
            samples.wall_ns.append(t1 - t0)
            samples.cpu_ns.append(c1 - c0)
    return out
