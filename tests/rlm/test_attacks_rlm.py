"""The attack corpus, run the way an attacker gets in: as root-model code of an RLM run.

A document can steer the model that writes the RLM's code, so each route below is a scripted
root-model reply, run by :class:`RecursiveLanguageModel` in a host process of its own that
was started with a secret in its environment (what ``/proc/<pid>/environ`` shows). Every
route is checked by its effects: a file outside the sandbox, a command's marker, the secret
in the run's output, in a prompt the emulator received or in a file, a worker still alive,
a temporary folder left behind, a priority or a signal handler that outlived its cell.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from polyvox.rlm.sandbox.isolation import seccomp_unavailable_reason
from polyvox.testing import Emulator
from tests.rlm.conftest import ROOT, repl
from tests.rlm.test_sandbox import ESCAPE_OS, ESCAPE_SYS, pid_alive, session_members

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="the RLM sandbox runs on Linux"),
    pytest.mark.skipif(
        sys.platform == "linux" and seccomp_unavailable_reason() is not None,
        reason=f"seccomp is unavailable here: {seccomp_unavailable_reason()}",
    ),
]

SECRET = "sk-proj-HOSTSECRET-0d1f2e3c"

HOST = r'''
import asyncio, json, os, sys
from polyvox.openai import ChatOpenAI
from polyvox.rlm import RecursiveLanguageModel, Sandbox, SandboxLimits

base_url, context = sys.argv[1], sys.argv[2]
limits = SandboxLimits(cell_timeout_s=float(sys.argv[3]), memory_mb=512)
pause_after_a_cell = sys.argv[4] == "pause"


def emit(**event):
    print(json.dumps(event), flush=True)


def stat(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rpartition(b")")[2].split()
    except OSError:
        return None
    return {"state": fields[0].decode(), "nice": int(fields[16])}


class Observed:
    """The real sandbox, with the host's view of the worker recorded after every cell."""

    def __init__(self, box):
        self.box = box

    async def run(self, code):
        result = await self.box.run(code)
        emit(event="cell", pid=self.box.pid, worker=stat(self.box.pid),
             restarts=self.box.restarts)
        if pause_after_a_cell:  # the worker waits for its next cell
            await asyncio.sleep(60)
        return result

    async def show_vars(self):
        return await self.box.show_vars()

    async def get_var(self, name):
        return await self.box.get_var(name)

    async def close(self):
        await self.box.close()


async def factory(prepared, handler):
    box = await Sandbox.start(prepared.sandbox_context, handler, limits=limits)
    emit(event="sandbox", pid=box.pid, supervisor=box.supervisor_pid, workdir=box.workdir)
    return Observed(box)


async def main():
    sys.stdin.readline()  # the test scripts the emulator once it knows this pid
    rlm = RecursiveLanguageModel(
        root=ChatOpenAI(model="gpt-4o", api_key="sk-test", base_url=base_url, max_retries=0),
        sub=ChatOpenAI(model="gpt-4o-mini", api_key="sk-test", base_url=base_url, max_retries=0),
        sandbox_factory=factory,
    )
    result = await rlm.ainvoke({"question": "Summarise the document.", "context": context})
    emit(event="done", answer=result.answer, trajectory=result.trajectory.to_dict())


asyncio.run(main())
os._exit(0)
'''

OS = ESCAPE_OS
SYS = ESCAPE_SYS
REPL_OBJECT = SYS + "._getframe(0).f_back.f_locals['self']"


class HostRun:
    """One RLM run in its own host process, and what it showed."""

    def __init__(
        self,
        emulator: Emulator,
        outside: Path,
        *,
        cell_timeout_s: float = 5.0,
        pause: bool = False,
    ):
        self.emulator = emulator
        self.outside = outside
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                HOST,
                emulator.openai_base_url,
                "The quarterly report.",
                str(cell_timeout_s),
                "pause" if pause else "run",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "OPENAI_API_KEY": SECRET},
        )
        self.events: list[dict[str, Any]] = []

    @property
    def pid(self) -> int:
        return self.process.pid

    def go(self, *cells: str, **values: object) -> None:
        """Script the root model's replies (then FINAL) and let the host start."""
        self.emulator.script(
            *(repl(code.format(outside=self.outside, host=self.pid, **values)) for code in cells),
            repl("FINAL('done')"),
            model=ROOT,
        )
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def next_event(self, kind: str, timeout_s: float = 60) -> dict[str, Any]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            event: dict[str, Any] = json.loads(line)
            self.events.append(event)
            if event["event"] == kind:
                return event
        raise AssertionError(f"no {kind} event; stderr: {self.stderr()[-3000:]}")

    def finish(self) -> dict[str, Any]:
        done = self.next_event("done")
        assert self.process.wait(30) == 0, self.stderr()[-3000:]
        return done

    def stderr(self) -> str:
        assert self.process.stderr is not None
        if self.process.poll() is None:
            return ""
        return self.process.stderr.read()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET)
    folder.chmod(0o777)
    return folder


@pytest.fixture
def host(emulator: Emulator, outside: Path) -> Iterator[HostRun]:
    run = HostRun(emulator, outside)
    try:
        yield run
    finally:
        run.close()


def assert_no_leak(run: HostRun, outside: Path, *, done: dict[str, Any] | None = None) -> None:
    """Nothing outside changed, and the secret is in no output, prompt or file of the run."""
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert not Path("/tmp/polyvox-ran").exists()
    if done is not None:
        assert SECRET not in json.dumps(done)
    for request in run.emulator.requests:
        assert SECRET not in json.dumps(request.body, default=str)


def cell_outputs(done: dict[str, Any]) -> list[dict[str, Any]]:
    return [result for step in done["trajectory"]["steps"] for result in step["results"]]


# Objects whose __del__ would leak the secret and run a command if finalization ever ran
# without the audit hook (CPython clears the hooks before it frees these registries).
PLANT = (
    "o = " + OS + "\n"
    "class Leak:\n"
    "    def __del__(self):\n"
    "        o['write'](2, b'FINALIZATION-RAN\\n')\n"
    "        data = open('/proc/{host}/environ', 'rb').read()\n"
    "        open('{outside}/leaked', 'wb').write(data)\n"
    "        o['system']('touch /tmp/polyvox-ran {outside}/ran')\n"
    "leak = Leak()\n" + SYS + ".modules['codecs'].register(lambda name, _keep=leak: None)\n"
    "o['register_at_fork'](before=leak.__del__)\n"
    "del leak\n"
)

EXITS = {
    "close-the-pipes": PLANT
    + "channel = " + REPL_OBJECT + "._channel\n"
    + "o['close'](channel._read_fd)\no['close'](channel._write_fd)\n",
    "raise-the-exit-exception": PLANT
    + "raise " + SYS + ".modules['polyvox.rlm.sandbox.repl'].HostGone('bye')\n",
    "swap-os._exit-then-close-the-pipes": PLANT
    + "o['_exit'] = lambda code: None\n"
    + "channel = " + REPL_OBJECT + "._channel\n"
    + "o['close'](channel._read_fd)\no['close'](channel._write_fd)\n",
    "sys-exit-from-a-thread-of-C": PLANT
    + SYS + ".exit(0)\n",
}  # fmt: skip


@pytest.mark.parametrize("route", sorted(EXITS))
def test_finalization_never_runs_model_code_unhooked(
    host: HostRun, outside: Path, route: str
) -> None:
    host.go(EXITS[route])
    first = host.next_event("sandbox")
    done = host.finish()
    assert done["answer"] == "done", "the run went on with a fresh REPL"
    assert_no_leak(host, outside, done=done)
    # The worker's stderr is logged when it dies: the planted destructor never ran.
    assert "FINALIZATION-RAN" not in host.stderr()
    assert not pid_alive(first["pid"])
    assert not Path(first["workdir"]).exists()


def test_what_a_dying_worker_writes_to_stderr_reaches_the_hosts_log(host: HostRun) -> None:
    """The channel the finalization checks rely on: a worker's last words are logged."""
    host.go("o = " + OS + "\no['write'](2, b'LAST-WORDS\\n')\no['_exit'](3)")
    host.finish()
    assert "LAST-WORDS" in host.stderr()


def test_the_os_module_reached_without_imports_cannot_get_out(host: HostRun, outside: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    host.go(
        "o = " + OS + "\nfor path in ('/proc/{host}/environ', '/proc/{host}/mem', "
        "'{outside}/secret.txt', '/etc/shadow', '/proc/self/environ'):\n"
        "    try:\n        print(open(path, 'rb').read(200))\n"
        "    except Exception as exc:\n        print(type(exc).__name__)\n",
        "o = " + OS + "\nprint(o['system']('touch /tmp/polyvox-ran'))",
        "o = " + OS + "\nfd = o['open']('{outside}/pwned', o['O_WRONLY'] | o['O_CREAT'])",
        "o = " + OS + "\nprint(o['readlink']('/proc/{host}/cwd'))",
        "o = " + OS + "\nprint(o['listdir']('/proc/{host}/fd'))",
        "o = " + OS + "\no['kill']({host}, 9)",
        "o = " + OS + "\no['nice'](-10)",
        "o = " + OS + "\nimp = o['__builtins__']['__import__']\n"
        "for name in ('socket', '_socket'):\n"
        "    try:\n        imp(name).create_connection(('127.0.0.1', {port}), 1)\n"
        "    except Exception as exc:\n        print(type(exc).__name__)\n"
        "print([m for m in ('socket', '_socket', 'ssl') if m in " + SYS + ".modules])",
        port=listener.getsockname()[1],
    )
    done = host.finish()
    assert done["answer"] == "done"
    assert_no_leak(host, outside, done=done)
    cells = [e for e in host.events if e["event"] == "cell"]
    assert all(cell["worker"]["nice"] == 0 for cell in cells), "the priority was raised"
    with pytest.raises(TimeoutError):
        listener.accept()  # no connection reached the loopback listener
    listener.close()
    assert all(cell["restarts"] == 0 for cell in cells)
    outputs = cell_outputs(done)
    assert str(Path.cwd()) not in json.dumps(outputs), "the host's cwd was revealed"


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()
    return int(fields[11]) + int(fields[12])


@pytest.mark.parametrize("moment", ["mid-cell", "between-cells"])
def test_killing_the_host_leaves_no_worker_and_no_folder(
    host: HostRun, outside: Path, moment: str
) -> None:
    if moment == "between-cells":  # the host holds the worker idle after its first cell
        host.close()
        host = HostRun(host.emulator, outside, pause=True)
    host.go(PLANT + ("while True:\n    pass" if moment == "mid-cell" else ""))
    started = host.next_event("sandbox")
    worker, supervisor, workdir = started["pid"], started["supervisor"], Path(started["workdir"])
    assert pid_alive(worker)
    assert workdir.exists()
    if moment == "mid-cell":  # wait until the cell spins (the worker burns CPU)
        deadline = time.monotonic() + 30
        while cpu_ticks(worker) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cpu_ticks(worker) >= 20
    else:
        host.next_event("cell")
    os.kill(host.pid, signal.SIGKILL)
    host.process.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (
        pid_alive(worker) or session_members(supervisor) or workdir.exists()
    ):
        time.sleep(0.05)
    assert not pid_alive(worker), "the worker outlived its host"
    assert session_members(supervisor) == set()
    assert not workdir.exists(), f"the sandbox folder was left behind: {host.stderr()[-2000:]}"
    assert_no_leak(host, outside)


def test_signals_and_timers_do_not_outlive_their_cell(host: HostRun, outside: Path) -> None:
    signals = SYS + ".modules['signal']"
    host.go(
        f"s = {signals}\ns.signal(s.SIGALRM, s.SIG_DFL)\ns.setitimer(s.ITIMER_REAL, 0.3)\n"
        f"s.signal(s.SIGINT, s.SIG_IGN)\ns.alarm(1)",
        "import datetime\nnow = datetime.datetime.now\n"
        "end = now() + datetime.timedelta(seconds=1.5)\n"
        "while now() < end:\n    pass\nprint('survived')",
        "while True:\n    pass",  # the watchdog's interrupt still works: SIGINT is back
    )
    done = host.finish()
    outputs = cell_outputs(done)
    assert outputs[1]["error"] is None
    assert outputs[1]["output"] == "survived\n"
    assert outputs[2]["timed_out"]
    assert outputs[2]["error"].startswith("TimeoutError: the cell ran longer than 5 s")
    cells = [e for e in host.events if e["event"] == "cell"]
    assert [cell["restarts"] for cell in cells] == [0, 0, 0, 0]
    assert_no_leak(host, outside, done=done)


def test_a_tampered_worker_cannot_crash_or_flood_the_host(host: HostRun, outside: Path) -> None:
    channel = REPL_OBJECT + "._channel"
    host.go(
        # Terminal escapes in the output and the error.
        "print('\\x1b[2J\\x1b[31mred\\x07\\x9b')\nraise ValueError('\\x1b]0;owned\\x07')",
        # A frame nested far deeper than the JSON parser's recursion limit.
        f"c = {channel}\nc.send_frame(len(b'[' * 200000).to_bytes(4, 'big') + b'[' * 200000)\n"
        "while True:\n    pass",
        # A 50 MB error message.
        "raise ValueError('E' * 50_000_000)",
    )
    done = host.finish()
    assert done["answer"] == "done"
    escapes, nested, flood = cell_outputs(done)[:3]
    assert escapes["output"].startswith("[2J[31mred\n")
    assert escapes["error"] == "ValueError: ]0;owned"
    assert "\\u001b" not in json.dumps(done["trajectory"])
    assert "it broke the protocol: frame is nested too deeply" in nested["error"]
    assert len(flood["error"]) <= 2003
    assert len(flood["output"]) < 10_000
    assert_no_leak(host, outside, done=done)
