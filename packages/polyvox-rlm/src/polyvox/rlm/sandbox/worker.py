"""The sandbox's child process: set up, lock down, then run cells on request.

Started by the host as ``python -I -S -X utf8 -c BOOTSTRAP <arguments>`` (see
:mod:`polyvox.rlm.sandbox.process`), with the kernel resource limits already applied, as its
own session. Order matters:

1. fork: the parent stays behind as the supervisor (:mod:`polyvox.rlm.sandbox.janitor`),
   the child goes on as the worker;
2. keep private copies of the pipes on stdin/stdout and point fds 0 and 1 at ``/dev/null``;
3. read the ``init`` message (context, document spans, limits, working directory);
4. import every allowed module (later imports are refused), check that no module that
   starts processes without an audit event is loaded;
5. confine the process (:mod:`polyvox.rlm.sandbox.confine`): ``no_new_privs``, Landlock,
   the unprivileged uid, the parent-death signal;
6. start the watchdog thread, forbid new processes and threads (``RLIMIT_NPROC`` = 0,
   thread creation removed), install the seccomp filter on every thread;
7. remove other unaudited calls, install the audit hook, answer ``ready`` with the report
   of the layers in force, and serve ``run``/``vars``/``get`` until the pipe closes.

The worker leaves only through ``os._exit``: interpreter finalization, which clears the
audit hooks before it runs the last destructors, never happens.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import resource
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

from polyvox.rlm.sandbox.audit import install_audit_hook
from polyvox.rlm.sandbox.guard import CTYPES_MODULES, INTERNAL_IMPORTS, remove_unaudited
from polyvox.rlm.sandbox.janitor import supervise
from polyvox.rlm.sandbox.protocol import PipeChannel
from polyvox.rlm.sandbox.repl import HostGone, Repl
from polyvox.rlm.sandbox.watchdog import Watchdog

__all__ = ["main"]

_CONFINEMENT_MODULES = frozenset(
    {"polyvox.rlm.sandbox.confine", "polyvox.rlm.sandbox.landlock", "polyvox.rlm.sandbox.seccomp"}
)
_NEVER_LOADED = ("_posixsubprocess", "_testcapi", "_testinternalcapi", "_xxsubinterpreters")


def main(_exit: Callable[[int], NoReturn] = os._exit) -> NoReturn:
    """Fork the supervisor, then run the worker until the host closes the pipe.

    ``_exit`` is bound when this module loads and kept in a default (an immutable tuple the
    audit hook forbids replacing), so a cell that swaps ``os._exit`` for something else
    cannot steer the worker into interpreter finalization.
    """
    started = time.monotonic()
    host_pid = int(sys.argv[2])
    supervisor_pid = os.getpid()
    child = os.fork()
    if child:
        supervise(child, host_pid, os.getcwd())
    code = 1
    try:
        code = _run_worker(started, supervisor_pid)
    finally:
        _exit(code)


def _run_worker(started: float, supervisor_pid: int) -> int:
    read_fd, write_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    channel = PipeChannel(read_fd, write_fd)
    try:
        repl, report = _prepare(channel.receive(), channel, supervisor_pid)
    except EOFError:
        return 0
    except BaseException as exc:  # the host must hear why the start failed
        with contextlib.suppress(BaseException):
            channel.send({"op": "failed", "error": f"{type(exc).__name__}: {exc}"[:2000]})
        return 1
    channel.send(
        {
            "op": "ready",
            "pid": os.getpid(),
            "startup_s": time.monotonic() - started,
            "report": report,
        }
    )
    try:
        _serve(channel, repl)
    except (HostGone, EOFError, OSError):
        return 0
    return 0


def _serve(channel: PipeChannel, repl: Repl) -> None:
    while True:
        message = channel.receive()
        op = message["op"]
        if op == "run":
            channel.send(repl.run(int(message["seq"]), str(message["code"]), _timeout(message)))
        elif op == "vars":
            channel.send(repl.vars_message(int(message["seq"]), _timeout(message)))
        elif op == "get":
            seq, name, cap = int(message["seq"]), str(message["name"]), int(message["max_chars"])
            channel.send(repl.value_message(seq, name, cap, _timeout(message)))
        elif op == "shutdown":
            return
        else:
            raise HostGone(f"unexpected message {op!r}")


def _timeout(message: dict[str, Any]) -> float:
    return max(0.001, float(message["timeout"]))


def _forget_confinement_modules() -> None:
    """Drop ``ctypes`` and the confinement modules from ``sys.modules`` once they did their job.

    Importing them again is then a real import, which the audit hook refuses; what they
    left in memory can no longer act (``ctypes`` calls raise refused audit events, and the
    seccomp filter and Landlock bound whatever native code could do).
    """
    for name in list(sys.modules):
        if name.partition(".")[0] in CTYPES_MODULES or name in _CONFINEMENT_MODULES:
            del sys.modules[name]


def _import_all_codecs() -> None:
    """Import every codec now: after lock-down no module can be loaded.

    (Loading bytecode needs ``marshal.loads``, which the audit hook refuses so that code
    cannot forge bytecode.)
    """
    import encodings

    for directory in encodings.__path__:
        for entry in sorted(os.listdir(directory)):
            name, dot, suffix = entry.partition(".")
            if dot and suffix == "py" and name != "__init__":
                with contextlib.suppress(ImportError):  # Windows-only codecs (mbcs, oem)
                    importlib.import_module(f"encodings.{name}")


def _prepare(
    init: dict[str, Any], channel: PipeChannel, supervisor_pid: int
) -> tuple[Repl, dict[str, Any]]:
    from polyvox.rlm.sandbox.confine import confine_process, install_seccomp

    if init["op"] != "init":
        raise ValueError(f"expected init, got {init['op']!r}")
    limits = init["limits"]
    kernel = init["isolation"] == "kernel"
    workdir = os.path.realpath(init["workdir"])
    sys.dont_write_bytecode = True
    failed = []
    for name in (*sorted(limits["allowed_imports"]), *sorted(INTERNAL_IMPORTS)):
        try:
            importlib.import_module(name)
        except Exception as exc:  # collected, then reported together
            failed.append(f"{name} ({type(exc).__name__}: {exc})")
    if failed:
        raise ImportError("allowed modules that cannot be imported: " + ", ".join(failed))
    _import_all_codecs()
    loaded = [name for name in _NEVER_LOADED if name in sys.modules]
    if loaded:
        raise RuntimeError(
            "refusing to lock down: these modules can start processes or bypass auditing and "
            "are loaded: " + ", ".join(loaded)
        )
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails with EFBIG instead
    os.chdir(workdir)
    stdlib = os.path.realpath(getattr(sys, "_stdlib_dir", None) or os.path.dirname(os.__file__))
    report = confine_process(
        workdir=workdir,
        read_only=[stdlib, *(os.path.realpath(p) for p in sys.path if p)],
        kernel=kernel,
        parent_pid=supervisor_pid,
    )
    watchdog = Watchdog()
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    if kernel:
        install_seccomp(os.getpid())
        report["seccomp"] = True
    hidden_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    repl = Repl(
        context=init["context"],
        documents=init["documents"],
        limits=limits,
        channel=channel,
        watchdog=watchdog,
        hidden_dir=hidden_dir,
    )
    remove_unaudited()
    _forget_confinement_modules()
    install_audit_hook(
        workdir=workdir,
        stdlib_dir=stdlib,
        importable=frozenset(
            name for name in sys.modules if name.partition(".")[0] not in CTYPES_MODULES
        ),
        max_files=int(limits["max_files"]),
        max_bytes=int(limits["disk_mb"]) * 1024 * 1024,
    )
    return repl, report
