"""The worker's confinement by the kernel, applied before any code of a cell runs.

:func:`confine_process` runs on the worker's only thread, after every allowed module is
imported: ``no_new_privs``, then Landlock (read-only on the interpreter's libraries,
read-write on the sandbox folder), then, when started by root, the drop to an unprivileged
uid and gid (the folder handed over first), then the parent-death signal (set after the uid
change, which clears it, and checked right away). :func:`install_seccomp` comes last, once
the worker's own threads run, and covers them all (``TSYNC``). Each step either holds or
raises: with ``isolation="kernel"`` nothing is skipped silently.
"""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Sequence
from typing import Any

from polyvox.rlm.sandbox import landlock, seccomp
from polyvox.rlm.sandbox.isolation import UNPRIVILEGED_ID, sandbox_uid

__all__ = ["ConfinementError", "confine_process", "install_seccomp"]

_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1

_libc = ctypes.CDLL(None, use_errno=True)


class ConfinementError(RuntimeError):
    """A confinement layer that was asked for could not be applied."""


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def _prctl(option: int, value: int) -> None:
    if _libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) != 0:
        code = ctypes.get_errno()
        raise ConfinementError(f"prctl({option}) failed: {os.strerror(code)}")


def confine_process(
    *, workdir: str, read_only: Sequence[str], kernel: bool, parent_pid: int
) -> dict[str, Any]:
    """Apply every layer but seccomp to this (single-threaded) process.

    Args:
        workdir: The sandbox folder, the only place files may be written.
        read_only: Directories the interpreter may still read (its libraries).
        kernel: Whether Landlock is asked for (``isolation="kernel"``).
        parent_pid: The supervisor's pid: if the worker's parent is not it once the
            parent-death signal is set, the supervisor already died and the worker exits.

    Returns:
        The report's fields so far (``seccomp`` is filled in by the caller).

    Raises:
        ConfinementError: If a layer cannot be applied.
    """
    report: dict[str, Any] = {
        "isolation": "kernel" if kernel else "process",
        "seccomp": False,
        "landlock_abi": 0,
        "no_new_privs": False,
        "uid": os.getuid(),
        "dropped_privileges": False,
        "parent_death_signal": False,
        "missing": [],
    }
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    report["no_new_privs"] = True
    root = os.geteuid() == 0
    if kernel:
        abi = landlock.abi_version()
        if abi:
            try:
                landlock.restrict(read_only=read_only, read_write=[workdir], abi=abi)
            except OSError as exc:
                raise ConfinementError(f"Landlock refused the sandbox's rules: {exc}") from None
            report["landlock_abi"] = abi
        else:
            report["missing"].append(
                "Landlock: not available on this kernel; files are bounded by the worker's "
                "uid and the audit hook only"
            )
    if root:
        report["uid"] = _drop_privileges(workdir, sandbox_uid(workdir), report["missing"])
        try:
            os.stat(workdir)
        except PermissionError:
            raise ConfinementError(
                f"the sandbox folder {workdir} cannot be reached by the worker's uid "
                f"{report['uid']}: a directory above it is not searchable by other users. Put "
                "the temporary directory (TMPDIR) somewhere world-searchable, such as /tmp"
            ) from None
        report["dropped_privileges"] = True
    else:
        report["missing"].append(
            "unprivileged uid: the host is not root, so the worker keeps the host's uid"
            + ("" if report["landlock_abi"] else " and can read what the host's user can read")
        )
    # The uid change above clears the parent-death signal, so it is set after it.
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the supervisor died before the signal was armed
        os._exit(1)
    report["parent_death_signal"] = True
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (OSError, AttributeError):
        report["missing"].append(
            "pidfd: not available on this kernel; the supervisor notices the host's death "
            "by polling, within half a second"
        )
    return report


def _drop_privileges(workdir: str, own: int, missing: list[str]) -> int:
    """Hand the folder to an unprivileged id of its own, then become it (irrevocably).

    Only the folder itself changes owner: whatever is inside was made by an earlier worker
    of the same sandbox, under the same id. Where that id cannot be used (a user namespace
    that maps only a few ids), the worker becomes ``nobody`` and the report says so.

    Returns:
        The uid (and gid) the worker now runs as.
    """
    target = own
    try:
        os.chown(workdir, target, target, follow_symlinks=False)
        os.setgroups([])
        os.setresgid(target, target, target)
        os.setresuid(target, target, target)
    except OSError:  # EINVAL: the id is not mapped in this user namespace
        target = UNPRIVILEGED_ID
        os.chown(workdir, target, target, follow_symlinks=False)
        os.setgroups([])
        os.setresgid(target, target, target)
        os.setresuid(target, target, target)
        missing.append(
            f"a uid of its own: uid {own} cannot be used here, so sandboxes share uid "
            f"{target} (the kernel's other layers still apply to each)"
        )
    if os.getresuid() != (target,) * 3 or os.getresgid() != (target,) * 3:
        raise ConfinementError("the worker could not drop root's privileges")
    try:
        os.setuid(0)
    except PermissionError:
        return target
    raise ConfinementError("the worker regained root after dropping it")


def install_seccomp(own_pid: int) -> None:
    """Install the seccomp filter on every thread of this process.

    Args:
        own_pid: This process's id (the only target of its signals).

    Raises:
        ConfinementError: If the architecture has no filter or the kernel refuses it.
    """
    architecture = seccomp.machine_architecture()
    if architecture is None:
        raise ConfinementError("no seccomp filter is built for this machine's architecture")
    program = seccomp.build_filter(architecture, own_pid)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    number = seccomp.SYSCALLS["seccomp"][0 if architecture == "x86_64" else 1]
    result = _libc.syscall(
        number, _SECCOMP_SET_MODE_FILTER, _SECCOMP_FILTER_FLAG_TSYNC, ctypes.byref(fprog)
    )
    if result != 0:
        code = ctypes.get_errno()
        why = os.strerror(code) if result < 0 else f"thread {result} could not be synchronised"
        raise ConfinementError(f"the kernel refused the seccomp filter: {why}")
