"""The sandbox's limits and the kernel resource limits that enforce some of them.

:class:`SandboxLimits` is what callers configure. :func:`rlimit_setter` builds the function the
host runs in the forked child before ``exec`` (``preexec_fn``): address space (memory), CPU
seconds, file size, open files and core dumps. The process-count limit (``RLIMIT_NPROC``,
against fork bombs) is set by the worker itself to 0 once its watchdog thread runs: the
limit counts every process and thread of the user, so any value set before ``exec`` would
either be too high to matter or stop the worker from starting its own thread.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from polyvox.rlm.sandbox.isolation import Isolation

if sys.platform != "win32":
    import resource

__all__ = [
    "DEFAULT_ALLOWED_IMPORTS",
    "FILE_SIZE_LIMIT_BYTES",
    "OPEN_FILES_LIMIT",
    "SandboxLimits",
    "rlimit_setter",
]

DEFAULT_ALLOWED_IMPORTS: frozenset[str] = frozenset(
    {
        "re",
        "json",
        "math",
        "collections",
        "itertools",
        "functools",
        "statistics",
        "string",
        "textwrap",
        "datetime",
        "heapq",
        "bisect",
        "random",
        "typing",
        "dataclasses",
        "difflib",
        "unicodedata",
        "operator",
        "fractions",
        "decimal",
        "enum",
        "copy",
        "pprint",
    }
)
"""Modules the REPL's code may import (all from the standard library, none with I/O)."""

FILE_SIZE_LIMIT_BYTES = 16 * 1024 * 1024
"""Largest file the worker may write (``RLIMIT_FSIZE``, lowered to ``disk_mb`` when that is
smaller); a bigger write fails with EFBIG."""

OPEN_FILES_LIMIT = 64
"""Most file descriptors the worker may hold at once (``RLIMIT_NOFILE``)."""

_CPU_HARD_MARGIN_S = 5
"""Seconds between the CPU soft limit (SIGXCPU) and the hard one (SIGKILL)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one sandbox's REPL process."""

    cell_timeout_s: float = 30.0
    """Seconds a cell's own code may run, not counting time spent waiting for sub-calls (those
    are bounded by the engine's limits). At the deadline the cell is interrupted and the REPL
    keeps its variables; a worker that does not stop soon after is killed and replaced, and
    its variables are lost."""
    memory_mb: int = 2048
    """Address-space limit of the worker process (``RLIMIT_AS``), in MiB."""
    cpu_s: int = 300
    """Total CPU seconds of one worker process (``RLIMIT_CPU``); a worker past it is replaced."""
    output_chars: int = 20_000
    """Characters of stdout and stderr kept per cell; the rest is dropped inside the worker."""
    max_subcalls_per_cell: int = 1000
    """Most prompts one cell may send through ``llm_query``, ``llm_query_batched`` and
    ``rlm_query`` together."""
    allowed_imports: frozenset[str] = field(default=DEFAULT_ALLOWED_IMPORTS)
    """Top-level modules the REPL's code may import (they are imported before lock-down).
    Advisory: allowed modules themselves reach ``sys`` and ``os``; the kernel's confinement
    of the worker (see ``isolation``) is the boundary."""
    disk_mb: int = 256
    """Most MiB the files in the worker's working directory may hold together. Checked
    (by the audit hook) each time a file is created or opened for writing, or a directory is
    made; a write to a file already open is bounded by the per-file limit
    (``RLIMIT_FSIZE``, the smaller of :data:`FILE_SIZE_LIMIT_BYTES` and ``disk_mb``), so the
    directory can exceed ``disk_mb`` by at most one file size per open descriptor."""
    max_files: int = 1000
    """Most files and directories the worker's working directory may hold (checked when one
    is created)."""
    isolation: Isolation = "kernel"
    """``"kernel"`` (the default): the worker is confined by the operating system (seccomp,
    Landlock where the kernel has it, an unprivileged uid when started by root, death with
    the host), and a sandbox refuses to start where seccomp is unavailable. ``"process"``: an
    explicit opt-in to weaker isolation for such machines (no seccomp, no Landlock; a warning
    is logged on every start). See :func:`polyvox.rlm.sandbox.sandbox_report`."""

    def __post_init__(self) -> None:
        """Check that every limit is positive.

        Raises:
            ValueError: For a limit out of range.
        """
        if not self.cell_timeout_s > 0:
            raise ValueError("cell_timeout_s must be > 0")
        if self.memory_mb < 64:
            raise ValueError("memory_mb must be >= 64 (the interpreter needs some)")
        if self.cpu_s < 1:
            raise ValueError("cpu_s must be >= 1")
        if self.output_chars < 1:
            raise ValueError("output_chars must be >= 1")
        if self.max_subcalls_per_cell < 0:
            raise ValueError("max_subcalls_per_cell must be >= 0")
        if self.disk_mb < 1:
            raise ValueError("disk_mb must be >= 1")
        if self.max_files < 1:
            raise ValueError("max_files must be >= 1")
        if self.isolation not in ("kernel", "process"):
            raise ValueError(f"isolation must be 'kernel' or 'process', not {self.isolation!r}")
        names = frozenset(self.allowed_imports)
        if any(not name or "." in name for name in names):
            raise ValueError("allowed_imports holds top-level module names (no dots)")
        object.__setattr__(self, "allowed_imports", names)


def rlimit_setter(limits: SandboxLimits) -> Callable[[], None]:
    """The ``preexec_fn`` that applies the kernel limits in the child before ``exec``.

    It only calls ``resource.setrlimit`` with values computed here, in the parent: no imports,
    no allocation worth mentioning, nothing that could wait on a lock another thread of the
    parent held at fork time.

    Args:
        limits: The sandbox's limits.

    Returns:
        A callable taking no arguments.
    """
    memory = limits.memory_mb * 1024 * 1024
    file_size = min(FILE_SIZE_LIMIT_BYTES, limits.disk_mb * 1024 * 1024)
    settings = tuple(
        (which, _within_hard_limit(which, soft, hard))
        for which, soft, hard in (
            (resource.RLIMIT_AS, memory, memory),
            (resource.RLIMIT_CPU, limits.cpu_s, limits.cpu_s + _CPU_HARD_MARGIN_S),
            (resource.RLIMIT_FSIZE, file_size, file_size),
            (resource.RLIMIT_NOFILE, OPEN_FILES_LIMIT, OPEN_FILES_LIMIT),
            (resource.RLIMIT_CORE, 0, 0),
        )
    )
    setrlimit = resource.setrlimit

    def apply() -> None:
        for which, values in settings:
            setrlimit(which, values)

    return apply


def _within_hard_limit(which: int, soft: int, hard: int) -> tuple[int, int]:
    """``(soft, hard)`` lowered to the parent's own hard limit, which a child cannot exceed."""
    current = resource.getrlimit(which)[1]
    if current != resource.RLIM_INFINITY:
        hard = min(hard, current)
        soft = min(soft, hard)
    return soft, hard
