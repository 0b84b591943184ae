"""The worker's lock-down besides the audit hook: a restricted ``__import__``, unaudited calls.

The audit hook itself is in :mod:`polyvox.rlm.sandbox.audit`; this module holds the shared
messages and module sets, the ``__import__`` the REPL's builtins get (a clear ``ImportError``
for modules outside the allow-list), and :func:`remove_unaudited`, which takes away functions
that act outside the process without raising an audit event. The allow-list is advisory:
modules that are allowed (``typing``, ``random``) themselves reach ``sys`` and ``os``; the
kernel's confinement of the worker is the boundary.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = [
    "CTYPES",
    "CTYPES_MODULES",
    "INTERNAL_IMPORTS",
    "NETWORK",
    "NETWORK_MODULES",
    "PROCESS",
    "PROCESS_MODULES",
    "import_denial",
    "make_guarded_import",
    "remove_unaudited",
]

INTERNAL_IMPORTS = frozenset(
    {"_strptime", "time", "io", "_io", "warnings", "copyreg", "locale", "_locale", "calendar"}
)
"""Modules the interpreter's C code imports through the calling code's ``__import__``
(``date.strftime`` imports ``time``, ``strptime`` imports ``_strptime``). They are imported
before lock-down, and the restricted ``__import__`` lets them through when called the way C
code calls it (an empty list as ``fromlist``)."""

NETWORK = "network access is disabled in the RLM sandbox"
PROCESS = "starting processes is disabled in the RLM sandbox"
THREADS = "threads are disabled in the RLM sandbox"
CTYPES = "ctypes is disabled in the RLM sandbox"

NETWORK_MODULES = frozenset(
    {
        "socket", "_socket", "ssl", "_ssl", "http", "urllib", "urllib3", "ftplib", "smtplib",
        "poplib", "imaplib", "nntplib", "telnetlib", "socketserver", "xmlrpc", "asyncio",
        "requests", "httpx", "aiohttp", "websocket", "websockets",
    }
)  # fmt: skip
"""Top-level modules refused with the network message."""
PROCESS_MODULES = frozenset(
    {"subprocess", "_posixsubprocess", "multiprocessing", "_multiprocessing", "pty", "concurrent"}
)
"""Top-level modules refused with the process message."""
CTYPES_MODULES = frozenset({"ctypes", "_ctypes", "cffi"})
"""Top-level modules refused with the ctypes message."""

# Functions that act outside the process without raising an audit event.
_UNAUDITED: dict[str, tuple[str, ...]] = {
    "posix": (
        "mkfifo", "mknod", "chroot", "pidfd_open", "setpriority", "sched_setaffinity",
        "sched_setscheduler", "sched_setparam", "setns", "unshare",
    ),
    "os": (
        "mkfifo", "mknod", "chroot", "pidfd_open", "setpriority", "sched_setaffinity",
        "sched_setscheduler", "sched_setparam", "setns", "unshare",
    ),
    "_signal": ("pidfd_send_signal",),
    "signal": ("pidfd_send_signal",),
    "_imp": ("create_builtin",),
}  # fmt: skip


def import_denial(name: str, allowed: frozenset[str]) -> str:
    """The message for code that imports a module the sandbox does not allow.

    Args:
        name: The module asked for.
        allowed: The allowed top-level modules.

    Returns:
        A message naming the reason and the allowed modules.
    """
    top = name.partition(".")[0]
    if top in NETWORK_MODULES:
        reason = NETWORK
    elif top in PROCESS_MODULES:
        reason = PROCESS
    elif top in CTYPES_MODULES:
        reason = CTYPES
    else:
        reason = "only these modules can be imported: " + ", ".join(sorted(allowed))
    return f"import of {name!r} is not allowed in the RLM sandbox: {reason}"


def make_guarded_import(
    allowed: frozenset[str], real_import: Callable[..., ModuleType]
) -> Callable[..., ModuleType]:
    """An ``__import__`` for the REPL's builtins that admits only allowed top-level modules.

    It gives a clear ``ImportError``; the audit hook is what stops code that finds the real
    ``__import__`` another way.

    Args:
        allowed: Allowed top-level module names.
        real_import: The interpreter's ``__import__``.

    Returns:
        The restricted ``__import__``.
    """

    def guarded_import(
        name: str,
        globals: dict[str, Any] | None = None,
        locals: dict[str, Any] | None = None,
        fromlist: tuple[str, ...] | list[str] | None = (),
        level: int = 0,
    ) -> ModuleType:
        if level != 0:
            raise ImportError("relative imports are not available in the RLM sandbox")
        from_c = type(fromlist) is list and not fromlist
        if not isinstance(name, str) or (
            name.partition(".")[0] not in allowed and not (from_c and name in INTERNAL_IMPORTS)
        ):
            raise ImportError(import_denial(str(name), allowed))
        return real_import(name, globals, locals, fromlist, level)

    return guarded_import


def remove_unaudited() -> None:
    """Remove functions that reach outside the process without an audit event; stop threads.

    Call it after the worker's own threads are running and before :func:`install_audit_hook`.
    """
    for module_name, names in _UNAUDITED.items():
        module = sys.modules.get(module_name)
        if module is not None:
            for name in names:
                module.__dict__.pop(name, None)

    def no_threads(*args: object, **kwargs: object) -> None:
        raise PermissionError(THREADS)

    for module_name, name in (
        ("_thread", "start_new_thread"),
        ("_thread", "start_new"),
        ("_thread", "start_joinable_thread"),  # Python 3.13+
        ("threading", "_start_new_thread"),
        ("threading", "_start_joinable_thread"),
    ):
        module = sys.modules.get(module_name)
        if module is not None and name in module.__dict__:
            setattr(module, name, no_threads)
