"""The worker's audit hook (PEP 578): what the REPL's code may not do, checked on every event.

:func:`install_audit_hook` adds a ``sys.addaudithook`` hook that, from then on, refuses with
``PermissionError``:

- network access (every ``socket.*`` event and the standard network clients);
- starting processes (``subprocess.Popen``, ``os.system``, ``os.exec*``, ``os.posix_spawn``,
  ``os.spawn*``, ``os.fork``, ``os.forkpty``) and signals to other processes;
- ``ctypes``, debuggers, trace/profile/audit hooks, garbage-collector introspection, changing
  resource limits, SQLite, syslog, mapping files into memory, ``sys._current_frames``;
- building code objects from bytes (``code.__new__``/``code.replace``, ``marshal.loads``) and
  replacing a function's ``__code__``, ``__defaults__`` or ``__kwdefaults__``;
- file access outside the worker's working directory, except reading the standard library's
  ``.py`` files (tracebacks show their lines);
- creating a file or directory, or opening one for writing, once the working directory holds
  ``max_files`` entries or ``max_bytes`` bytes (counted on each such event, so deleting files
  frees room);
- reading the frame of the hook itself from a traceback;

and refuses with ``ImportError`` loading any module that was not loaded before lock-down.

The hook keeps no state that the REPL's code can reach or change, on any supported Python:
its whole policy is keyword-only default values (immutable strings, ints, tuples, frozensets
and builtins), which the interpreter copies into each call's own frame. Writing to the
locals of a finished call's frame (possible on Python 3.13, PEP 667) changes nothing for
the next call, and the function object is referenced only by the interpreter's hook list
(``gc`` introspection is refused, and so is changing a function's defaults or code). It
looks up no globals and defines no nested functions.

Audit hooks are not a security boundary (PEP 578 says so, and an attack that reaches native
code gets past any of them): the boundary is the kernel's confinement of the worker
(:mod:`polyvox.rlm.sandbox.confine`: seccomp, Landlock, an unprivileged uid). The hook is
defence in depth, and where the model's code gets clear error messages.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from polyvox.rlm.sandbox.guard import (
    CTYPES,
    CTYPES_MODULES,
    NETWORK,
    NETWORK_MODULES,
    PROCESS,
    PROCESS_MODULES,
)

__all__ = ["DISK_FULL", "install_audit_hook"]

DISK_FULL = (
    "the RLM sandbox's working directory is full: it may hold at most %d files and "
    "directories and %d MiB (SandboxLimits.max_files and disk_mb); delete files to make room"
)
"""The message for a write refused by the disk limits (formatted with the two limits)."""

_HARMLESS = frozenset(
    {
        "exec", "compile", "sys._getframe", "object.__delattr__", "function.__new__",
        "marshal.dumps", "builtins.id", "builtins.input", "builtins.input/result",
        "sys.excepthook", "sys.unraisablehook", "array.__new__", "signal.pthread_kill",
        "time.sleep", "os.putenv", "os.unsetenv", "os.lockf", "sys._getframemodulename",
        "cpython._PySys_ClearAuditHooks", "cpython.PyInterpreterState_Clear",
        "cpython.PyInterpreterState_New",
    }
)  # fmt: skip
_NETWORK_EVENTS = frozenset(
    {
        "socket", "http", "urllib", "ftplib", "smtplib", "poplib", "imaplib", "nntplib",
        "telnetlib", "webbrowser",
    }
)  # fmt: skip
_PROCESS_EVENTS = frozenset(
    {
        "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
        "os.forkpty", "os.startfile", "os.startfile/2", "pty.spawn",
    }
)  # fmt: skip
_REFUSED_FAMILIES = frozenset(
    {"ctypes", "sqlite3", "syslog", "winreg", "msvcrt", "_winapi", "pdb", "resource", "gc"}
)
_CODE_EVENTS = frozenset({"code.__new__", "marshal.loads", "marshal.load"})
_REFUSED_EVENTS = frozenset(
    {
        "sys.addaudithook", "sys.settrace", "sys.setprofile", "builtins.breakpoint",
        "sys._settraceallthreads", "sys._setprofileallthreads",
        "sys.monitoring.register_callback", "sys._current_frames", "sys._current_exceptions",
    }
)  # fmt: skip
_READING = frozenset(
    {"os.listdir", "os.scandir", "os.walk", "os.fwalk", "glob.glob", "glob.glob/2"}
)
_ONE_PATH = frozenset(
    {
        "os.listdir", "os.scandir", "os.walk", "os.fwalk", "glob.glob", "glob.glob/2",
        "os.chdir", "os.mkdir", "os.rmdir", "os.remove", "os.chmod", "os.chown", "os.utime",
        "os.truncate", "os.setxattr", "os.getxattr", "os.listxattr", "os.removexattr",
        "os.chflags", "os.lchflags", "tempfile.mkstemp", "tempfile.mkdtemp",
        "pathlib.Path.glob", "pathlib.Path.rglob",
    }
)  # fmt: skip
_DESCRIPTOR_OK = frozenset({"os.listdir", "os.scandir", "os.chdir", "os.truncate", "os.fwalk"})
_GROWING = frozenset({"os.mkdir", "tempfile.mkstemp", "tempfile.mkdtemp", "os.truncate"})
_CODE_ATTRIBUTES = frozenset({"__code__", "__defaults__", "__kwdefaults__", "__closure__"})
_FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})


def install_audit_hook(
    *,
    workdir: str,
    stdlib_dir: str,
    importable: frozenset[str],
    max_files: int = 1000,
    max_bytes: int = 256 * 1024 * 1024,
) -> None:
    """Lock the process down with an audit hook (see the module docstring for what it refuses).

    Args:
        workdir: The worker's working directory, as a canonical absolute path: the only place
            files may be read and written.
        stdlib_dir: The standard library's directory, canonical: its ``.py`` files may be
            read, and its extension modules loaded again if already loaded.
        importable: Modules that may be imported again (those loaded before lock-down).
        max_files: Most files and directories the working directory may hold.
        max_bytes: Most bytes its files may hold together.
    """
    root = workdir.rstrip("/") or "/"
    library = stdlib_dir.rstrip("/")

    def hook(
        event: str,
        args: tuple[Any, ...],
        *,
        _type: Any = type,
        _str: Any = str,
        _bytes: Any = bytes,
        _int: Any = int,
        _len: Any = len,
        _issubclass: Any = issubclass,
        _str_copy: Any = str.__str__,
        _denied: Any = PermissionError,
        _import_denied: Any = ImportError,
        _getcwd: Any = os.getcwd,
        _getframe: Any = sys._getframe,
        _scandir: Any = os.scandir,
        _own_pid: int = os.getpid(),
        _root: str = root,
        _root_prefix: str = root + "/",
        _library: str = library,
        _library_prefix: str = library + "/",
        _third_party: tuple[str, str] = ("/site-packages/", "/dist-packages/"),
        _write_flags: int = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND,
        _file_message: str = "access to %r is denied: the RLM sandbox allows files only inside "
        + root,
        _disk_message: str = DISK_FULL % (max_files, max_bytes // (1024 * 1024)),
        _max_files: int = int(max_files),
        _max_bytes: int = int(max_bytes),
        _importable: frozenset[str] = frozenset(importable),
        _network_modules: frozenset[str] = NETWORK_MODULES,
        _process_modules: frozenset[str] = PROCESS_MODULES,
        _ctypes_modules: frozenset[str] = CTYPES_MODULES,
        _network_message: str = NETWORK,
        _process_message: str = PROCESS,
        _ctypes_message: str = CTYPES,
        _harmless: frozenset[str] = _HARMLESS,
        _network: frozenset[str] = _NETWORK_EVENTS,
        _processes: frozenset[str] = _PROCESS_EVENTS,
        _refused: frozenset[str] = _REFUSED_FAMILIES,
        _code_events: frozenset[str] = _CODE_EVENTS,
        _refused_events: frozenset[str] = _REFUSED_EVENTS,
        _reading: frozenset[str] = _READING,
        _one_path: frozenset[str] = _ONE_PATH,
        _descriptor_ok: frozenset[str] = _DESCRIPTOR_OK,
        _growing: frozenset[str] = _GROWING,
        _code_attributes: frozenset[str] = _CODE_ATTRIBUTES,
        _frame_attributes: frozenset[str] = _FRAME_ATTRIBUTES,
    ) -> None:
        if event in _harmless:
            return
        family = event.partition(".")[0]
        attribute: Any = None
        if _len(args) > 1 and (event == "object.__getattr__" or event == "object.__setattr__"):
            # An attribute name may be a str subclass whose __hash__ or __eq__ would run the
            # cell's code inside the hook: compare an exact copy (str.__str__ runs no code).
            attribute = args[1]
            if _type(attribute) is not _str:
                attribute = _str_copy(attribute) if _issubclass(_type(attribute), _str) else None
        if event == "object.__getattr__":
            # Reading a frame out of a traceback or generator: refuse it for the hook's own
            # frame. Reading it here raises this event again; that inner call is recognised
            # by its caller being this very code and let through.
            if attribute not in _frame_attributes:
                return
            own = _getframe(0).f_code
            if _getframe(1).f_code is own:
                return
            frame = args[0].tb_frame if attribute == "tb_frame" else None
            if frame is not None and frame.f_code is own:
                raise _denied("the RLM sandbox's audit hook cannot be inspected")
            return
        if event == "object.__setattr__":
            if attribute in _code_attributes:
                raise _denied(f"setting {attribute} is disabled in the RLM sandbox")
            return
        if event == "import":
            name: Any = args[0] if _len(args) > 0 else None
            filename = args[1] if _len(args) > 1 else None
            if _type(name) is not _str:
                raise _import_denied("importing is disabled in the RLM sandbox")
            if name not in _importable:
                top = name.partition(".")[0]
                if top in _network_modules:
                    raise _import_denied(_network_message + f" (import of {name[:200]!r} refused)")
                if top in _process_modules:
                    raise _import_denied(_process_message + f" (import of {name[:200]!r} refused)")
                if top in _ctypes_modules:
                    raise _import_denied(_ctypes_message + f" (import of {name[:200]!r} refused)")
                raise _import_denied(f"importing {name[:200]!r} is disabled in the RLM sandbox")
            if filename is not None and not (
                _type(filename) is _str
                and filename.startswith(_library_prefix)
                and ".." not in filename
                and _third_party[0] not in filename
                and _third_party[1] not in filename
            ):
                raise _import_denied("loading native code is disabled in the RLM sandbox")
            return
        if event in _code_events:
            raise _denied("building code objects from bytes is disabled in the RLM sandbox")
        if family in _network:
            raise _denied(_network_message)
        if event in _processes:
            raise _denied(_process_message)
        if event in _refused_events:
            raise _denied(f"{event} is disabled in the RLM sandbox")
        if family in _refused:
            raise _denied(f"{event} is disabled in the RLM sandbox")
        if event == "mmap.__new__":
            if _type(args[0]) is not _int or args[0] != -1:
                raise _denied("mapping files into memory is disabled in the RLM sandbox")
            return
        if event == "os.kill":
            if _type(args[0]) is _int and args[0] == _own_pid:
                return
            raise _denied("sending signals to other processes is disabled in the RLM sandbox")
        if event == "os.symlink":
            raise _denied("symbolic links are disabled in the RLM sandbox")
        writing = True
        growing = event in _growing
        paths: tuple[Any, ...]
        if event == "open":
            paths = (args[0],)
            mode = args[1]
            flags = args[2]
            writing = (
                _type(mode) is _str and ("w" in mode or "a" in mode or "x" in mode or "+" in mode)
            ) or (_type(flags) is _int and (flags & _write_flags) != 0)
            growing = writing
        elif event in _one_path:
            paths = (args[0],)
            writing = event not in _reading
            if event == "glob.glob/2" and _len(args) > 2 and args[2] is not None:
                paths = (args[0], args[2])
        elif event in ("os.rename", "os.link"):
            paths = (args[0], args[1])
            growing = event == "os.link"
        elif family == "shutil":
            paths = ()
            growing = True
            for item in args:
                if _type(item) is _str or _type(item) is _bytes:
                    paths = (*paths, item)
        elif family == "os":
            raise _denied(f"{event} is disabled in the RLM sandbox")
        else:
            return
        for path in paths:
            if path is None and event in _reading:
                continue
            if _type(path) is _int and event in _descriptor_ok:
                continue
            if _type(path) is _bytes:
                path = path.decode("utf-8", "surrogateescape")
            elif _type(path) is not _str and _issubclass(_type(path), _str):
                # type(), never isinstance(): isinstance reads __class__, which a cell's
                # object can make a property that runs inside the hook.
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
                        raise _denied(_file_message % (path[:300],))
                    if kept:
                        kept.pop()
                    continue
                kept.append(part)
            resolved = "/" + "/".join(kept)
            if resolved == _root or resolved.startswith(_root_prefix):
                continue
            if (
                not writing
                and (resolved == _library or resolved.startswith(_library_prefix))
                and _third_party[0] not in resolved + "/"
                and _third_party[1] not in resolved + "/"
                and (event in _reading or resolved.endswith(".py"))
            ):
                continue
            raise _denied(_file_message % (resolved[:300],))
        if growing:
            # Count what the working directory holds now (no counter to tamper with). Each
            # listing raises ``os.scandir`` again, inside the directory, which passes.
            files = 0
            size = 0
            pending = [_root]
            while pending:
                with _scandir(pending.pop()) as entries:
                    for entry in entries:
                        files += 1
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
                        else:
                            size += entry.stat(follow_symlinks=False).st_size
                if files >= _max_files or size >= _max_bytes:
                    raise _denied(_disk_message)

    sys.addaudithook(hook)
