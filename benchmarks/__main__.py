"""``python -m benchmarks [--quick] [--only NAME ...] [--server thread]``: run and print."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import benchmarks
from benchmarks.harness import Context, Section, registered, select
from benchmarks.harness.machine import describe, machine_info

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"

# Tracing would add network calls (or their attempts) to every measured LangChain call.
_TRACING_VARS = ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING")


def _load_families() -> None:
    """Import every family module of the package (each registers its benchmarks)."""
    for info in pkgutil.iter_modules(benchmarks.__path__):
        if info.name.startswith("_") or info.name == "harness":
            continue
        # a family package (benchmarks/rlm/) registers its benchmarks in its `section` module
        importlib.import_module(f"benchmarks.{info.name}" + (".section" if info.ispkg else ""))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="polyvox performance, side by side with each provider's raw SDK and the "
        "LangChain partner package it replaces, "
        "against the same emulator in the same run. A measurement, not a test: the exit "
        "status is 0 whether targets are met or missed.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a short run (~30 s): fewer repetitions, rougher"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this benchmark or family (repeatable, or comma-separated); see --list",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--server",
        choices=("subprocess", "thread"),
        default="subprocess",
        help="run the emulator in its own process (default) or in a thread of this one",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="results file (default: %(default)s)"
    )
    return parser


def _summary(sections: Sequence[Section]) -> str:
    verdicts = [(s.name, *v) for s in sections for v in s.verdicts()]
    passed = [v for v in verdicts if v[3] == "PASS"]
    missed = [v for v in verdicts if v[3] in ("MISS", "FAIL")]
    if not verdicts:
        return "summary: these benchmarks have no targets; the ratios above are the result"
    line = f"summary: {len(passed)} of {len(verdicts)} targets met"
    if missed:
        line += "; missed: " + "; ".join(f"{n} {label} {t} {v}" for n, label, t, v in missed)
    return line


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _load_families()
    if args.list:
        for bench in registered():
            print(f"{bench.name:<16} {bench.title}")
        return 0
    only = [name for item in args.only for name in item.split(",") if name]
    try:
        chosen = select(only)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for var in _TRACING_VARS:
        os.environ.pop(var, None)

    info = machine_info()
    print(describe(info))
    size = "quick" if args.quick else "full"
    print(f"{size} run of {len(chosen)} benchmark(s) (a measurement: exit status 0)\n", flush=True)
    ctx = Context(quick=args.quick, server=args.server)
    sections: list[Section] = []
    started = time.perf_counter()
    try:
        for bench in chosen:
            t0 = time.perf_counter()
            try:
                section = bench.run(ctx)
            except Exception as exc:  # one broken benchmark must not lose the others
                section = Section(bench.name, bench.title, [], [], notes=[f"FAILED: {exc!r}"])
            section.seconds = time.perf_counter() - t0
            sections.append(section)
            print(section.render(), end="\n\n", flush=True)
    finally:
        ctx.close()
    total = time.perf_counter() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": info,
        "run": {"quick": args.quick, "server": args.server, "only": only, "seconds": total},
        "sections": [s.to_json() for s in sections],
    }
    args.output.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(_summary(sections))
    print(f"total {total:.0f} s; results in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
