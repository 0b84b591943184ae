"""The RLM benchmark as a family of ``python -m benchmarks`` (``--only rlm``).

Importing this module registers ``rlm.scripted``: the scripted-mode grid (2^13 tokens with
``--quick``, else 2^13 to 2^20), summarised per method and size: mean score over the task
families, calls, tokens, cost, wall time and the share of the context read. The full
per-task report is ``python -m benchmarks.rlm``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from statistics import mean

from benchmarks.harness import Column, Context, Row, Section, register
from benchmarks.rlm.measure import Measurement
from benchmarks.rlm.report import MECHANICS_NOTE, size_label
from benchmarks.rlm.runner import METHOD_TITLES, METHODS, RunOptions, run_all, scripted_models

__all__ = ["scripted"]

QUICK_SIZES = (1 << 13,)
FULL_SIZES = (1 << 13, 1 << 15, 1 << 17, 1 << 20)


def _summary(rows: list[Measurement]) -> list[Row]:
    groups: dict[tuple[int, str], list[Measurement]] = defaultdict(list)
    for row in rows:
        groups[row.size_tokens, row.method].append(row)
    out = []
    for size in sorted({r.size_tokens for r in rows}):
        for method in METHODS:
            group = groups.get((size, method))
            if not group:
                continue
            costs = [r.cost_usd for r in group]
            reads = [r.context_read for r in group if r.context_read is not None]
            out.append(
                Row(
                    f"{size_label(size)} {METHOD_TITLES[method]}",
                    {
                        "score": mean(r.score for r in group),
                        "calls": sum(r.calls for r in group),
                        "tokens": sum(r.input_tokens + r.output_tokens for r in group),
                        "cost": None if None in costs else sum(c or 0.0 for c in costs),
                        "wall": sum(r.wall_s for r in group),
                        "serial": sum(r.serial_s for r in group),
                        "read": mean(reads) if reads else None,
                    },
                )
            )
    return out


@register("rlm.scripted", "RLM vs a direct call and tree_summarize (scripted models)", order=90)
def scripted(ctx: Context) -> Section:
    """Run the scripted grid and summarise it per context size and method."""
    sizes = QUICK_SIZES if ctx.quick else FULL_SIZES
    models = scripted_models()
    rows = asyncio.run(run_all(models, RunOptions(sizes=sizes)))
    return Section(
        name="rlm.scripted",
        title="Recursive Language Model: needle, count, top, pairs, multihop (scripted)",
        columns=[
            Column("score", "mean score", "{:.2f}"),
            Column("calls", "calls"),
            Column("tokens", "tokens"),
            Column("cost", "cost $", "{:.4f}"),
            Column("wall", "wall s", "{:.2f}"),
            Column("serial", "serial s", "{:.2f}"),
            Column("read", "context read", "{:.1%}"),
        ],
        rows=_summary(rows),
        setup=[models.description, "five task families per size, seed 0; sums over families"],
        notes=[
            MECHANICS_NOTE.replace("**", ""),
            "per-task figures: python -m benchmarks.rlm (--markdown PATH)",
        ],
    )
