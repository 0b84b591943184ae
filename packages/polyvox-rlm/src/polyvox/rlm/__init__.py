"""polyvox.rlm: the Recursive Language Model (arXiv 2512.24601) for inputs beyond any window.

The long input is never put in the root model's context: it is the variable ``context`` in
a sandboxed Python REPL, the root model writes code that inspects, searches and slices it,
and calls models on the pieces (``llm_query``) or recursive child RLMs (``rlm_query``).
``RecursiveLanguageModel`` is a LangChain Runnable; ``RLMQueryEngine`` (in
:mod:`polyvox.rlm.llamaindex`) is its LlamaIndex query engine; ``RLMEngine`` and
``RLMConfig`` are the seed API's names over it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.rlm.accounting import UsageReport, UsageTotals
    from polyvox.rlm.engine import RLMConfig, RLMEngine
    from polyvox.rlm.errors import (
        CostLimitError,
        IterationLimitError,
        LiveSandboxLimitError,
        RLMError,
        RLMLimitError,
        TimeLimitError,
        TokenLimitError,
    )
    from polyvox.rlm.inputs import RLMInput, RLMResult
    from polyvox.rlm.rlm import RecursiveLanguageModel
    from polyvox.rlm.routing import rlm_large_input_handler, should_use_rlm
    from polyvox.rlm.sandbox import (
        CellResult,
        Sandbox,
        SandboxError,
        SandboxLimits,
        SandboxReport,
        sandbox_report,
    )
    from polyvox.rlm.search import bm25_search, regex_search
    from polyvox.rlm.settings import RLMSettings
    from polyvox.rlm.trajectory import Step, SubCall, Trajectory, read_trajectories
    from polyvox.rlm.windows import context_window_of

_ERRORS = "polyvox.rlm.errors"
_SANDBOX = "polyvox.rlm.sandbox"
_TRAJECTORY = "polyvox.rlm.trajectory"

_EXPORTS = {
    "CellResult": _SANDBOX,
    "CostLimitError": _ERRORS,
    "IterationLimitError": _ERRORS,
    "LiveSandboxLimitError": _ERRORS,
    "RLMConfig": "polyvox.rlm.engine",
    "RLMEngine": "polyvox.rlm.engine",
    "RLMError": _ERRORS,
    "RLMInput": "polyvox.rlm.inputs",
    "RLMLimitError": _ERRORS,
    "RLMResult": "polyvox.rlm.inputs",
    "RLMSettings": "polyvox.rlm.settings",
    "RecursiveLanguageModel": "polyvox.rlm.rlm",
    "Sandbox": _SANDBOX,
    "SandboxError": _SANDBOX,
    "SandboxLimits": _SANDBOX,
    "SandboxReport": _SANDBOX,
    "Step": _TRAJECTORY,
    "SubCall": _TRAJECTORY,
    "TimeLimitError": _ERRORS,
    "TokenLimitError": _ERRORS,
    "Trajectory": _TRAJECTORY,
    "UsageReport": "polyvox.rlm.accounting",
    "UsageTotals": "polyvox.rlm.accounting",
    "bm25_search": "polyvox.rlm.search",
    "context_window_of": "polyvox.rlm.windows",
    "read_trajectories": _TRAJECTORY,
    "regex_search": "polyvox.rlm.search",
    "rlm_large_input_handler": "polyvox.rlm.routing",
    "sandbox_report": _SANDBOX,
    "should_use_rlm": "polyvox.rlm.routing",
}

__all__ = [
    "CellResult",
    "CostLimitError",
    "IterationLimitError",
    "LiveSandboxLimitError",
    "RLMConfig",
    "RLMEngine",
    "RLMError",
    "RLMInput",
    "RLMLimitError",
    "RLMResult",
    "RLMSettings",
    "RecursiveLanguageModel",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "SandboxReport",
    "Step",
    "SubCall",
    "TimeLimitError",
    "TokenLimitError",
    "Trajectory",
    "UsageReport",
    "UsageTotals",
    "bm25_search",
    "context_window_of",
    "read_trajectories",
    "regex_search",
    "rlm_large_input_handler",
    "sandbox_report",
    "should_use_rlm",
]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
