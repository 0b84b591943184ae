"""Import time: ``polyvox.google`` vs ``langchain_google_genai``, in fresh interpreters.

Each variant runs as ``python -c "<import>"`` in a new process, the variants interleaved
round by round; the interpreter's own start-up (``python -c pass``, median) is subtracted.
``import polyvox.google`` is lazy (PEP 562) and nearly free; the first use of a name
(``from polyvox.google import ChatGoogleGenerativeAI``) pays for ``langchain-core``, which
any ``BaseChatModel`` subclass needs, so that floor is measured too. polyvox imports
``google.genai`` at the first call, langchain-google-genai at import.
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
    lc_module="import langchain_google_genai",
    # langchain_google_genai imports its chat model eagerly: --quick skips this row
    lc_class="from langchain_google_genai import ChatGoogleGenerativeAI",
    pv_module="import polyvox.google",
    pv_class="from polyvox.google import ChatGoogleGenerativeAI",
    pv_ready="  + import google.genai (all a first call needs)",
    sdk_import="from google import genai",
    langchain_package="langchain-google-genai",
)


@register("google.import", "import time: polyvox.google vs langchain_google_genai", order=63)
def import_time(ctx: Context) -> Section:
    target = Target("ratio", "<=", 1, "below langchain-google-genai")
    result = compare_imports(ctx, IMPORTS, target)
    net, lc_class = result.net, result.lc_class
    pv_over, lc_over = result.over_floor(IMPORTS.pv_class), result.over_floor(lc_class)
    ready_over = result.over_floor(IMPORTS.pv_ready)
    return Section(
        name="google.import",
        title="import time in a fresh interpreter",
        columns=IMPORT_COLUMNS,
        rows=result.rows,
        setup=result.setup,
        notes=[
            "over the langchain-core floor, ChatGoogleGenerativeAI costs "
            f"{pv_over:+,.0f} ms with polyvox ({ready_over:+,.0f} ms with google.genai "
            f"loaded) and {lc_over:+,.0f} ms with langchain-google-genai",
            "`import polyvox.google` is lazy; the honest figure is the first use of "
            "ChatGoogleGenerativeAI, bounded below by the langchain-core floor "
            f"({net[FLOOR] / net[lc_class]:.2f} of langchain-google-genai here)",
            "the issue's target: above the langchain-core floor and below the anchor "
            "package (ratio ≤ 1 of langchain-google-genai)",
        ],
    )
