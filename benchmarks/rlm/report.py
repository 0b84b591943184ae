"""The benchmark's report: markdown tables (printed, and saved with ``--markdown``) and JSON."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from statistics import mean
from typing import Any

from benchmarks.rlm.measure import Measurement
from benchmarks.rlm.runner import METHOD_TITLES, METHODS, Models, RunOptions

__all__ = ["MECHANICS_NOTE", "markdown", "payload", "size_label"]

MECHANICS_NOTE = (
    "**What this measures.** In scripted mode the root models follow fixed strategies "
    "(probe, filter, chunk, batched sub-calls, combine in code) and the sub-model is an "
    "oracle that reads the benchmark's synthetic texts by rule. The figures measure the "
    "mechanics of the RLM — the REPL, sub-calls, recursion, accounting, concurrency and how "
    "much of the context is read — not a model's reasoning: no language model decides "
    "anything. The scripted RLM is exact by construction whenever every sub-call stays "
    "within the oracle's exact range (as it does at the default chunk size): its scores "
    "show that the REPL, the sub-calls and the code "
    "that combines their answers deliver every piece and lose nothing, not that a model "
    "would write that code. A real model's accuracy is measured in real-model mode "
    "(`--base-url URL --model NAME`)."
)
"""The caveat every scripted report starts with."""


def size_label(tokens: int) -> str:
    """``8K``, ``128K``, ``1M`` for a token count (binary thousands)."""
    if tokens >= 1 << 20 and tokens % (1 << 20) == 0:
        return f"{tokens >> 20}M"
    if tokens >= 1 << 10:
        return f"{round(tokens / 1024)}K"
    return str(tokens)


def _tokens(value: int) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}K"
    return f"{value:,}"


def _calls(row: Measurement) -> str:
    if row.tree_levels:
        return f"{row.calls} ({'+'.join(map(str, row.tree_levels))})"
    if not row.calls_by_depth:
        return "0"
    depths = " / ".join(
        str(row.calls_by_depth.get(d, 0)) for d in range(max(row.calls_by_depth) + 1)
    )
    return f"{row.calls} ({depths})" if len(row.calls_by_depth) > 1 else str(row.calls)


def _share(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0 or value >= 0.995:
        return f"{value:.0%}"
    return f"{value:.1%}" if value >= 0.01 else f"{value:.2%}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def score_table(rows: Sequence[Measurement]) -> list[str]:
    """Mean score per method (rows) and size (columns), over families and seeds."""
    sizes = sorted({r.size_tokens for r in rows})
    methods = [m for m in METHODS if any(r.method == m for r in rows)]
    cells: dict[tuple[str, int], list[float]] = defaultdict(list)
    for row in rows:
        cells[row.method, row.size_tokens].append(row.score)
    lines = [
        "| method | " + " | ".join(size_label(s) for s in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for method in methods:
        values = [cells.get((method, s)) for s in sizes]
        shown = [f"{mean(v):.2f}" if v else "—" for v in values]
        lines.append(f"| {METHOD_TITLES[method]} | " + " | ".join(shown) + " |")
    return lines


def detail_table(rows: Sequence[Measurement]) -> list[str]:
    """One line per task x size x method."""
    lines = [
        "| task | size | method | score | calls (by depth) | tokens | peak root ctx | cost $ "
        "| wall s | serial s | context read | note |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        cost = "—" if r.cost_usd is None else f"{r.cost_usd:.4f}"
        peak = "—" if r.peak_root_tokens is None else _tokens(r.peak_root_tokens)
        lines.append(
            f"| {r.family} | {size_label(r.size_tokens)} | {METHOD_TITLES[r.method]} "
            f"| {r.score:.2f} | {_calls(r)} | {_tokens(r.input_tokens + r.output_tokens)} "
            f"| {peak} | {cost} | {r.wall_s:.2f} | {r.serial_s:.2f} | {_share(r.context_read)} "
            f"| {_cell(r.note[:60])} |"
        )
    return lines


def markdown(
    rows: Sequence[Measurement],
    models: Models,
    options: RunOptions,
    *,
    machine: str,
    seconds: float,
) -> str:
    """The whole report as markdown.

    Args:
        rows: The measurements.
        models: The models used (their description).
        options: What was run.
        machine: A line describing the machine.
        seconds: The run's total time.

    Returns:
        The report.
    """
    sizes = ", ".join(f"{size_label(s)} (2^{s.bit_length() - 1})" for s in options.sizes)
    out = ["# Recursive Language Model benchmark", ""]
    if models.scripted:
        out += [MECHANICS_NOTE, ""]
    out += [
        f"- models: {models.description}",
        f"- tasks: {', '.join(options.families)} at {sizes} tokens of 4 characters; "
        f"seeds {', '.join(map(str, options.seeds))}",
        f"- sub-calls: {options.chunk_chars:,}-character chunks (tree_summarize leaves too), "
        f"at most {options.concurrency} at once per RLM",
        f"- {machine}; total {seconds:.0f} s",
        "",
        "## Mean score by method and context size",
        "",
        *score_table(rows),
        "",
        "Scores: needle, top and multihop are exact (1 or 0); count is 0.75^|error| (as "
        "OOLONG scores counts); pairs is the F1 of the pairs listed.",
        "",
        "## Every run",
        "",
        *detail_table(rows),
        "",
        "Columns: *calls (by depth)* counts model calls, with calls at depth 0 / 1 / 2 for the "
        "RLM (depth 0 is the root's turns; depth 1 its sub-calls and child RLMs' turns; "
        "depth 2 their sub-calls) and per tree level for tree_summarize (leaves first); "
        "*tokens* is input plus output of every call; *peak root ctx* is the largest prompt "
        "of the top-level model (the RLM root's turns never hold the context); *cost* prices "
        "each call at the catalog's price for the model it names; *serial s* is the sum of "
        "the calls' model time (the simulated latency of a simulated call, else its measured "
        "duration): what the calls would take one after another; *context read* "
        "is the share of the context's characters that code read (the RLM's read spans; a "
        "part handed to a child RLM counts by what the child read in it) or that a baseline "
        "sent to a model that did not refuse it.",
    ]
    return "\n".join(out) + "\n"


def payload(
    rows: Sequence[Measurement],
    models: Models,
    options: RunOptions,
    *,
    machine: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    """The results as JSON-ready data."""
    return {
        "benchmark": "rlm",
        "scripted": models.scripted,
        "note": MECHANICS_NOTE if models.scripted else "",
        "models": models.description,
        "machine": machine,
        "run": {
            "sizes": list(options.sizes),
            "families": list(options.families),
            "methods": list(options.methods),
            "seeds": list(options.seeds),
            "chunk_chars": options.chunk_chars,
            "concurrency": options.concurrency,
            "seconds": round(seconds, 2),
        },
        "rows": [row.to_json() for row in rows],
    }
