"""The worker's seccomp filter: a classic BPF program the kernel runs on every system call.

The program is built here, byte by byte, for the two architectures polyvox supports
(x86-64 and AArch64), and installed with ``seccomp(SECCOMP_SET_MODE_FILTER, TSYNC)`` so
that every thread of the worker is covered. A filter can only be made stricter once
installed, never removed, and it survives anything the process does afterwards: it is the
boundary that Python code, however it escapes the interpreter's own checks, cannot cross.

What it refuses (``EPERM``, so Python raises ``PermissionError``):

* new processes: ``execve``, ``execveat``, ``fork``, ``vfork``, and ``clone`` without
  ``CLONE_THREAD`` or with a ``CLONE_NEW*`` namespace flag (``clone3``, whose flags sit in
  memory a filter cannot read, gets ``ENOSYS`` so that the C library falls back to
  ``clone``);
* networking: every ``socket``/``socketpair`` whatever the family, and ``connect``, ``bind``,
  ``listen``, ``accept``;
* other processes: ``ptrace``, ``process_vm_readv``/``writev``, ``pidfd_*``, ``kcmp``, and
  ``kill``/``tgkill``/``rt_sigqueueinfo`` aimed anywhere but the worker itself (``tkill``
  always);
* the kernel's sharper tools: ``mount`` and the new mount API (``open_tree_attr``,
  ``listmount`` and ``statmount`` included), ``chroot``, ``pivot_root``,
  ``unshare``, ``setns``, ``bpf``, ``perf_event_open``, ``keyctl``, ``io_uring_*``,
  ``userfaultfd``, ``open_by_handle_at``, module loading, ``kexec``, ``reboot``, clocks,
  ``mknod``, SysV and POSIX message queues, semaphores and shared memory, ``personality``;
* its own confinement: ``setrlimit``, ``prlimit64`` with a new limit, ``setpriority`` and the
  scheduler setters (no raising of priority), ``ioprio_set``, every ``set*id`` call,
  ``setgroups``, ``capset``, ``setsid``, ``setpgid``, ``seccomp`` itself, Landlock's calls,
  ``lsm_set_self_attr``, and every ``prctl`` but a few that only read (so no clearing of the
  parent-death signal, no renaming of the process);
* attributes that Landlock does not govern, through the newest calls (``setxattrat``,
  ``removexattrat``, ``file_setattr``).
* ``ioctl(TIOCSTI)`` (typing into a terminal), and ``fcntl`` ``F_SETOWN``/``F_SETSIG``/
  ``F_SETOWN_EX`` (a descriptor that signals another process);
* metadata of paths, which Landlock does not govern: ``chmod``, ``fchmodat``,
  ``fchmodat2``, ``chown``, ``lchown``, ``fchownat``, ``utime``, ``utimes``, ``futimesat``,
  ``utimensat`` with a path, ``setxattr``, ``lsetxattr``, ``removexattr``, ``lremovexattr``,
  ``inotify_add_watch`` (the descriptor forms, on files Landlock let it open, stay).

A system call made through another architecture's ABI (the x32 ABI on x86-64, or a foreign
audit architecture) kills the process.

The filter lists what it refuses and allows the rest (an allow-list of the calls CPython
makes would break with each new C library); calls newer than this table pass, which is why
the table tracks the kernel's latest additions.
"""

from __future__ import annotations

import errno
import platform
import struct

__all__ = [
    "ARCHITECTURES",
    "DENIED_SYSCALLS",
    "SYSCALLS",
    "build_filter",
    "machine_architecture",
]

# ---- constants from the kernel's UAPI headers -------------------------------------------------

_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K

_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_RET_ALLOW = 0x7FFF0000

_NR = 0  # offsetof(struct seccomp_data, nr)
_ARCH = 4  # offsetof(struct seccomp_data, arch)


def _arg_low(index: int) -> int:
    """Offset of the low 32 bits of argument ``index`` (little-endian machines)."""
    return 16 + 8 * index


def _arg_high(index: int) -> int:
    """Offset of the high 32 bits of argument ``index``."""
    return 20 + 8 * index


_X32_SYSCALL_BIT = 0x40000000
_CLONE_THREAD = 0x00010000
_CLONE_NEW_NAMESPACES = (
    0x7E020000  # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
)
_TIOCSTI = 0x5412
_F_SETOWN = 8
_F_SETSIG = 10
_F_SETOWN_EX = 15

ARCHITECTURES: dict[str, int] = {
    "x86_64": 0xC000003E,  # AUDIT_ARCH_X86_64
    "aarch64": 0xC00000B7,  # AUDIT_ARCH_AARCH64
}
"""The machines the filter is built for, with their ``AUDIT_ARCH_*`` value."""

# System call numbers: (x86-64, AArch64); None where the architecture lacks the call. From
# arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h (a test checks
# them against the headers installed on the machine when there are any).
SYSCALLS: dict[str, tuple[int | None, int | None]] = {
    "execve": (59, 221),
    "execveat": (322, 281),
    "fork": (57, None),
    "vfork": (58, None),
    "clone": (56, 220),
    "clone3": (435, 435),
    "socket": (41, 198),
    "socketpair": (53, 199),
    "connect": (42, 203),
    "bind": (49, 200),
    "listen": (50, 201),
    "accept": (43, 202),
    "accept4": (288, 242),
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "mount": (165, 40),
    "umount2": (166, 39),
    "unshare": (272, 97),
    "setns": (308, 268),
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "keyctl": (250, 219),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "kill": (62, 129),
    "tkill": (200, 130),
    "tgkill": (234, 131),
    "rt_sigqueueinfo": (129, 138),
    "rt_tgsigqueueinfo": (297, 240),
    "pidfd_send_signal": (424, 424),
    "pidfd_open": (434, 434),
    "pidfd_getfd": (438, 438),
    "setpriority": (141, 140),
    "sched_setscheduler": (144, 119),
    "sched_setparam": (142, 118),
    "sched_setattr": (314, 274),
    "ioprio_set": (251, 30),
    "setrlimit": (160, 164),
    "prlimit64": (302, 261),
    "seccomp": (317, 277),
    "prctl": (157, 167),
    "landlock_create_ruleset": (444, 444),
    "landlock_add_rule": (445, 445),
    "landlock_restrict_self": (446, 446),
    "setuid": (105, 146),
    "setgid": (106, 144),
    "setreuid": (113, 145),
    "setregid": (114, 143),
    "setresuid": (117, 147),
    "setresgid": (119, 149),
    "setfsuid": (122, 151),
    "setfsgid": (123, 152),
    "setgroups": (116, 159),
    "capset": (126, 91),
    "setsid": (112, 157),
    "setpgid": (109, 154),
    "chroot": (161, 51),
    "pivot_root": (155, 41),
    "open_tree": (428, 428),
    "move_mount": (429, 429),
    "fsopen": (430, 430),
    "fsconfig": (431, 431),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "mount_setattr": (442, 442),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "reboot": (169, 142),
    "swapon": (167, 224),
    "swapoff": (168, 225),
    "acct": (163, 89),
    "syslog": (103, 116),
    "settimeofday": (164, 170),
    "clock_settime": (227, 112),
    "clock_adjtime": (305, 266),
    "adjtimex": (159, 171),
    "sethostname": (170, 161),
    "setdomainname": (171, 162),
    "vhangup": (153, 58),
    "quotactl": (179, 60),
    "quotactl_fd": (443, 443),
    "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
    "open_by_handle_at": (304, 265),
    "name_to_handle_at": (303, 264),
    "kcmp": (312, 272),
    "personality": (135, 92),
    "mknod": (133, None),
    "mknodat": (259, 33),
    "fanotify_init": (300, 262),
    "lookup_dcookie": (212, 18),
    "process_madvise": (440, 440),
    "process_mrelease": (448, 448),
    "iopl": (172, None),
    "ioperm": (173, None),
    "modify_ldt": (154, None),
    "uselib": (134, None),
    "mq_open": (240, 180),
    "mq_unlink": (241, 181),
    "mq_timedsend": (242, 182),
    "mq_timedreceive": (243, 183),
    "mq_notify": (244, 184),
    "mq_getsetattr": (245, 185),
    "msgget": (68, 186),
    "msgsnd": (69, 189),
    "msgrcv": (70, 188),
    "msgctl": (71, 187),
    "semget": (64, 190),
    "semop": (65, 193),
    "semtimedop": (220, 192),
    "semctl": (66, 191),
    "shmget": (29, 194),
    "shmat": (30, 196),
    "shmctl": (31, 195),
    "shmdt": (67, 197),
    "ioctl": (16, 29),
    # Calls added since Linux 6.8 share one number on every architecture.
    "statmount": (457, 457),
    "listmount": (458, 458),
    "lsm_set_self_attr": (460, 460),
    "setxattrat": (463, 463),
    "removexattrat": (466, 466),
    "open_tree_attr": (467, 467),
    "file_setattr": (469, 469),
    # Metadata of paths, which Landlock does not govern (the fd forms stay allowed).
    "chmod": (90, None),
    "fchmodat": (268, 53),
    "fchmodat2": (452, 452),
    "chown": (92, None),
    "lchown": (94, None),
    "fchownat": (260, 54),
    "utime": (132, None),
    "utimes": (235, None),
    "futimesat": (261, None),
    "utimensat": (280, 88),
    "setxattr": (188, 5),
    "lsetxattr": (189, 6),
    "removexattr": (197, 14),
    "lremovexattr": (198, 15),
    "inotify_add_watch": (254, 27),
    "fcntl": (72, 25),
}
"""The system calls the filter names, by architecture."""

_CONDITIONAL = frozenset(
    {"clone", "clone3", "kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "prlimit64",
     "prctl", "ioctl", "utimensat", "fcntl"}
)  # fmt: skip
DENIED_SYSCALLS: frozenset[str] = frozenset(SYSCALLS) - _CONDITIONAL
"""System calls refused whatever their arguments."""

_PRCTL_ALLOWED = (
    2,  # PR_GET_PDEATHSIG
    3,  # PR_GET_DUMPABLE
    16,  # PR_GET_NAME
    21,  # PR_GET_SECCOMP
    23,  # PR_CAPBSET_READ
    30,  # PR_GET_TIMERSLACK
    39,  # PR_GET_NO_NEW_PRIVS
    0x53564D41,  # PR_SET_VMA (naming its own anonymous memory)
)


def machine_architecture() -> str | None:
    """This machine's architecture name if the filter supports it, else ``None``."""
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    return machine if machine in ARCHITECTURES else None


class _Program:
    """A classic BPF program under construction."""

    def __init__(self) -> None:
        self.code: list[tuple[int, int, int, int]] = []

    def add(self, code: int, k: int, jt: int = 0, jf: int = 0) -> None:
        if not (0 <= jt <= 255 and 0 <= jf <= 255):  # pragma: no cover - a bug in this file
            raise ValueError("BPF jump out of range")
        self.code.append((code, jt, jf, k & 0xFFFFFFFF))

    def load(self, offset: int) -> None:
        self.add(_LD_W_ABS, offset)

    def ret(self, value: int) -> None:
        self.add(_RET_K, value)

    def block(self, number: int, body: _Program) -> None:
        """Run ``body`` (which must end in a return) when the call is ``number``."""
        self.add(_JEQ_K, number, 0, len(body.code))
        self.code.extend(body.code)
        self.load(_NR)  # the body may have loaded an argument; later tests read nr again

    def bytes(self) -> bytes:
        return b"".join(struct.pack("=HBBI", c, jt, jf, k) for c, jt, jf, k in self.code)


def _deny(errno_value: int = errno.EPERM) -> int:
    return _RET_ERRNO | errno_value


def _only_own_pid(argument: int, own_pid: int) -> _Program:
    """Allow when argument ``argument`` (an ``int`` pid) is ``own_pid``, else ``EPERM``."""
    body = _Program()
    body.load(_arg_low(argument))
    body.add(_JEQ_K, own_pid, 0, 1)
    body.ret(_RET_ALLOW)
    body.ret(_deny())
    return body


def _null_argument(argument: int) -> _Program:
    """Allow when pointer argument ``argument`` is NULL, else ``EPERM``."""
    body = _Program()
    body.load(_arg_low(argument))
    body.add(_JEQ_K, 0, 0, 3)
    body.load(_arg_high(argument))
    body.add(_JEQ_K, 0, 0, 1)
    body.ret(_RET_ALLOW)
    body.ret(_deny())
    return body


def build_filter(architecture: str, own_pid: int) -> bytes:
    """The seccomp program for the worker.

    Args:
        architecture: A key of :data:`ARCHITECTURES`.
        own_pid: The worker's process id: the only target its signals may have.

    Returns:
        The program's instructions (``struct sock_filter`` array), ready for the kernel.

    Raises:
        ValueError: For an architecture the filter is not built for.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"no seccomp filter for {architecture!r}")
    column = 0 if architecture == "x86_64" else 1

    def number(name: str) -> int | None:
        return SYSCALLS[name][column]

    program = _Program()
    program.load(_ARCH)
    program.add(_JEQ_K, ARCHITECTURES[architecture], 1, 0)
    program.ret(_RET_KILL_PROCESS)
    program.load(_NR)
    if architecture == "x86_64":
        program.add(_JGE_K, _X32_SYSCALL_BIT, 0, 1)
        program.ret(_RET_KILL_PROCESS)

    for name in sorted(DENIED_SYSCALLS):
        value = number(name)
        if value is not None:
            program.add(_JEQ_K, value, 0, 1)
            program.ret(_deny())

    clone = _Program()  # clone(flags, ...): threads only, in no new namespace
    clone.load(_arg_low(0))
    clone.add(_JSET_K, _CLONE_NEW_NAMESPACES, 2, 0)
    clone.add(_JSET_K, _CLONE_THREAD, 0, 1)
    clone.ret(_RET_ALLOW)
    clone.ret(_deny())
    program.block(_required(number("clone")), clone)
    clone3 = _Program()
    clone3.ret(_deny(errno.ENOSYS))
    program.block(_required(number("clone3")), clone3)

    for name in ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        program.block(_required(number(name)), _only_own_pid(0, own_pid))
    program.block(_required(number("prlimit64")), _null_argument(2))

    prctl = _Program()
    prctl.load(_arg_low(0))
    for option in _PRCTL_ALLOWED:
        prctl.add(_JEQ_K, option, 0, 1)
        prctl.ret(_RET_ALLOW)
    prctl.ret(_deny())
    program.block(_required(number("prctl")), prctl)

    ioctl = _Program()
    ioctl.load(_arg_low(1))
    ioctl.add(_JEQ_K, _TIOCSTI, 0, 1)
    ioctl.ret(_deny())
    ioctl.ret(_RET_ALLOW)
    program.block(_required(number("ioctl")), ioctl)

    program.block(_required(number("utimensat")), _null_argument(1))  # futimens(fd) only

    fcntl = _Program()  # no signals from a descriptor to another process (F_SETOWN & co.)
    fcntl.load(_arg_low(1))
    for command in (_F_SETOWN, _F_SETSIG, _F_SETOWN_EX):
        fcntl.add(_JEQ_K, command, 0, 1)
        fcntl.ret(_deny())
    fcntl.ret(_RET_ALLOW)
    program.block(_required(number("fcntl")), fcntl)

    program.ret(_RET_ALLOW)
    return program.bytes()


def _required(value: int | None) -> int:
    if value is None:  # pragma: no cover - every conditional call exists on both machines
        raise ValueError("a conditional system call is missing from the table")
    return value
