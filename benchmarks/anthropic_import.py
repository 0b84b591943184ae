"""Import time and memory: ``polyvox.anthropic`` vs ``langchain_anthropic``, fresh interpreters.

Each variant runs as ``python -c "<import>"`` in a new process, the variants interleaved
round by round; the interpreter's own start-up (``python -c pass``, median) is subtracted.
``import polyvox.anthropic`` is lazy (PEP 562) and nearly free; the first use of a name
(``from polyvox.anthropic import ChatAnthropic``) pays for ``langchain-core``, which any
``BaseChatModel`` subclass needs, so that floor is measured too. The memory each import
leaves (peak resident set of the process, over a bare interpreter's) is given in the notes.
"""

from __future__ import annotations

from benchmarks.harness import (
    IMPORT_COLUMNS,
    Context,
    ImportComparison,
    Section,
    Target,
    compare_imports,
    register,
)
from benchmarks.harness.imports import FLOOR
from benchmarks.harness.memory import memory_note

IMPORTS = ImportComparison(
    lc_module="import langchain_anthropic",
    # langchain_anthropic imports ChatAnthropic eagerly: --quick skips this row
    lc_class="from langchain_anthropic import ChatAnthropic",
    pv_module="import polyvox.anthropic",
    pv_class="from polyvox.anthropic import ChatAnthropic",
    pv_ready="  + import anthropic (all a first call needs)",
    sdk_import="import anthropic",
    langchain_package="langchain-anthropic",
)


def _memory_note(runs: int) -> str:
    return memory_note(
        {
            "langchain-core floor": FLOOR,
            "langchain_anthropic": IMPORTS.lc_module,
            "polyvox ChatAnthropic": IMPORTS.pv_class,
            "polyvox + anthropic SDK": f"{IMPORTS.pv_class}; {IMPORTS.sdk_import}",
        },
        runs,
    )


@register(
    "anthropic.import",
    "import time and memory: polyvox.anthropic vs langchain_anthropic",
    order=57,
)
def import_time(ctx: Context) -> Section:
    target = Target("ratio", "<=", 1 / 3, "≤ 1/3 of langchain")
    result = compare_imports(ctx, IMPORTS, target)
    net, lc_class = result.net, result.lc_class
    pv_over, lc_over = result.over_floor(IMPORTS.pv_class), result.over_floor(lc_class)
    ready_over = result.over_floor(IMPORTS.pv_ready)
    return Section(
        name="anthropic.import",
        title="import time in a fresh interpreter",
        columns=IMPORT_COLUMNS,
        rows=result.rows,
        setup=result.setup,
        notes=[
            f"over the langchain-core floor, ChatAnthropic costs {pv_over:+,.0f} ms with "
            f"polyvox ({ready_over:+,.0f} ms with the anthropic SDK loaded) and "
            f"{lc_over:+,.0f} ms with langchain-anthropic",
            "`import polyvox.anthropic` is lazy: it meets 'a third' trivially; the honest "
            "figure is the first use of ChatAnthropic, bounded below by the langchain-core "
            f"floor ({net[FLOOR] / net[lc_class]:.2f} of langchain-anthropic here)",
            "polyvox loads the anthropic SDK at the first request, not at import: the "
            "'+ import anthropic' row is what a process pays before its first call",
            _memory_note(ctx.scale(3, 1)),
        ],
    )
