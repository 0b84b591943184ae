"""The sandbox's child process: set up, lock down, then run cells on request.

Started by the host as ``python -I -S -X utf8 -c BOOTSTRAP <arguments>`` (see
:mod:`polyvox.rlm.sandbox.process`), with the kernel limits already applied. Order matters:

1. keep private copies of the pipes on stdin/stdout and point fds 0 and 1 at ``/dev/null``;
2. read the ``init`` message (context, document spans, limits, working directory);
3. import every allowed module (later imports are refused), check that no module that
   starts processes without an audit event is loaded;
4. start the watchdog thread, then forbid new processes and threads (``RLIMIT_NPROC`` = 0,
   thread creation removed) and remove other unaudited calls;
5. install the audit hook, answer ``ready``, and serve ``run``/``vars`` until the pipe closes.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import resource
import signal
import sys
import time
from typing import Any

from polyvox.rlm.sandbox.audit import install_audit_hook
from polyvox.rlm.sandbox.guard import INTERNAL_IMPORTS, remove_unaudited
from polyvox.rlm.sandbox.protocol import PipeChannel
from polyvox.rlm.sandbox.repl import HostGone, Repl
from polyvox.rlm.sandbox.watchdog import Watchdog

__all__ = ["main"]

_NEVER_LOADED = ("_posixsubprocess", "_testcapi", "_testinternalcapi", "_xxsubinterpreters")


def main() -> None:
    """Run the worker until the host closes the pipe."""
    started = time.monotonic()
    read_fd, write_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    channel = PipeChannel(read_fd, write_fd)
    try:
        repl = _prepare(channel.receive(), channel)
    except EOFError:
        return
    except BaseException as exc:  # the host must hear why the start failed
        channel.send({"op": "failed", "error": f"{type(exc).__name__}: {exc}"})
        sys.exit(1)
    channel.send({"op": "ready", "pid": os.getpid(), "startup_s": time.monotonic() - started})
    try:
        _serve(channel, repl)
    except (HostGone, EOFError, OSError):
        return


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


def _prepare(init: dict[str, Any], channel: PipeChannel) -> Repl:
    if init["op"] != "init":
        raise ValueError(f"expected init, got {init['op']!r}")
    limits = init["limits"]
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
    watchdog = Watchdog()
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    hidden_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    repl = Repl(
        context=init["context"],
        documents=init["documents"],
        limits=limits,
        channel=channel,
        watchdog=watchdog,
        hidden_dir=hidden_dir,
    )
    os.chdir(workdir)
    remove_unaudited()
    stdlib = getattr(sys, "_stdlib_dir", None) or os.path.dirname(os.__file__)
    install_audit_hook(
        workdir=workdir,
        stdlib_dir=os.path.realpath(stdlib),
        importable=frozenset(sys.modules),
        max_files=int(limits["max_files"]),
        max_bytes=int(limits["disk_mb"]) * 1024 * 1024,
    )
    return repl
