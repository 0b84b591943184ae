"""The RLM's sandboxed REPL: a persistent Python process holding ``context``.

:class:`Sandbox` starts a locked-down worker process (kernel resource limits, an audit hook
refusing network, processes, ctypes and files outside its own temporary directory, an import
allow-list, a per-cell time limit and output cap) and runs cells of model-written code in it.
Names load lazily so that the worker, which imports this package, stays small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.rlm.sandbox.documents import DOCUMENT_SEPARATOR, join_documents
    from polyvox.rlm.sandbox.host import CellResult, Sandbox, SandboxError, SubcallHandler
    from polyvox.rlm.sandbox.limits import DEFAULT_ALLOWED_IMPORTS, SandboxLimits

_EXPORTS = {
    "CellResult": "polyvox.rlm.sandbox.host",
    "Sandbox": "polyvox.rlm.sandbox.host",
    "SandboxError": "polyvox.rlm.sandbox.host",
    "SubcallHandler": "polyvox.rlm.sandbox.host",
    "DEFAULT_ALLOWED_IMPORTS": "polyvox.rlm.sandbox.limits",
    "SandboxLimits": "polyvox.rlm.sandbox.limits",
    "DOCUMENT_SEPARATOR": "polyvox.rlm.sandbox.documents",
    "join_documents": "polyvox.rlm.sandbox.documents",
}

__all__ = [
    "DEFAULT_ALLOWED_IMPORTS",
    "DOCUMENT_SEPARATOR",
    "CellResult",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "SubcallHandler",
    "join_documents",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
