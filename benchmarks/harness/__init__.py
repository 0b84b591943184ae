"""The benchmark harness shared by every family.

A family module registers its benchmarks::

    from benchmarks.harness import Context, Section, register


    @register("ollama.invoke", "Ollama invoke()", network=True)
    def invoke(ctx: Context) -> Section: ...

and builds its :class:`Section` from :func:`interleave` samples and :class:`Summary`
statistics; ``python -m benchmarks`` prints it and writes it to the results file.
"""

from benchmarks.harness.compare import (
    CONNECT_COLUMNS,
    LATENCY_COLUMNS,
    THROUGHPUT_COLUMNS,
    Batch,
    latency_rows,
    latency_setup,
    measure_batches,
    probe,
    throughput_rows,
    throughput_setup,
    with_connects,
)
from benchmarks.harness.context import Context
from benchmarks.harness.imports import (
    IMPORT_COLUMNS,
    ImportComparison,
    ImportResult,
    compare_imports,
)
from benchmarks.harness.network import connects_per_call
from benchmarks.harness.registry import Benchmark, register, registered, select
from benchmarks.harness.report import Column, Row, Section, Target
from benchmarks.harness.stats import Summary, diff_ci_halfwidth, percentile
from benchmarks.harness.timing import Samples, interleave, interleave_async

__all__ = [
    "CONNECT_COLUMNS",
    "IMPORT_COLUMNS",
    "LATENCY_COLUMNS",
    "THROUGHPUT_COLUMNS",
    "Batch",
    "Benchmark",
    "Column",
    "Context",
    "ImportComparison",
    "ImportResult",
    "Row",
    "Samples",
    "Section",
    "Summary",
    "Target",
    "compare_imports",
    "connects_per_call",
    "diff_ci_halfwidth",
    "interleave",
    "interleave_async",
    "latency_rows",
    "latency_setup",
    "measure_batches",
    "percentile",
    "probe",
    "register",
    "registered",
    "select",
    "throughput_rows",
    "throughput_setup",
    "with_connects",
]
