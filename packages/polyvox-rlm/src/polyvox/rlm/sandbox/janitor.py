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
import time
from typing import Any, NoReturn

__all__ = ["remove_folder", "supervise"]

_POLL_S = 0.5
_HOST_EXIT_S = 2.0
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
            # A worker that exits with status 0 saw the host close its pipe: the host never
            # does that but by dying (it kills the group instead), and a dying host closes
            # its files before it lets go of its children, so wait for that to finish. A
            # worker that died otherwise may have died with the host all the same.
            saw_eof = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
            if _host_dies(host_pid, host_fd, _HOST_EXIT_S if saw_eof else 0.0):
                remove_folder(workdir)
            return _mirror(status)
        events = poller.poll(None if host_fd >= 0 and worker_fd >= 0 else _POLL_S * 1000)
        if any(fd == host_fd for fd, _ in events):
            return _clean_up(worker_pid, workdir)


def _host_dies(host_pid: int, host_fd: int, within_s: float) -> bool:
    """Whether the host is gone, or exits within ``within_s`` seconds."""
    if os.getppid() != host_pid:
        return True
    if host_fd >= 0:
        poller = select.poll()
        poller.register(host_fd, select.POLLIN)
        if poller.poll(within_s * 1000):
            return True
        return os.getppid() != host_pid
    deadline = time.monotonic() + within_s
    while os.getppid() == host_pid:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _mirror(status: int) -> int:
    """Exit as the worker did: with its status, or by its signal."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number not in (signal.SIGKILL, signal.SIGSTOP):  # their action cannot be changed
            with contextlib.suppress(Exception):
                signal.signal(number, signal.SIG_DFL)
        with contextlib.suppress(Exception):
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
    """Remove a sandbox folder and everything in it, however the cell's code shaped it.

    Iterative and descriptor-based: any depth (a recursive walk would hit Python's recursion
    limit, a path one ``PATH_MAX``), two descriptors at a time (the supervisor may hold 64),
    no symbolic link followed (the folder itself included), nothing above the folder ever
    touched. A directory that cannot be opened, listed or written in is given back its
    owner's rights first (only those beneath the folder, and the folder itself, ever are:
    a host that is not root needs that where the cell's code took them away). Meant for a
    folder whose worker is dead.

    Args:
        workdir: The folder (absolute).
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = _open_dir(workdir, flags, None)
    except FileNotFoundError:
        return
    except OSError:  # a symbolic link or something else put in its place: never followed
        with contextlib.suppress(OSError):
            os.unlink(workdir)
        return
    names: list[str] = []  # the path from the folder down to the current directory
    try:
        while True:
            child = _empty_but_subdirectories(fd)
            if child is not None:
                below = _open_dir(child, flags, fd)
                os.close(fd)
                fd = below
                names.append(child)
                continue
            if not names:
                break
            parent = os.open("..", flags, dir_fd=fd)
            os.close(fd)
            fd = parent
            _writable_retry(fd, os.rmdir, names.pop())
    finally:
        os.close(fd)
    with contextlib.suppress(FileNotFoundError):
        os.rmdir(workdir)


def _open_dir(name: str, flags: int, dir_fd: int | None) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except PermissionError:  # the cell's code took its own rights away; it is ours to remove
        os.chmod(name, 0o700, dir_fd=dir_fd)
        return os.open(name, flags, dir_fd=dir_fd)


def _empty_but_subdirectories(fd: int) -> str | None:
    """Unlink every non-directory in ``fd``; return one subdirectory's name, or ``None``."""
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                return entry.name
            _writable_retry(fd, os.unlink, entry.name)
    return None


def _writable_retry(fd: int, remove: Any, name: str) -> None:
    """``remove(name, dir_fd=fd)``; if the directory was made read-only, restore its rights."""
    try:
        remove(name, dir_fd=fd)
    except FileNotFoundError:
        return
    except PermissionError:
        os.fchmod(fd, 0o700)
        with contextlib.suppress(FileNotFoundError):
            remove(name, dir_fd=fd)
