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
import ctypes, errno, json, os, resource, signal, socket, sys, threading

from polyvox.rlm.sandbox.confine import confine_process, install_seccomp

workdir, outside, tcp_port, unix_path, host_pid = sys.argv[1:6]
libc = ctypes.CDLL(None, use_errno=True)
results = {}

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


def _runs_as(uid: int) -> bool:
    """Whether this interpreter (and its libraries) can be started by ``uid``."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", "import polyvox.rlm.sandbox.confine"],
            user=uid,
            group=uid,
            extra_groups=[],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _probe(workdir: Path, outside: Path, *, user: int | None = None) -> dict[str, object]:
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.settimeout(0.2)
    unix_path = str(outside / "listener.sock")
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(unix_path)
    unix.listen(8)
    unix.settimeout(0.2)
    if user is not None:
        os.chown(workdir, user, user)
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
            ],
            env={**os.environ, "POLYVOX_PROBE_SECRET": SECRET},
            capture_output=True,
            text=True,
            timeout=60,
            user=user,
            group=user,
            extra_groups=[] if user is not None else None,
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
    assert sorted(p.name for p in outside.iterdir()) == ["listener.sock", "secret.txt"]
    assert not Path("/tmp/polyvox-pwned-by-probe").exists()
    return data


DENIED = [
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

ALLOWED = ["write inside", "read inside", "kill self", "prlimit read", "signal alarm"]
"""What the worker needs, still working under the filter."""


def _check(results: dict[str, str]) -> None:
    leaked = {name: results[name] for name in DENIED if not results[name].startswith("denied")}
    assert leaked == {}
    broken = {name: results[name] for name in ALLOWED if not results[name].startswith("allowed")}
    assert broken == {}
    assert results["system"] != "allowed", "os.system started a shell"
    # clone3 is answered ENOSYS so that the C library falls back to clone (then refused).
    assert results["clone3"] == "denied ENOSYS"


@pytest.mark.skipif(sys.platform == "linux" and os.geteuid() != 0, reason="needs root")
def test_kernel_layers_hold_without_the_audit_hook_as_root(workdir: Path, outside: Path) -> None:
    data = _probe(workdir, outside)
    results = data["results"]
    assert isinstance(results, dict)
    _check(results)
    # Root's worker dropped to a uid of its own: /etc/passwd is world-readable but outside
    # Landlock.
    assert results["uid"] == f"allowed {sandbox_uid(str(workdir))}"
    assert results["read /etc/passwd"].startswith("denied")
    # Landlock does not govern metadata: sizes of paths the uid can reach stay visible.
    assert results["stat /etc/passwd"] == "allowed True"
    report = data["report"]
    assert isinstance(report, dict)
    assert report["dropped_privileges"] is True
    assert report["no_new_privs"] is True
    assert report["parent_death_signal"] is True
    assert (workdir / "ok.txt").read_text() == "ok"


def test_kernel_layers_hold_as_an_unprivileged_user(workdir: Path, outside: Path) -> None:
    uid = 65534
    if os.geteuid() != 0 or not _runs_as(uid):
        pytest.skip(
            "no unprivileged run here: this interpreter or its libraries are not readable by "
            f"uid {uid} (e.g. installed under /root)"
        )
    data = _probe(workdir, outside, user=uid)
    results = data["results"]
    assert isinstance(results, dict)
    _check(results)
    assert results["uid"] == f"allowed {uid}"


def test_the_filter_kills_a_call_through_another_abi() -> None:
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
