"""The RLM sandbox's own costs: starting a worker and one cell's round trip, per isolation.

``rlm.sandbox`` starts sandboxes and runs trivial cells (``1 + 1``) with
``isolation="kernel"`` (seccomp, Landlock, an unprivileged uid, the supervisor) and
``isolation="process"`` (the same process layers without the seccomp filter and Landlock),
interleaved so that both see the same machine. The round trip is what the RLM pays per
code block on top of the code itself: the host frames the cell, the worker compiles and
runs it, restores the protected names, signal handlers and timers, and answers.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from benchmarks.harness import Column, Context, Row, Section, register
from benchmarks.harness.stats import percentile

LEVELS = ("kernel", "process")


class _NoModels:
    async def llm_query(self, prompt: str) -> str:
        return prompt

    async def llm_query_batched(self, prompts: list[str]) -> list[str]:
        return prompts

    async def rlm_query(self, prompt: str, context: str | None) -> str:
        return prompt


async def _measure(starts: int, cells: int) -> tuple[dict[str, list[float]], ...]:
    import logging

    from polyvox.rlm.sandbox import Sandbox, SandboxLimits

    logging.getLogger("polyvox.rlm.sandbox").setLevel(logging.ERROR)  # the opt-in's warning
    limits = {level: SandboxLimits(isolation=level) for level in LEVELS}  # type: ignore[arg-type]
    context = "The quarterly report lists 12 invoices. " * 250
    start_s: dict[str, list[float]] = {level: [] for level in LEVELS}
    ready_s: dict[str, list[float]] = {level: [] for level in LEVELS}
    for _ in range(starts):
        for level in LEVELS:
            began = time.perf_counter()
            box = await Sandbox.start(context, _NoModels(), limits=limits[level])
            start_s[level].append(time.perf_counter() - began)
            ready_s[level].append(box.startup_s)
            await box.close()
    boxes: dict[str, Any] = {
        level: await Sandbox.start(context, _NoModels(), limits=limits[level]) for level in LEVELS
    }
    round_trip: dict[str, list[float]] = {level: [] for level in LEVELS}
    try:
        for level in LEVELS:
            for _ in range(20):  # warm-up
                await boxes[level].run("1 + 1")
        for _ in range(cells):
            for level in LEVELS:
                began = time.perf_counter()
                await boxes[level].run("1 + 1")
                round_trip[level].append(time.perf_counter() - began)
    finally:
        for box in boxes.values():
            await box.close()
    return start_s, ready_s, round_trip


@register("rlm.sandbox", "RLM sandbox: worker start and cell round trip, per isolation")
def sandbox(ctx: Context) -> Section:
    from polyvox.rlm.sandbox import sandbox_report

    starts, cells = ctx.scale(20, 5), ctx.scale(2_000, 200)
    start_s, ready_s, round_trip = asyncio.run(_measure(starts, cells))
    rows = []
    for level in LEVELS:
        spawn = sorted(start_s[level])
        ready = sorted(ready_s[level])
        trip = sorted(round_trip[level])
        values: dict[str, float | int | str | None] = {
            "start_ms": percentile(spawn, 50) * 1e3,
            "ready_ms": percentile(ready, 50) * 1e3,
            "cell_us": percentile(trip, 50) * 1e6,
            "cell_p90_us": percentile(trip, 90) * 1e6,
        }
        rows.append(Row(f'isolation="{level}"', values))
    kernel, process = rows[0].values, rows[1].values
    ratio = float(kernel["cell_us"] or 0) / float(process["cell_us"] or 1)  # type: ignore[arg-type]
    layers = ", ".join(sandbox_report().layers)
    return Section(
        name="rlm.sandbox",
        title="Sandbox.start() and one cell (`1 + 1`), kernel vs process isolation",
        columns=[
            Column("start_ms", "start ms (median)", "{:,.1f}"),
            Column("ready_ms", "spawn→ready ms", "{:,.1f}"),
            Column("cell_us", "cell µs (median)", "{:,.0f}"),
            Column("cell_p90_us", "cell p90 µs", "{:,.0f}"),
        ],
        rows=rows,
        setup=[
            f"{starts} starts and closes per level, then {cells:,} cells per level, "
            "interleaved; a 10,000-character context",
            f"layers in force with isolation='kernel' on this machine: {layers}",
        ],
        notes=[
            f"kernel/process cell round trip: {ratio:.2f}x (the seccomp filter runs on every "
            "system call of the worker; Landlock on every path it opens)",
            "start = Sandbox.start() as the caller sees it (spawn, imports, confinement, "
            "ready); spawn→ready is the worker's own report of the same",
        ],
    )
