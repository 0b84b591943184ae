"""Import time and memory: ``polyvox.gigachat`` vs ``langchain_gigachat``, fresh interpreters.

Each variant runs as ``python -c "<import>"`` in a new process, the variants interleaved
round by round; the interpreter's own start-up (``python -c pass``, median) is subtracted.
``import polyvox.gigachat`` is lazy (PEP 562) and nearly free; the first use of a name
(``from polyvox.gigachat import GigaChat``) pays for ``langchain-core``, which any
``BaseChatModel`` subclass needs, so that floor is measured too. langchain-gigachat imports
the ``gigachat`` SDK at import; polyvox at the first call. The memory each import leaves
(peak resident set over a bare interpreter's) is given in the notes.
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
    lc_module="import langchain_gigachat",
    # langchain_gigachat imports its chat model eagerly: --quick skips this row
    lc_class="from langchain_gigachat import GigaChat",
    pv_module="import polyvox.gigachat",
    pv_class="from polyvox.gigachat import GigaChat",
    pv_ready="  + import gigachat (all a first call needs)",
    sdk_import="import gigachat",
    langchain_package="langchain-gigachat",
)


@register("gigachat.import", "import time and memory: polyvox.gigachat vs langchain_gigachat",
          order=67)  # fmt: skip
def import_time(ctx: Context) -> Section:
    target = Target("ratio", "<=", 1, "below langchain-gigachat")
    result = compare_imports(ctx, IMPORTS, target)
    net, lc_class = result.net, result.lc_class
    pv_over, lc_over = result.over_floor(IMPORTS.pv_class), result.over_floor(lc_class)
    ready_over = result.over_floor(IMPORTS.pv_ready)
    memory = memory_note(
        {
            "langchain-core floor": FLOOR,
            "langchain_gigachat": IMPORTS.lc_module,
            "polyvox GigaChat": IMPORTS.pv_class,
            "polyvox + gigachat SDK": f"{IMPORTS.pv_class}; {IMPORTS.sdk_import}",
        },
        ctx.scale(3, 1),
    )
    return Section(
        name="gigachat.import",
        title="import time in a fresh interpreter",
        columns=IMPORT_COLUMNS,
        rows=result.rows,
        setup=result.setup,
        notes=[
            f"over the langchain-core floor, GigaChat costs {pv_over:+,.0f} ms with polyvox "
            f"({ready_over:+,.0f} ms with the gigachat SDK loaded) and {lc_over:+,.0f} ms "
            "with langchain-gigachat",
            "`import polyvox.gigachat` is lazy; the honest figure is the first use of "
            "GigaChat, bounded below by the langchain-core floor "
            f"({net[FLOOR] / net[lc_class]:.2f} of langchain-gigachat here)",
            "the issue's target: above the langchain-core floor and below the anchor "
            "package (ratio ≤ 1 of langchain-gigachat)",
            memory,
        ],
    )
