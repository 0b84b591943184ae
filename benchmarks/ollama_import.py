"""Import time: ``polyvox.ollama`` vs ``langchain_ollama``, in fresh interpreters.

Each variant runs as ``python -c "<import>"`` in a new process, the variants interleaved
round by round; the interpreter's own start-up (``python -c pass``, median) is subtracted.
``import polyvox.ollama`` is lazy (PEP 562) and nearly free; the first use of a name
(``from polyvox.ollama import ChatOllama``) pays for ``langchain-core``, which any
``BaseChatModel`` subclass needs, so that floor is measured too.
"""

from __future__ import annotations

from benchmarks.harness import (
    IMPORT_COLUMNS,
    Context,
    ImportComparison,
    Section,
    compare_imports,
    register,
)
from benchmarks.harness.imports import FLOOR

IMPORTS = ImportComparison(
    lc_module="import langchain_ollama",
    # langchain_ollama imports ChatOllama eagerly: --quick skips this row, the two cost the same
    lc_class="from langchain_ollama import ChatOllama",
    pv_module="import polyvox.ollama",
    pv_class="from polyvox.ollama import ChatOllama",
    pv_ready="  + import ollama (all a first call needs)",
    sdk_import="import ollama",
    langchain_package="langchain-ollama",
)


@register("ollama.import", "import time: polyvox.ollama vs langchain_ollama", order=53)
def import_time(ctx: Context) -> Section:
    result = compare_imports(ctx, IMPORTS)
    net, lc_class = result.net, result.lc_class
    pv_over, lc_over = result.over_floor(IMPORTS.pv_class), result.over_floor(lc_class)
    ready_over = result.over_floor(IMPORTS.pv_ready)
    return Section(
        name="ollama.import",
        title="import time in a fresh interpreter",
        columns=IMPORT_COLUMNS,
        rows=result.rows,
        setup=result.setup,
        notes=[
            f"over the langchain-core floor, ChatOllama costs {pv_over:+,.0f} ms with polyvox "
            f"({ready_over:+,.0f} ms with the ollama SDK loaded) and {lc_over:+,.0f} ms with "
            "langchain-ollama",
            "`import polyvox.ollama` is lazy; the honest figure is the first use of "
            "ChatOllama, bounded below by the langchain-core floor "
            f"({net[FLOOR] / net[lc_class]:.2f} of langchain-ollama here)",
            "polyvox loads the ollama SDK (and httpx) at the first request, not at import: "
            "the '+ import ollama' row is what a process pays before its first call",
            "no target is set for Ollama (the OpenAI family's 'a third of langchain' does "
            "not apply); the ratios are reported only",
        ],
    )
