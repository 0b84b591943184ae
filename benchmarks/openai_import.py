"""Import time: ``polyvox.openai`` vs ``langchain_openai``, in fresh interpreters.

Each variant runs as ``python -c "<import>"`` in a new process, the variants interleaved
round by round; the interpreter's own start-up (``python -c pass``, median) is subtracted.
``import polyvox.openai`` is lazy (PEP 562) and nearly free; the first use of a name
(``from polyvox.openai import ChatOpenAI``) pays for ``langchain-core``, which any
``BaseChatModel`` subclass needs, so that floor is measured too.
"""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks.harness import Column, Context, Row, Section, Summary, Target, register

START = "python -c pass"
FLOOR = "import langchain_core.language_models.chat_models"
LC_MODULE = "import langchain_openai"
LC_CLASS = "from langchain_openai import ChatOpenAI"
PV_MODULE = "import polyvox.openai"
PV_CLASS = "from polyvox.openai import ChatOpenAI"
PV_READY = "  + import openai (all a first call needs)"

OVER_FLOOR = (LC_MODULE, LC_CLASS, PV_CLASS, PV_READY)

CODE = {
    START: "pass",
    FLOOR: FLOOR,
    LC_MODULE: LC_MODULE,
    LC_CLASS: LC_CLASS,
    PV_MODULE: PV_MODULE,
    PV_CLASS: PV_CLASS,
    PV_READY: f"{PV_CLASS}; import openai",
}


def _time_ms(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return (time.perf_counter() - t0) * 1e3


def _measure(labels: list[str], rounds: int, warmup: int) -> dict[str, list[float]]:
    for _ in range(warmup):  # byte-code caches, the OS page cache
        for label in labels:
            _time_ms(CODE[label])
    samples: dict[str, list[float]] = {label: [] for label in labels}
    for r in range(rounds):
        for label in labels[r % len(labels) :] + labels[: r % len(labels)]:
            samples[label].append(_time_ms(CODE[label]))
    return samples


@register("openai.import", "import time: polyvox.openai vs langchain_openai", order=40)
def import_time(ctx: Context) -> Section:
    rounds, warmup = ctx.scale(5, 2), ctx.scale(1, 0)
    labels = list(CODE)
    if ctx.quick:  # langchain_openai imports ChatOpenAI eagerly: the two cost the same
        labels.remove(LC_CLASS)
    lc_class = LC_CLASS if LC_CLASS in labels else LC_MODULE
    compare = {PV_MODULE: LC_MODULE, PV_CLASS: lc_class, PV_READY: lc_class}
    samples = _measure(labels, rounds, warmup)

    stats = {label: Summary.of(values) for label, values in samples.items()}
    net = {label: s.median - stats[START].median for label, s in stats.items()}
    target = Target("ratio", "<=", 1 / 3, "≤ 1/3 of langchain")
    rows = []
    for label in labels:
        values: dict[str, float | int | str | None] = {
            "median_ms": stats[label].median,
            "min_ms": stats[label].minimum,
            "max_ms": max(samples[label]),
            "net_ms": None if label == START else net[label],
            "over_floor_ms": (
                net[label] - net[FLOOR]
                if label in (LC_MODULE, LC_CLASS, PV_CLASS, PV_READY)
                else None
            ),
            "ratio": net[label] / net[compare[label]] if label in compare else None,
        }
        rows.append(Row(label, values, target if label in (PV_MODULE, PV_CLASS) else None))

    pv_over, lc_over = net[PV_CLASS] - net[FLOOR], net[lc_class] - net[FLOOR]
    return Section(
        name="openai.import",
        title="import time in a fresh interpreter",
        columns=[
            Column("median_ms", "median ms"),
            Column("min_ms", "min ms"),
            Column("max_ms", "max ms"),
            Column("net_ms", "net ms"),
            Column("over_floor_ms", "over core floor ms", lambda v: f"{v:+,.0f}"),
            Column("ratio", "vs langchain", "{:.2f}"),
        ],
        rows=rows,
        setup=[
            f"{rounds} fresh `python -c` processes per variant, interleaved, after {warmup} "
            "warm-up round(s); net = median - median(python -c pass)",
            f"core floor = net time of `{FLOOR}` (paid by any BaseChatModel subclass)",
            "vs langchain = polyvox net / net of the matching langchain-openai import",
        ],
        notes=[
            f"over the langchain-core floor, ChatOpenAI costs {pv_over:+,.0f} ms with polyvox "
            f"and {lc_over:+,.0f} ms with langchain-openai",
            "`import polyvox.openai` is lazy: it meets 'a third' trivially; the honest "
            "figure is the first use of ChatOpenAI, bounded below by the langchain-core "
            f"floor ({net[FLOOR] / net[lc_class]:.2f} of langchain-openai here)",
            "polyvox loads the openai SDK at the first request, not at import: the "
            "'+ import openai' row is what a process pays before its first call",
        ],
    )
