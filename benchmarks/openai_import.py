"""Import time: ``polyvox.openai`` vs ``langchain_openai``, in fresh interpreters.

Each variant runs as ``python -c "<import>"`` in a new process, the variants interleaved
round by round; the interpreter's own start-up (``python -c pass``, median) is subtracted.
``import polyvox.openai`` is lazy (PEP 562) and nearly free; the first use of a name
(``from polyvox.openai import ChatOpenAI``) pays for ``langchain-core``, which any
``BaseChatModel`` subclass needs, so that floor is measured too.
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

IMPORTS = ImportComparison(
    lc_module="import langchain_openai",
    # langchain_openai imports ChatOpenAI eagerly: --quick skips this row, the two cost the same
    lc_class="from langchain_openai import ChatOpenAI",
    pv_module="import polyvox.openai",
    pv_class="from polyvox.openai import ChatOpenAI",
    pv_ready="  + import openai (all a first call needs)",
    sdk_import="import openai",
    langchain_package="langchain-openai",
)


@register("openai.import", "import time: polyvox.openai vs langchain_openai", order=40)
def import_time(ctx: Context) -> Section:
    target = Target("ratio", "<=", 1 / 3, "≤ 1/3 of langchain")
    result = compare_imports(ctx, IMPORTS, target)
    net, lc_class = result.net, result.lc_class
    pv_over, lc_over = result.over_floor(IMPORTS.pv_class), result.over_floor(lc_class)
    return Section(
        name="openai.import",
        title="import time in a fresh interpreter",
        columns=IMPORT_COLUMNS,
        rows=result.rows,
        setup=result.setup,
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
