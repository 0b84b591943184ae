"""The worker's lock-down: an audit hook, a restricted ``__import__``, and unaudited calls removed.

:func:`install_audit_hook` adds a ``sys.addaudithook`` hook (PEP 578) that, from then on,
refuses with ``PermissionError``:

- network access (every ``socket.*`` event and the standard network clients);
- starting processes (``subprocess.Popen``, ``os.system``, ``os.exec*``, ``os.posix_spawn``,
  ``os.spawn*``, ``os.fork``, ``os.forkpty``) and signals to other processes;
- ``ctypes``, debuggers, trace/profile/audit hooks, garbage-collector introspection, changing
  resource limits, SQLite, syslog, mapping files into memory;
- building code objects from bytes (``code.__new__``/``code.replace``, ``marshal.loads``):
  hand-made bytecode can corrupt the interpreter's memory, so only ``compile`` makes code;
- file access outside the worker's working directory, except reading the standard library's
  ``.py`` files (tracebacks show their lines);

and refuses with ``ImportError`` loading any module that was not loaded before lock-down
(the worker imports the allowed modules and every codec first).

The hook is written to resist code that walks frames and tracebacks: it is one function with
no nested functions, it keeps only immutable values (strings, tuples, frozensets, builtins)
in its closure, looks up no globals at call time, and no reference to it survives
installation (``gc`` introspection is refused). Audit hooks are not a security boundary on
their own (PEP 578 says so): the worker also runs with kernel resource limits, in its own
session, and with the functions that act without an audit event removed
(:func:`remove_unaudited`). Stronger isolation (containers, seccomp, an unprivileged user)
is the deployer's job.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = [
    "INTERNAL_IMPORTS",
    "import_denial",
    "install_audit_hook",
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

_NETWORK_MODULES = frozenset(
    {
        "socket", "_socket", "ssl", "_ssl", "http", "urllib", "urllib3", "ftplib", "smtplib",
        "poplib", "imaplib", "nntplib", "telnetlib", "socketserver", "xmlrpc", "asyncio",
        "requests", "httpx", "aiohttp", "websocket", "websockets",
    }
)  # fmt: skip
_PROCESS_MODULES = frozenset(
    {"subprocess", "_posixsubprocess", "multiprocessing", "_multiprocessing", "pty", "concurrent"}
)
_CTYPES_MODULES = frozenset({"ctypes", "_ctypes", "cffi"})

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
    if top in _NETWORK_MODULES:
        reason = NETWORK
    elif top in _PROCESS_MODULES:
        reason = PROCESS
    elif top in _CTYPES_MODULES:
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


def install_audit_hook(*, workdir: str, stdlib_dir: str, importable: frozenset[str]) -> None:
    """Lock the process down with an audit hook (see the module docstring for what it refuses).

    Args:
        workdir: The worker's working directory, as a canonical absolute path: the only place
            files may be read and written.
        stdlib_dir: The standard library's directory, canonical: its ``.py`` files may be
            read, and its extension modules loaded again if already loaded.
        importable: Modules that may be imported again (those loaded before lock-down).
    """
    _type, _str, _bytes, _int, _len = type, str, bytes, int, len
    _isinstance, _str_copy = isinstance, str.__str__
    _denied = PermissionError
    _getcwd = os.getcwd
    own_pid = os.getpid()
    root = workdir.rstrip("/") or "/"
    root_prefix = root + "/"
    library = stdlib_dir.rstrip("/")
    library_prefix = library + "/"
    third_party = ("/site-packages/", "/dist-packages/")
    code_suffixes = (".py",)
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    file_message = "access to %r is denied: the RLM sandbox allows files only inside " + root
    importable = frozenset(importable)
    network_modules = _NETWORK_MODULES
    network_message, process_message, ctypes_message = NETWORK, PROCESS, CTYPES
    process_modules = _PROCESS_MODULES
    ctypes_modules = _CTYPES_MODULES
    _import_denied = ImportError
    harmless = frozenset(
        {
            "exec", "compile", "sys._getframe", "object.__getattr__", "object.__setattr__",
            "object.__delattr__", "function.__new__", "marshal.dumps", "builtins.id",
            "builtins.input",
            "builtins.input/result", "sys.excepthook", "sys.unraisablehook", "array.__new__",
            "signal.pthread_kill", "time.sleep", "os.putenv", "os.unsetenv", "os.lockf",
            "sys._current_frames", "sys._current_exceptions", "cpython._PySys_ClearAuditHooks",
            "cpython.PyInterpreterState_Clear", "cpython.PyInterpreterState_New",
        }
    )  # fmt: skip
    network = frozenset(
        {
            "socket", "http", "urllib", "ftplib", "smtplib", "poplib", "imaplib", "nntplib",
            "telnetlib", "webbrowser",
        }
    )  # fmt: skip
    processes = frozenset(
        {
            "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
            "os.forkpty", "os.startfile", "os.startfile/2", "pty.spawn",
        }
    )  # fmt: skip
    refused = frozenset(
        {"ctypes", "sqlite3", "syslog", "winreg", "msvcrt", "_winapi", "pdb", "resource", "gc"}
    )
    code_events = frozenset({"code.__new__", "marshal.loads", "marshal.load"})
    refused_events = frozenset(
        {
            "sys.addaudithook", "sys.settrace", "sys.setprofile", "builtins.breakpoint",
            "sys._settraceallthreads", "sys._setprofileallthreads",
            "sys.monitoring.register_callback",
        }
    )  # fmt: skip
    reading = frozenset(
        {"os.listdir", "os.scandir", "os.walk", "os.fwalk", "glob.glob", "glob.glob/2"}
    )
    one_path = frozenset(
        {
            "os.listdir", "os.scandir", "os.walk", "os.fwalk", "glob.glob", "glob.glob/2",
            "os.chdir", "os.mkdir", "os.rmdir", "os.remove", "os.chmod", "os.chown", "os.utime",
            "os.truncate", "os.setxattr", "os.getxattr", "os.listxattr", "os.removexattr",
            "os.chflags", "os.lchflags", "tempfile.mkstemp", "tempfile.mkdtemp",
            "pathlib.Path.glob", "pathlib.Path.rglob",
        }
    )  # fmt: skip
    descriptor_ok = frozenset({"os.listdir", "os.scandir", "os.chdir", "os.truncate", "os.fwalk"})

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in harmless:
            return
        family = event.partition(".")[0]
        if event == "import":
            name: Any = args[0] if _len(args) > 0 else None
            filename = args[1] if _len(args) > 1 else None
            if _type(name) is not _str:
                raise _import_denied("importing is disabled in the RLM sandbox")
            if name not in importable:
                top = name.partition(".")[0]
                if top in network_modules:
                    raise _import_denied(network_message + f" (import of {name[:200]!r} refused)")
                if top in process_modules:
                    raise _import_denied(process_message + f" (import of {name[:200]!r} refused)")
                if top in ctypes_modules:
                    raise _import_denied(ctypes_message + f" (import of {name[:200]!r} refused)")
                raise _import_denied(f"importing {name[:200]!r} is disabled in the RLM sandbox")
            if filename is not None and not (
                _type(filename) is _str
                and filename.startswith(library_prefix)
                and ".." not in filename
                and third_party[0] not in filename
                and third_party[1] not in filename
            ):
                raise _import_denied("loading native code is disabled in the RLM sandbox")
            return
        if event in code_events:
            raise _denied("building code objects from bytes is disabled in the RLM sandbox")
        if family in network:
            raise _denied(network_message)
        if event in processes:
            raise _denied(process_message)
        if event in refused_events:
            raise _denied(f"{event} is disabled in the RLM sandbox")
        if family in refused:
            raise _denied(f"{event} is disabled in the RLM sandbox")
        if event == "mmap.__new__":
            if _type(args[0]) is not _int or args[0] != -1:
                raise _denied("mapping files into memory is disabled in the RLM sandbox")
            return
        if event == "os.kill":
            if _type(args[0]) is _int and args[0] == own_pid:
                return
            raise _denied("sending signals to other processes is disabled in the RLM sandbox")
        if event == "os.symlink":
            raise _denied("symbolic links are disabled in the RLM sandbox")
        writing = True
        paths: tuple[Any, ...]
        if event == "open":
            paths = (args[0],)
            mode = args[1]
            flags = args[2]
            writing = (
                _type(mode) is _str and ("w" in mode or "a" in mode or "x" in mode or "+" in mode)
            ) or (_type(flags) is _int and (flags & write_flags) != 0)
        elif event in one_path:
            paths = (args[0],)
            writing = event not in reading
            if event == "glob.glob/2" and _len(args) > 2 and args[2] is not None:
                paths = (args[0], args[2])
        elif event in ("os.rename", "os.link"):
            paths = (args[0], args[1])
        elif family == "shutil":
            paths = ()
            for item in args:
                if _type(item) is _str or _type(item) is _bytes:
                    paths = (*paths, item)
        elif family == "os":
            raise _denied(f"{event} is disabled in the RLM sandbox")
        else:
            return
        for path in paths:
            if path is None and event in reading:
                continue
            if _type(path) is _int and event in descriptor_ok:
                continue
            if _type(path) is _bytes:
                path = path.decode("utf-8", "surrogateescape")
            elif _type(path) is not _str and _isinstance(path, _str):
                path = _str_copy(path)
            if _type(path) is not _str:
                raise _denied("file paths must be str or bytes in the RLM sandbox")
            absolute = path.startswith("/")
            parts = (path if absolute else _getcwd() + "/" + path).split("/")
            kept: list[str] = []
            for part in parts:
                if part == "" or part == ".":
                    continue
                if part == "..":
                    if not absolute:
                        raise _denied(file_message % (path[:300],))
                    if kept:
                        kept.pop()
                    continue
                kept.append(part)
            resolved = "/" + "/".join(kept)
            if resolved == root or resolved.startswith(root_prefix):
                continue
            if (
                not writing
                and (resolved == library or resolved.startswith(library_prefix))
                and third_party[0] not in resolved + "/"
                and third_party[1] not in resolved + "/"
                and (event in reading or resolved.endswith(code_suffixes))
            ):
                continue
            raise _denied(file_message % (resolved[:300],))

    sys.addaudithook(hook)
