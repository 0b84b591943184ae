"""The worker's supervisor: outlives the host just long enough to clean up after it.

The process the host spawns forks at once, before reading anything: the child becomes the
worker, the parent stays behind as its supervisor, running no code of a cell and holding no
pipe to the host. It waits for one of two things:

* the worker exits (the host killed it, or it died): the supervisor exits the same way, so
  the host sees the worker's status;
* the host exits, for any reason, ``SIGKILL`` included: the supervisor kills the worker and
  removes the sandbox folder, then exits.

The worker carries a parent-death signal (``SIGKILL``) tied to the supervisor, so it can
never outlive it. Host death is seen through a pidfd (Linux 5.3+), which, unlike the
parent-death signal, fires when the host *process* ends, not the thread that spawned it;
without pidfds the supervisor polls its parent id.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
from typing import NoReturn

__all__ = ["remove_folder", "supervise"]

_POLL_S = 0.5
_PR_SET_DUMPABLE = 4


def supervise(worker_pid: int, host_pid: int, workdir: str) -> NoReturn:
    """Run the supervisor until the worker or the host is gone, then exit.

    Args:
        worker_pid: The worker (this process's child).
        host_pid: The process that spawned this one.
        workdir: The sandbox folder, removed if the host dies.
    """
    code = 1
    try:
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.close(null)
        _not_dumpable()
        code = _wait(worker_pid, host_pid, workdir)
    finally:
        os._exit(code)


def _not_dumpable() -> None:
    """Keep a worker of the same uid from opening this process's memory through /proc."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def _wait(worker_pid: int, host_pid: int, workdir: str) -> int:
    host_fd = worker_fd = -1
    with contextlib.suppress(OSError, AttributeError):
        host_fd = os.pidfd_open(host_pid)
        worker_fd = os.pidfd_open(worker_pid)
    poller = select.poll()
    if host_fd >= 0 and worker_fd >= 0:
        poller.register(host_fd, select.POLLIN)
        poller.register(worker_fd, select.POLLIN)
    while True:
        if os.getppid() != host_pid:  # the host is gone (checked after the pidfd was opened)
            return _clean_up(worker_pid, workdir)
        done, status = os.waitpid(worker_pid, os.WNOHANG)
        if done:
            return _mirror(status)
        events = poller.poll(None if host_fd >= 0 and worker_fd >= 0 else _POLL_S * 1000)
        if any(fd == host_fd for fd, _ in events):
            return _clean_up(worker_pid, workdir)


def _mirror(status: int) -> int:
    """Exit as the worker did: with its status, or by its signal."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        with contextlib.suppress(Exception):
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)
        return 128 + number
    return os.waitstatus_to_exitcode(status)


def _clean_up(worker_pid: int, workdir: str) -> int:
    with contextlib.suppress(ProcessLookupError):
        os.kill(worker_pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(worker_pid, 0)
    remove_folder(workdir)
    return 0


def remove_folder(workdir: str) -> None:
    """Remove a sandbox folder, whatever permissions its code left on what it made.

    Args:
        workdir: The folder.
    """
    import shutil

    def writable(function: object, target: str, exc_info: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
            function(target)  # type: ignore[operator]

    if sys.version_info >= (3, 12):
        shutil.rmtree(workdir, onexc=writable)
    else:
        shutil.rmtree(workdir, onerror=writable)
