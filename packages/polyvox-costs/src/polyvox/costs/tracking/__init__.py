"""Cost tracking through callbacks: every model call, priced, into the ledger.

``CostCallbackHandler`` for LangChain runs, ``LlamaIndexCostHandler`` (with
``track_llamaindex_costs``) for LlamaIndex LLMs (the ``llamaindex`` extra), both writing
``CallRecord`` s through one ``CallRecorder``; ``attribution_from`` reads workspace, agent
and execution ids (and any user keys) from a run's metadata and tags.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.costs.tracking.attribution import ATTRIBUTION_KEYS, Attribution, attribution_from
    from polyvox.costs.tracking.langchain_handler import CostCallbackHandler
    from polyvox.costs.tracking.llamaindex_handler import (
        LlamaIndexCostHandler,
        track_llamaindex_costs,
    )
    from polyvox.costs.tracking.recorder import CallRecorder, ObservedCall, default_ledger

_EXPORTS = {
    "ATTRIBUTION_KEYS": "polyvox.costs.tracking.attribution",
    "Attribution": "polyvox.costs.tracking.attribution",
    "CallRecorder": "polyvox.costs.tracking.recorder",
    "CostCallbackHandler": "polyvox.costs.tracking.langchain_handler",
    "LlamaIndexCostHandler": "polyvox.costs.tracking.llamaindex_handler",
    "ObservedCall": "polyvox.costs.tracking.recorder",
    "attribution_from": "polyvox.costs.tracking.attribution",
    "default_ledger": "polyvox.costs.tracking.recorder",
    "track_llamaindex_costs": "polyvox.costs.tracking.llamaindex_handler",
}

__all__ = [
    "ATTRIBUTION_KEYS",
    "Attribution",
    "CallRecorder",
    "CostCallbackHandler",
    "LlamaIndexCostHandler",
    "ObservedCall",
    "attribution_from",
    "default_ledger",
    "track_llamaindex_costs",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
