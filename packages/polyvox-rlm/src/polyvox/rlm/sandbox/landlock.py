"""Landlock: the kernel's file-system (and, on newer kernels, network and signal) fence.

A Landlock domain is built from rules (read-only beneath these directories, read-write
beneath that one) and applied to the calling thread with ``landlock_restrict_self``; it is
inherited by every thread and process created afterwards and can never be lifted. Accesses
the rules do not grant fail with ``EACCES`` whatever the file's permissions or the uid.
ABI 4 adds TCP bind/connect (handled and never granted), ABI 6 scopes abstract Unix sockets
and signals to the domain. Landlock does not govern ``stat`` or ``readlink``: metadata of
paths the uid can reach stays visible.

Called through ``ctypes`` (``syscall(2)``), before the worker's audit hook is installed.
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Iterable

__all__ = ["abi_version", "restrict"]

_CREATE_RULESET = 444
_ADD_RULE = 445
_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

_EXECUTE = 1 << 0
_WRITE_FILE = 1 << 1
_READ_FILE = 1 << 2
_READ_DIR = 1 << 3
_REMOVE_DIR = 1 << 4
_REMOVE_FILE = 1 << 5
_MAKE_CHAR = 1 << 6
_MAKE_DIR = 1 << 7
_MAKE_REG = 1 << 8
_MAKE_SOCK = 1 << 9
_MAKE_FIFO = 1 << 10
_MAKE_BLOCK = 1 << 11
_MAKE_SYM = 1 << 12
_REFER = 1 << 13  # ABI 2
_TRUNCATE = 1 << 14  # ABI 3
_IOCTL_DEV = 1 << 15  # ABI 5

_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1

_READ_ONLY = _READ_FILE | _READ_DIR
_READ_WRITE = (
    _READ_FILE | _READ_DIR | _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE_DIR | _MAKE_REG
)

_libc: ctypes.CDLL | None = None


def _syscall(*args: int | bytes | ctypes.c_size_t | None) -> int:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    result = int(_libc.syscall(*args))
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return result


def abi_version() -> int:
    """The kernel's Landlock ABI version, or 0 when Landlock is not available.

    Returns:
        0 on kernels without Landlock (or with it disabled at boot), else 1 or more.
    """
    try:
        return _syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    except OSError:
        return 0


def _handled_fs(abi: int) -> int:
    handled = (
        _EXECUTE | _WRITE_FILE | _READ_FILE | _READ_DIR | _REMOVE_DIR | _REMOVE_FILE
        | _MAKE_CHAR | _MAKE_DIR | _MAKE_REG | _MAKE_SOCK | _MAKE_FIFO | _MAKE_BLOCK | _MAKE_SYM
    )  # fmt: skip
    if abi >= 2:
        handled |= _REFER
    if abi >= 3:
        handled |= _TRUNCATE
    if abi >= 5:
        handled |= _IOCTL_DEV
    return handled


def restrict(*, read_only: Iterable[str], read_write: Iterable[str], abi: int) -> None:
    """Confine the calling thread (and all it starts later) to these paths.

    Needs ``no_new_privs`` set first (or ``CAP_SYS_ADMIN``). Paths that do not exist, or
    that this uid cannot reach, are skipped (there is nothing there to grant). Call it while
    only one thread runs: Landlock applies to the caller alone.

    Args:
        read_only: Directories (or files) whose contents may be read.
        read_write: Directories beneath which files may be read, written, made and removed.
        abi: The kernel's ABI version (from :func:`abi_version`, at least 1).

    Raises:
        OSError: If the kernel refuses the ruleset or the restriction.
    """
    handled_fs = _handled_fs(abi)
    handled_net = (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0
    scoped = (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0
    if abi >= 6:
        attr = struct.pack("=QQQ", handled_fs, handled_net, scoped)
    elif abi >= 4:
        attr = struct.pack("=QQ", handled_fs, handled_net)
    else:
        attr = struct.pack("=Q", handled_fs)
    ruleset = _syscall(_CREATE_RULESET, attr, ctypes.c_size_t(len(attr)), 0)
    try:
        write_extra = _REFER if abi >= 2 else 0
        write_extra |= _TRUNCATE if abi >= 3 else 0
        for paths, access in ((read_only, _READ_ONLY), (read_write, _READ_WRITE | write_extra)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except (FileNotFoundError, PermissionError):  # nothing the uid could read
                    continue
                try:
                    allowed = access
                    if not os.path.isdir(path):  # a file takes file rights only
                        allowed &= _READ_FILE | _WRITE_FILE | _TRUNCATE
                    rule = struct.pack("=Qi", allowed, fd)
                    _syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, rule, 0)
                finally:
                    os.close(fd)
        _syscall(_RESTRICT_SELF, ruleset, 0)
    finally:
        os.close(ruleset)
