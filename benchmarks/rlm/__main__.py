"""``python -m benchmarks.rlm``: run the RLM benchmark, print the markdown report, save JSON.

Scripted mode (the default) uses the scripted root models and the oracle sub-model; with
``--base-url URL --model NAME`` one real OpenAI-compatible model plays root and sub-model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.rlm.generators import FAMILIES
from benchmarks.rlm.measure import Measurement
from benchmarks.rlm.report import markdown, payload, size_label
from benchmarks.rlm.runner import (
    METHODS,
    RunOptions,
    real_models,
    run_all,
    scripted_models,
)

RESULTS = Path(__file__).resolve().parents[1] / "results" / "rlm.json"
FULL_SIZES: tuple[int, ...] = (1 << 13, 1 << 15, 1 << 17, 1 << 20)
QUICK_SIZES: tuple[int, ...] = (1 << 13,)
REAL_SIZES: tuple[int, ...] = (1 << 13, 1 << 15)

# Tracing would add network calls (or their attempts) to every measured model call.
_TRACING_VARS = ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING")


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _sizes(value: str) -> list[int]:
    """``13,15`` (powers of two) or ``8192,32768`` (token counts)."""
    sizes = [int(item) for item in _list(value)]
    return [1 << s if s <= 30 else s for s in sizes]


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.rlm",
        description="Recursive Language Model benchmark: needle, OOLONG-like aggregation, "
        "OOLONG-Pairs-like pairs and multi-hop tasks from 2^13 to 2^20 tokens; a direct call, "
        "LlamaIndex tree_summarize and the RLM at depth 0, 1 and 2. Scripted mode measures "
        "the mechanics, not a model's reasoning.",
    )
    p.add_argument("--quick", action="store_true", help="only 2^13 tokens (a few seconds)")
    p.add_argument(
        "--sizes",
        type=_sizes,
        help="context sizes: powers of two (13,15,17,20) or token counts "
        "(default 13,15,17,20; --quick 13; real-model mode 13,15)",
    )
    p.add_argument("--families", type=_list, default=list(FAMILIES), help="task families")
    p.add_argument("--methods", type=_list, default=list(METHODS), help="methods")
    p.add_argument("--seeds", type=int, default=1, help="tasks per family and size (seeds 0..N-1)")
    p.add_argument("--chunk-chars", type=int, default=16_000, help="characters per sub-call")
    p.add_argument("--concurrency", type=int, default=8, help="concurrent sub-calls per RLM")
    p.add_argument("--max-time", type=float, default=300.0, help="seconds per RLM run")
    p.add_argument(
        "--oracle-latency-ms", type=float, default=20.0, help="simulated latency per oracle call"
    )
    p.add_argument("--markdown", type=Path, help="also write the markdown report here")
    p.add_argument("--json", type=Path, default=RESULTS, help="results file (%(default)s)")
    p.add_argument("--trajectories", type=Path, help="append every RLM trajectory (JSONL) here")
    real = p.add_argument_group("real-model mode (not run in CI)")
    real.add_argument("--base-url", help="an OpenAI-compatible server's base URL")
    real.add_argument("--model", help="the model name for root and sub-model")
    real.add_argument("--api-key-env", help="environment variable holding the API key")
    return p


def _progress(row: Measurement) -> None:
    note = f"  [{row.note[:70]}]" if row.note else ""
    print(
        f"  {row.family:<9} {size_label(row.size_tokens):>5} {row.method:<15} "
        f"score {row.score:.2f}  calls {row.calls:>4}  {row.wall_s:6.2f} s{note}",
        file=sys.stderr,
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark.

    Args:
        argv: The arguments (``sys.argv[1:]`` when ``None``).

    Returns:
        The exit status: 0 (a measurement), 2 for bad arguments.
    """
    args = parser().parse_args(argv)
    if bool(args.base_url) != bool(args.model):
        print("error: --base-url and --model go together", file=sys.stderr)
        return 2
    unknown = [f for f in args.families if f not in FAMILIES]
    unknown += [m for m in args.methods if m not in METHODS]
    if unknown:
        print(f"error: unknown family or method: {', '.join(unknown)}", file=sys.stderr)
        return 2
    for var in _TRACING_VARS:
        os.environ.pop(var, None)
    if args.base_url:
        models = real_models(args.base_url, args.model, args.api_key_env)
        default_sizes = REAL_SIZES
    else:
        models = scripted_models(
            chunk_chars=args.chunk_chars,
            oracle={"latency_s": args.oracle_latency_ms / 1000},
        )
        default_sizes = QUICK_SIZES if args.quick else FULL_SIZES
    options = RunOptions(
        sizes=args.sizes or default_sizes,
        families=args.families,
        methods=args.methods,
        seeds=range(args.seeds),
        chunk_chars=args.chunk_chars,
        concurrency=args.concurrency,
        max_time_s=args.max_time,
        trajectories=args.trajectories,
        progress=_progress,
    )
    from benchmarks.harness.machine import describe, machine_info

    info = machine_info()
    started = time.perf_counter()
    rows = asyncio.run(run_all(models, options))
    seconds = time.perf_counter() - started
    report = markdown(
        rows, models, options, machine=describe(info).splitlines()[0], seconds=seconds
    )
    print(report)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(report, encoding="utf-8")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    data = payload(rows, models, options, machine=info, seconds=seconds)
    args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"total {seconds:.0f} s; results in {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
