"""Import time: ``polyvox.huggingface`` over the langchain-core floor, in fresh interpreters.

Each variant runs as ``python -c "<import>"`` in a new process, the variants interleaved
round by round; the interpreter's own start-up (``python -c pass``, median) is subtracted.
``import polyvox.huggingface`` is lazy (PEP 562); the first use of a name
(``from polyvox.huggingface import ChatHuggingFace``) pays for ``langchain-core``, which any
``BaseChatModel`` subclass needs (the floor), and polyvox imports ``huggingface_hub``'s
inference client at the first call. langchain-huggingface, the anchor, cannot be installed
with ``huggingface-hub`` 2 (its 1.2.3 requires ``huggingface-hub<2``), so the comparison is
with the floor and with the SDK's own import, not with the anchor.
"""

from __future__ import annotations

from benchmarks.harness import IMPORT_COLUMNS, Context, Row, Section, Summary, register
from benchmarks.harness.imports import FLOOR, START, time_imports

PV_MODULE = "import polyvox.huggingface"
PV_CLASS = "from polyvox.huggingface import ChatHuggingFace"
PV_READY = "  + from huggingface_hub import InferenceClient (all a first call needs)"
SDK = "from huggingface_hub import InferenceClient"

CODE = {
    START: "pass",
    FLOOR: FLOOR,
    SDK: SDK,
    PV_MODULE: PV_MODULE,
    PV_CLASS: PV_CLASS,
    PV_READY: f"{PV_CLASS}; {SDK}",
}


@register("huggingface.import", "import time: polyvox.huggingface over the floor", order=73)
def import_time(ctx: Context) -> Section:
    rounds, warmup = ctx.scale(5, 2), ctx.scale(1, 0)
    samples = time_imports(CODE, rounds, warmup)
    stats = {label: Summary.of(values) for label, values in samples.items()}
    net = {label: s.median - stats[START].median for label, s in stats.items()}
    rows = [
        Row(
            label,
            {
                "median_ms": stats[label].median,
                "min_ms": stats[label].minimum,
                "max_ms": max(samples[label]),
                "net_ms": None if label == START else net[label],
                "over_floor_ms": net[label] - net[FLOOR] if label in (PV_CLASS, PV_READY) else None,
                "ratio": None,
            },
        )
        for label in CODE
    ]
    return Section(
        name="huggingface.import",
        title="import time in a fresh interpreter",
        columns=IMPORT_COLUMNS,
        rows=rows,
        setup=[
            f"{rounds} fresh `python -c` processes per variant, interleaved, after {warmup} "
            "warm-up round(s); net = median - median(python -c pass)",
            f"core floor = net time of `{FLOOR}` (paid by any BaseChatModel subclass)",
        ],
        notes=[
            f"ChatHuggingFace costs {net[PV_CLASS] - net[FLOOR]:+,.0f} ms over the langchain-core "
            f"floor ({net[PV_READY] - net[FLOOR]:+,.0f} ms with the SDK's InferenceClient "
            f"loaded; the SDK alone: {net[SDK]:,.0f} ms)",
            "no langchain-huggingface row (the 'vs langchain' column is empty): it requires "
            "huggingface-hub<2 and cannot be installed beside polyvox-huggingface",
        ],
    )
