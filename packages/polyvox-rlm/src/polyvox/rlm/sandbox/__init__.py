"""The RLM's sandboxed REPL: a persistent Python process holding ``context``.

:class:`Sandbox` starts a worker process confined by the kernel (a seccomp filter, Landlock,
an unprivileged uid, death with the host, resource limits), with an audit hook, an import
allow-list, a per-cell time limit and an output cap inside as defence in depth, and runs
cells of model-written code in it. :func:`sandbox_report` says which layers this machine gives.
Names load lazily so that the worker, which imports this package, stays small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.rlm.sandbox.documents import DOCUMENT_SEPARATOR, join_documents
    from polyvox.rlm.sandbox.host import Sandbox, SandboxError
    from polyvox.rlm.sandbox.isolation import SandboxReport, sandbox_report
    from polyvox.rlm.sandbox.limits import DEFAULT_ALLOWED_IMPORTS, SandboxLimits
    from polyvox.rlm.sandbox.results import CellResult
    from polyvox.rlm.sandbox.subcalls import SubcallHandler

_EXPORTS = {
    "CellResult": "polyvox.rlm.sandbox.results",
    "Sandbox": "polyvox.rlm.sandbox.host",
    "SandboxError": "polyvox.rlm.sandbox.host",
    "SubcallHandler": "polyvox.rlm.sandbox.subcalls",
    "DEFAULT_ALLOWED_IMPORTS": "polyvox.rlm.sandbox.limits",
    "SandboxLimits": "polyvox.rlm.sandbox.limits",
    "SandboxReport": "polyvox.rlm.sandbox.isolation",
    "sandbox_report": "polyvox.rlm.sandbox.isolation",
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
    "SandboxReport",
    "SubcallHandler",
    "join_documents",
    "sandbox_report",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
