"""Which isolation layers the sandbox has on this machine: :class:`SandboxReport`.

:func:`sandbox_report` tells, without starting anything, what a worker started now would
get; :attr:`polyvox.rlm.sandbox.Sandbox.report` is what a running worker actually applied
(it reports each layer after applying it). Two isolation levels exist:

* ``"kernel"`` (the default): every layer below; a sandbox refuses to start where seccomp
  is unavailable.
* ``"process"``: an explicit opt-in for machines without seccomp; no seccomp filter and no
  Landlock, so only the process-level layers hold (a warning is logged on every start).
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "SANDBOX_UID_BASE",
    "UNPRIVILEGED_ID",
    "Isolation",
    "SandboxReport",
    "sandbox_report",
    "sandbox_uid",
]

Isolation = Literal["kernel", "process"]
"""``"kernel"``: seccomp, Landlock and the rest (the default); ``"process"``: a weaker opt-in."""

UNPRIVILEGED_ID = 65534
"""``nobody``: the uid and gid a worker started by root falls back to where it cannot have
one of its own (see :func:`sandbox_uid`)."""

SANDBOX_UID_BASE = 0x70000000
"""The first uid of the range that workers started by root run as, one per sandbox folder."""
_SANDBOX_UID_SPAN = 0x08000000


def sandbox_uid(workdir: str) -> int:
    """The uid (and gid) of a sandbox whose worker is started by root.

    Derived from the folder's inode (modulo 2^27), so that sandboxes alive at once on one
    file system practically never share a uid, and a restarted worker keeps its sandbox's
    uid. The range (from :data:`SANDBOX_UID_BASE`) is one that local accounts do not use;
    directory services that map ids into it (SSSD's automatic ranges) would share them.

    Args:
        workdir: The sandbox folder.

    Returns:
        The id.
    """
    return SANDBOX_UID_BASE + os.stat(workdir).st_ino % _SANDBOX_UID_SPAN


_PR_GET_SECCOMP = 21
_SECCOMP_GET_ACTION_AVAIL = 2
_SECCOMP_RET_ERRNO = 0x00050000


@dataclass(frozen=True)
class SandboxReport:
    """The isolation layers of a sandbox worker (applied, or available on this machine)."""

    isolation: Isolation
    """The isolation level asked for."""
    seccomp: bool
    """A seccomp filter refuses process creation, networking, ptrace, mounts, namespaces,
    BPF, keyrings, signals to other processes and changes to its own limits."""
    landlock_abi: int
    """The Landlock ABI the worker is confined with (files: read-only on the interpreter's
    libraries, read-write on its folder; ABI 4+: no TCP; ABI 6+: no signals or abstract
    sockets outside); 0 when Landlock is not in force."""
    no_new_privs: bool
    """``PR_SET_NO_NEW_PRIVS``: no set-uid binary or file capability can raise privileges."""
    uid: int
    """The uid user code runs as (predicted by :func:`sandbox_report` for root: the first
    of the range, :data:`SANDBOX_UID_BASE`; each sandbox gets its own)."""
    dropped_privileges: bool
    """Whether the worker, started by root, dropped to an unprivileged uid of its own."""
    parent_death_signal: bool
    """The worker is killed when its supervisor dies, and the supervisor kills it and removes
    its folder when the host dies."""
    rlimits: bool = True
    """Kernel resource limits: memory, CPU time, file size, open files, no core dumps."""
    audit_hook: bool = True
    """The Python audit hook and import allow-list (defence in depth, not a boundary)."""
    missing: tuple[str, ...] = field(default_factory=tuple)
    """One sentence per layer that is not in force, saying why."""

    @property
    def layers(self) -> tuple[str, ...]:
        """The names of the layers in force, strongest first."""
        names = []
        if self.seccomp:
            names.append("seccomp")
        if self.landlock_abi:
            names.append(f"landlock (ABI {self.landlock_abi})")
        if self.no_new_privs:
            names.append("no_new_privs")
        if self.dropped_privileges:
            names.append(f"uid {self.uid}")
        if self.parent_death_signal:
            names.append("dies with the host")
        if self.rlimits:
            names.append("rlimits")
        if self.audit_hook:
            names.append("audit hook")
        return tuple(names)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy (the trajectory header keeps it)."""
        data = asdict(self)
        data["missing"] = list(self.missing)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxReport:
        """Read a report sent by a worker (unknown keys ignored, wrong types refused).

        Args:
            data: The worker's ``report`` field.

        Returns:
            The report.

        Raises:
            ValueError: If a field is missing or of the wrong type.
        """
        isolation = data.get("isolation")
        if isolation not in ("kernel", "process"):
            raise ValueError("report without an isolation level")
        flags = {}
        for name in ("seccomp", "no_new_privs", "dropped_privileges", "parent_death_signal"):
            value = data.get(name)
            if not isinstance(value, bool):
                raise ValueError(f"report field {name!r} is not a bool")
            flags[name] = value
        numbers = {}
        for name in ("landlock_abi", "uid"):
            value = data.get(name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"report field {name!r} is not an int")
            numbers[name] = value
        missing = data.get("missing")
        if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
            raise ValueError("report field 'missing' is not a list of str")
        return cls(
            isolation=isolation,
            seccomp=flags["seccomp"],
            landlock_abi=numbers["landlock_abi"],
            no_new_privs=flags["no_new_privs"],
            uid=numbers["uid"],
            dropped_privileges=flags["dropped_privileges"],
            parent_death_signal=flags["parent_death_signal"],
            missing=tuple(m[:500] for m in missing[:20]),
        )


@functools.cache
def _probe() -> tuple[bool, str, int, bool]:
    """(seccomp filters available, why not, Landlock ABI, pidfd available) on this machine."""
    if sys.platform != "linux":
        return False, "seccomp exists on Linux only", 0, False
    import ctypes

    from polyvox.rlm.sandbox import landlock, seccomp

    libc = ctypes.CDLL(None, use_errno=True)
    architecture = seccomp.machine_architecture()
    seccomp_ok, why = True, ""
    if architecture is None:
        seccomp_ok, why = False, "no seccomp filter is built for this machine's architecture"
    elif libc.prctl(_PR_GET_SECCOMP, 0, 0, 0, 0) < 0:
        seccomp_ok, why = False, "this kernel was built without seccomp"
    else:
        action = ctypes.c_uint32(_SECCOMP_RET_ERRNO)
        number = seccomp.SYSCALLS["seccomp"][0 if architecture == "x86_64" else 1]
        if libc.syscall(number, _SECCOMP_GET_ACTION_AVAIL, 0, ctypes.byref(action)) != 0:
            seccomp_ok, why = False, "this kernel cannot run seccomp filters"
    try:
        os.close(os.pidfd_open(os.getpid()))
        pidfd = True
    except (OSError, AttributeError):
        pidfd = False
    return seccomp_ok, why, landlock.abi_version(), pidfd


def sandbox_report(isolation: Isolation = "kernel") -> SandboxReport:
    """The layers a sandbox worker started now, from this process, would have.

    Nothing is started: the kernel is asked what it supports. A running sandbox's
    :attr:`~polyvox.rlm.sandbox.Sandbox.report` says what its worker actually applied.

    Args:
        isolation: The level to predict for.

    Returns:
        The report.
    """
    seccomp_ok, why, abi, _ = _probe()
    root = sys.platform == "linux" and os.geteuid() == 0
    kernel = isolation == "kernel"
    missing = []
    if not kernel:
        missing.append("seccomp and Landlock: not applied (isolation='process' was asked for)")
    elif not seccomp_ok:
        missing.append(f"seccomp: {why}; a sandbox with isolation='kernel' refuses to start")
    if kernel and not abi:
        missing.append(
            "Landlock: not available on this kernel; files are bounded by the worker's uid "
            "and the audit hook only"
        )
    if not root:
        missing.append(
            "unprivileged uid: the host is not root, so the worker keeps the host's uid"
            + ("" if kernel and abi else " and can read what the host's user can read")
        )
    return SandboxReport(
        isolation=isolation,
        seccomp=kernel and seccomp_ok,
        landlock_abi=abi if kernel else 0,
        no_new_privs=sys.platform == "linux",
        uid=SANDBOX_UID_BASE if root else (os.getuid() if sys.platform != "win32" else -1),
        dropped_privileges=root,
        parent_death_signal=sys.platform == "linux",
        missing=tuple(missing),
    )


def seccomp_unavailable_reason() -> str | None:
    """Why seccomp filters cannot be used here, or ``None`` when they can."""
    seccomp_ok, why, _, _ = _probe()
    return None if seccomp_ok else why
