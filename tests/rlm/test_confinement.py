"""The kernel's layers on their own: what native code in a confined worker could still do.

A Python-level guard can be escaped, so these tests take it away: a probe process applies
exactly the worker's confinement (:func:`confine_process`, then :func:`install_seccomp`) and
nothing else (no audit hook, no import list, ``ctypes`` at hand, as if the model's code had
reached native code), then tries each route out. Every route is checked by its effect:
the file that did or did not appear, the connection a listener did or did not accept, the
limit that did or did not change, the host's secret that was or was not read.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from polyvox.rlm.sandbox import seccomp
from polyvox.rlm.sandbox.isolation import sandbox_uid, seccomp_unavailable_reason

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="seccomp and Landlock are Linux's"),
    pytest.mark.skipif(
        sys.platform == "linux" and seccomp_unavailable_reason() is not None,
        reason=f"seccomp is unavailable here: {seccomp_unavailable_reason()}",
    ),
]

SECRET = "sk-host-secret-7f3a"

PROBE = r"""
import ctypes, errno, fcntl, json, os, resource, signal, socket, sys, threading

from polyvox.rlm.sandbox.confine import confine_process, install_seccomp

workdir, outside, tcp_port, unix_path, host_pid, user = sys.argv[1:7]
libc = ctypes.CDLL(None, use_errno=True)
results = {}
if user != "root":
    # The host is this process, run by an unprivileged user (dumpable, as a program that
    # user started would be); the worker is its child, of the same uid.
    uid = int(user)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    libc.prctl(4, 1, 0, 0, 0)
    host_pid = str(os.getpid())
    child = os.fork()
    if child:
        os._exit(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
# Made before the confinement, as descriptors the worker could already hold.
early_tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
early_unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
read_end, write_end = os.pipe()

def attempt(name, action):
    try:
        value = action()
    except OSError as exc:
        results[name] = "denied " + (errno.errorcode.get(exc.errno) or str(exc.errno))
    except Exception as exc:
        results[name] = "error " + type(exc).__name__ + ": " + str(exc)
    else:
        results[name] = "allowed" if value is None else "allowed " + str(value)[:200]

def call(function, *args):
    result = function(*args)
    if result < 0:
        raise OSError(ctypes.get_errno(), "")
    return result

stdlib = os.path.dirname(os.__file__)
os.chdir(workdir)
report = confine_process(workdir=workdir, read_only=[stdlib, *sys.path[1:]], kernel=True,
                         parent_pid=os.getppid())
go = threading.Event()
late = {}
def in_thread():
    go.wait()
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        late["socket"] = "allowed"
    except OSError as exc:
        late["socket"] = "denied " + errno.errorcode.get(exc.errno, "?")
thread = threading.Thread(target=in_thread)
thread.start()
install_seccomp(os.getpid())
go.set()
thread.join()
results["thread started before the filter: socket"] = late["socket"]
results["uid"] = "allowed " + str(os.getuid())

def read(path):
    with open(path, "rb") as handle:
        return handle.read(64).decode("latin-1")

attempt("read host environ", lambda: read(f"/proc/{host_pid}/environ"))
attempt("read host memory", lambda: read(f"/proc/{host_pid}/mem"))
attempt("readlink host exe", lambda: os.readlink(f"/proc/{host_pid}/exe"))
attempt("read outside file", lambda: read(os.path.join(outside, "secret.txt")))
attempt("read /etc/passwd", lambda: read("/etc/passwd"))
attempt("write outside", lambda: open(os.path.join(outside, "pwned"), "w").close())
attempt("write /tmp", lambda: open("/tmp/polyvox-pwned-by-probe", "w").close())
attempt("write inside", lambda: open(os.path.join(workdir, "ok.txt"), "w").write("ok"))
attempt("read inside", lambda: read(os.path.join(workdir, "ok.txt")))
attempt("fork", lambda: os.fork() or None)
spawned = os.path.join(outside, "spawned")
attempt("posix_spawn", lambda: os.posix_spawn("/bin/touch", ["touch", spawned], {}))
attempt("system", lambda: os.system("touch " + os.path.join(outside, "system")) or None)
attempt("clone3", lambda: call(libc.syscall, 435, None, 0))
attempt("vfork", lambda: call(libc.syscall, 58) if os.uname().machine == "x86_64" else None)
attempt("memfd_create + execveat",
        lambda: call(libc.syscall, 322, call(libc.memfd_create, b"x", 0), b"", None, None, 0x1000))
attempt("socket inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
attempt("socket inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM))
attempt("socket unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
attempt("socket netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
attempt("socketpair", lambda: socket.socketpair())
attempt("connect tcp (socket made before)",
        lambda: early_tcp.connect(("127.0.0.1", int(tcp_port))))
attempt("connect unix (socket made before)", lambda: early_unix.connect(unix_path))
mine = os.path.join(outside, "mine.txt")
attempt("chmod own file outside", lambda: os.chmod(mine, 0o777))
attempt("chmod inside", lambda: os.chmod(os.path.join(workdir, "ok.txt"), 0o777))
attempt("chown own file outside", lambda: os.chown(mine, os.getuid(), os.getgid()))
attempt("utime own file outside", lambda: os.utime(mine, (0, 0)))
attempt("setxattr own file outside", lambda: os.setxattr(mine, "user.x", b"1"))
attempt("write own file outside", lambda: open(mine, "a").write("x"))
attempt("fchmod inside", lambda: os.fchmod(os.open(os.path.join(workdir, "ok.txt"), 0), 0o600))
attempt("F_SETOWN host", lambda: fcntl.fcntl(read_end, fcntl.F_SETOWN, int(host_pid)))
attempt("kill host", lambda: os.kill(int(host_pid), 0))
attempt("kill group", lambda: os.kill(0, 0))
attempt("kill everyone", lambda: os.kill(-1, 0))
attempt("tgkill host", lambda: call(libc.syscall, 234, int(host_pid), int(host_pid), 0))
attempt("tkill", lambda: call(libc.syscall, 200, int(host_pid), 0))
attempt("kill self", lambda: os.kill(os.getpid(), 0))
attempt("ptrace host", lambda: call(libc.ptrace, 16, int(host_pid), None, None))
attempt("process_vm_readv", lambda: call(libc.process_vm_readv, int(host_pid), None, 0, None, 0, 0))
zero = ctypes.byref((ctypes.c_ulong * 2)(0, 0))
attempt("setrlimit", lambda: call(libc.setrlimit, resource.RLIMIT_CORE, zero))
attempt("prlimit read", lambda: resource.prlimit(0, resource.RLIMIT_AS))
attempt("prlimit raise", lambda: resource.prlimit(0, resource.RLIMIT_NPROC, (100, 100)))
attempt("clear parent-death signal", lambda: call(libc.prctl, 1, 0, 0, 0, 0))
attempt("set dumpable", lambda: call(libc.prctl, 4, 1, 0, 0, 0))
attempt("nice -10", lambda: os.nice(-10))
attempt("nice +1", lambda: os.nice(1))
attempt("setuid 0", lambda: os.setuid(0))
attempt("setsid", lambda: os.setsid())
attempt("unshare user", lambda: call(libc.unshare, 0x10000000))
attempt("mount", lambda: call(libc.mount, b"none", b"/tmp", b"tmpfs", 0, None))
attempt("chroot", lambda: call(libc.chroot, b"."))
attempt("io_uring_setup", lambda: call(libc.syscall, 425, 8, None))
attempt("userfaultfd", lambda: call(libc.syscall, 323, 0))
attempt("bpf", lambda: call(libc.syscall, 321, 0, None, 0))
attempt("perf_event_open", lambda: call(libc.syscall, 298, None, 0, -1, -1, 0))
attempt("keyctl", lambda: call(libc.syscall, 250, 0, 0, 0, 0, 0))
attempt("personality", lambda: call(libc.personality, 0x0040000))
attempt("shmget", lambda: call(libc.shmget, 0, 4096, 0o1600))
attempt("mq_open", lambda: call(libc.syscall, 240, b"polyvox", 0o100 | 2, 0o600, None))
attempt("new seccomp filter", lambda: call(libc.syscall, 317, 1, 0, None))
attempt("landlock ruleset", lambda: call(libc.syscall, 444, None, 0, 1))
attempt("TIOCSTI", lambda: call(libc.ioctl, 0, 0x5412, ctypes.c_char_p(b"x")))
attempt("signal alarm", lambda: signal.setitimer(signal.ITIMER_REAL, 0))
attempt("stat /etc/passwd", lambda: os.stat("/etc/passwd").st_size > 0)
print(json.dumps({"results": results, "report": report}), flush=True)
os._exit(0)
"""


@pytest.fixture
def outside() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="polyvox-outside-") as folder:
        (Path(folder) / "secret.txt").write_text(SECRET)
        yield Path(folder)


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="polyvox-rlm-probe-") as folder:
        yield Path(folder)


def _probe(
    workdir: Path, outside: Path, *, user: int | None = None, worker_uid: int | None = None
) -> dict[str, object]:
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.settimeout(0.2)
    unix_path = str(outside / "listener.sock")
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(unix_path)
    unix.listen(8)
    unix.settimeout(0.2)
    # A file outside the folder that the worker's uid owns: only the kernel layers, not
    # file permissions, keep the worker from reading, writing or re-moding it.
    mine = outside / "mine.txt"
    mine.write_text("mine")
    owner = user if user is not None else worker_uid
    if owner is not None:
        os.chown(mine, owner, owner)
        os.chown(outside / "secret.txt", owner, owner)
        os.chmod(outside, 0o755)
    if user is not None:
        os.chown(workdir, user, user)
    mode_before = mine.stat().st_mode
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                PROBE,
                str(workdir),
                str(outside),
                str(tcp.getsockname()[1]),
                unix_path,
                str(os.getpid()),
                "root" if user is None else str(user),
            ],
            env={**os.environ, "POLYVOX_PROBE_SECRET": SECRET},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        for listener in (tcp, unix):
            with pytest.raises(TimeoutError):
                listener.accept()  # nothing connected
    finally:
        tcp.close()
        unix.close()
    data: dict[str, object] = json.loads(done.stdout)
    assert SECRET not in done.stdout
    assert sorted(p.name for p in outside.iterdir()) == ["listener.sock", "mine.txt", "secret.txt"]
    assert mine.read_text() == "mine"
    assert mine.stat().st_mode == mode_before
    assert not Path("/tmp/polyvox-pwned-by-probe").exists()
    return data


DENIED = [
    "connect tcp (socket made before)",
    "connect unix (socket made before)",
    "chmod own file outside",
    "chmod inside",
    "chown own file outside",
    "utime own file outside",
    "setxattr own file outside",
    "write own file outside",
    "F_SETOWN host",
    "fork",
    "posix_spawn",
    "clone3",
    "memfd_create + execveat",
    "socket inet",
    "socket inet6",
    "socket unix",
    "socket netlink",
    "socketpair",
    "kill host",
    "kill group",
    "kill everyone",
    "tgkill host",
    "tkill",
    "ptrace host",
    "process_vm_readv",
    "setrlimit",
    "prlimit raise",
    "clear parent-death signal",
    "set dumpable",
    "nice -10",
    "setuid 0",
    "setsid",
    "unshare user",
    "mount",
    "chroot",
    "io_uring_setup",
    "userfaultfd",
    "bpf",
    "perf_event_open",
    "keyctl",
    "personality",
    "shmget",
    "mq_open",
    "new seccomp filter",
    "landlock ruleset",
    "TIOCSTI",
    "read host environ",
    "read host memory",
    "readlink host exe",
    "read outside file",
    "write outside",
    "write /tmp",
    "thread started before the filter: socket",
]
"""Every route that must fail, whoever runs the host."""

ALLOWED = [
    "write inside",
    "read inside",
    "fchmod inside",
    "kill self",
    "prlimit read",
    "signal alarm",
]
"""What the worker needs, still working under the filter."""


def _check(results: dict[str, str]) -> None:
    leaked = {name: results[name] for name in DENIED if not results[name].startswith("denied")}
    assert leaked == {}
    broken = {name: results[name] for name in ALLOWED if not results[name].startswith("allowed")}
    assert broken == {}
    assert results["system"] != "allowed", "os.system started a shell"
    if os.uname().machine == "x86_64":
        assert results["vfork"].startswith("denied")
    # clone3 is answered ENOSYS so that the C library falls back to clone (then refused).
    assert results["clone3"] == "denied ENOSYS"


def test_kernel_layers_hold_without_the_audit_hook(workdir: Path, outside: Path) -> None:
    root = os.geteuid() == 0
    worker_uid = sandbox_uid(str(workdir)) if root else None
    data = _probe(workdir, outside, worker_uid=worker_uid)
    results = data["results"]
    assert isinstance(results, dict)
    _check(results)
    report = data["report"]
    assert isinstance(report, dict)
    assert report["no_new_privs"] is True
    assert report["parent_death_signal"] is True
    assert (workdir / "ok.txt").read_text() == "ok"
    # Landlock does not govern metadata: sizes of paths the uid can reach stay visible.
    assert results["stat /etc/passwd"] == "allowed True"
    if root:  # the worker dropped to a uid of its own
        assert results["uid"] == f"allowed {worker_uid}"
        assert report["dropped_privileges"] is True
    if report["landlock_abi"]:  # /etc/passwd is world-readable, but outside Landlock
        assert results["read /etc/passwd"].startswith("denied")


@pytest.mark.skipif(sys.platform == "linux" and os.geteuid() != 0, reason="starts as root")
def test_kernel_layers_hold_when_the_host_is_an_unprivileged_user(
    workdir: Path, outside: Path
) -> None:
    """Host and worker share a uid: only the kernel layers keep the worker off the host."""
    uid = 65534
    data = _probe(workdir, outside, user=uid)
    results = data["results"]
    assert isinstance(results, dict)
    _check(results)
    assert results["uid"] == f"allowed {uid}"
    report = data["report"]
    assert isinstance(report, dict)
    assert report["dropped_privileges"] is False
    assert report["landlock_abi"] > 0, "this check needs Landlock"


X32 = r"""
import ctypes, os, sys
from polyvox.rlm.sandbox.confine import confine_process, install_seccomp
os.chdir(sys.argv[1])
confine_process(workdir=sys.argv[1], read_only=[], kernel=True, parent_pid=os.getppid())
install_seccomp(os.getpid())
ctypes.CDLL(None).syscall(0x40000000 | 39)  # getpid through the x32 ABI
os._exit(0)
"""


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the x32 ABI is x86-64's")
def test_a_call_through_the_x32_abi_kills_the_worker(workdir: Path) -> None:
    done = subprocess.run([sys.executable, "-c", X32, str(workdir)], capture_output=True)
    assert done.returncode == -31, done.stderr[-2000:]  # SIGSYS


def test_the_filter_checks_the_architecture_first() -> None:
    program = seccomp.build_filter("x86_64", 1234)
    # The first instructions load the architecture, compare it, and kill on a mismatch; on
    # x86-64 the x32 bit is refused the same way.
    code, _, _, k = __import__("struct").unpack("=HBBI", program[8:16])
    assert (code, k) == (0x15, seccomp.ARCHITECTURES["x86_64"])
    assert len(program) % 8 == 0
    assert len(program) // 8 < 4096  # BPF_MAXINSNS


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("/usr/include/x86_64-linux-gnu/asm/unistd_64.h", 0),
        ("/usr/include/asm-generic/unistd.h", 1),
    ],
)
def test_syscall_numbers_match_the_kernel_headers(header: str, column: int) -> None:
    import re

    path = Path(header)
    if not path.exists():
        pytest.skip(f"{header} is not installed (Debian's linux-libc-dev)")
    defined = {
        name: int(number)
        for name, number in re.findall(r"#define __NR(?:3264)?_(\w+)\s+(\d+)\b", path.read_text())
    }
    for name, numbers in seccomp.SYSCALLS.items():
        expected = numbers[column]
        if expected is None:
            assert name not in defined, name
        elif name in defined:  # calls newer than the installed headers are not checked
            assert defined[name] == expected, name
