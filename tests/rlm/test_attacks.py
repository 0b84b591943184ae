"""The attack corpus: hostile root-model code run in the RLM sandbox.

Each attack must be contained with a clear message for the model, the sandbox must keep
working, and the host must be untouched: no file appears outside the sandbox, the host
process carries on, and the worker's session holds no process but the worker.
"""

from __future__ import annotations

import dis
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from polyvox.rlm.sandbox import Sandbox, SandboxLimits
from polyvox.rlm.sandbox.audit import install_audit_hook
from tests.rlm.test_sandbox import (
    ESCAPE_OS,
    ESCAPE_SYS,
    REAL_IMPORT,
    RecordingHandler,
    pid_alive,
    session_members,
)

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="the RLM sandbox uses Linux rlimits, sessions and /proc"
)

SECRET = "TOP-SECRET-HOST-DATA"
WORKER_REPL = ESCAPE_SYS + "._getframe(0).f_back.f_locals['self']"
"""Code that reaches the worker's REPL object by walking up from the cell's frame (``f_back``
is not audited): the worker's internals are reachable, the audit hook is the boundary."""


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A host directory the sandbox must not touch, holding one secret file."""
    (tmp_path / "secret.txt").write_text(SECRET)
    return tmp_path


@pytest.fixture
async def sandbox(outside: Path) -> AsyncIterator[Sandbox]:
    box = await Sandbox.start(
        "The ledger lists 12 invoices.",
        RecordingHandler(),
        limits=SandboxLimits(cell_timeout_s=1.0, memory_mb=512),
    )
    box.kill_grace_s = 1.0
    pid = box.pid
    assert pid is not None
    host_pid = os.getpid()
    yield box
    # The host is untouched: nothing new outside, the same process, the REPL still works,
    # and nothing but the worker ever lived in the worker's session.
    assert_outside_untouched(outside)
    assert os.getpid() == host_pid
    assert (await box.run("1 + 1")).output.endswith("2\n")
    current, supervisor = box.pid, box.supervisor_pid
    assert current is not None
    assert supervisor is not None
    assert session_members(supervisor) == {supervisor, current}
    await box.close()
    assert not pid_alive(pid)
    assert not pid_alive(current)
    assert session_members(supervisor) == set()


def assert_outside_untouched(outside: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == SECRET


CONTAINED = [
    pytest.param("import os\nos.system('id')", "import of 'os' is not allowed", id="os.system"),
    pytest.param(
        ESCAPE_OS + "['system']('touch {outside}/pwned')",
        "PermissionError: starting processes is disabled in the RLM sandbox",
        id="os.system-escape",
    ),
    pytest.param(
        "import subprocess\nsubprocess.run(['touch', '{outside}/pwned'])",
        "starting processes is disabled in the RLM sandbox",
        id="subprocess",
    ),
    pytest.param(
        REAL_IMPORT + "('subprocess').run(['touch', '{outside}/pwned'])",
        "ImportError: starting processes is disabled in the RLM sandbox",
        id="subprocess-escape",
    ),
    pytest.param(
        "popen = [c for c in ().__class__.__mro__[1].__subclasses__() if c.__name__ == 'Popen']\n"
        "if not popen:\n    popen = [" + REAL_IMPORT + "('subprocess').Popen]\n"
        "popen[0](['touch', '{outside}/pwned'])",
        "starting processes is disabled in the RLM sandbox",
        id="mro-subclasses-popen",
    ),
    pytest.param(
        ESCAPE_OS + "['posix_spawn']('/bin/touch', ['touch', '{outside}/pwned'], {{}})",
        "PermissionError: starting processes is disabled in the RLM sandbox",
        id="posix_spawn",
    ),
    pytest.param(
        ESCAPE_OS + "['execv']('/bin/touch', ['touch', '{outside}/pwned'])",
        "PermissionError: starting processes is disabled in the RLM sandbox",
        id="execv",
    ),
    pytest.param(
        REAL_IMPORT + "('_posixsubprocess')",
        "starting processes is disabled in the RLM sandbox",
        id="_posixsubprocess",
    ),
    pytest.param(
        "import socket\nsocket.create_connection(('127.0.0.1', 6379))",
        "network access is disabled in the RLM sandbox",
        id="socket",
    ),
    pytest.param(
        REAL_IMPORT + "('socket').create_connection(('127.0.0.1', 6379))",
        "ImportError: network access is disabled in the RLM sandbox",
        id="socket-escape",
    ),
    pytest.param(
        "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:6379')",
        "network access is disabled in the RLM sandbox",
        id="urllib",
    ),
    pytest.param(
        "print(open('/etc/passwd').read())",
        "PermissionError: access to '/etc/passwd' is denied",
        id="read-/etc/passwd",
    ),
    pytest.param(
        "print(open('{home}/.bashrc').read())",
        "PermissionError: access to '{home}/.bashrc' is denied",
        id="read-home-file",
    ),
    pytest.param(
        "print(" + ESCAPE_OS + "['listdir']('{home}'))",
        "PermissionError: access to '{home}' is denied",
        id="list-home",
    ),
    pytest.param(
        "print(open('{outside}/secret.txt').read())",
        "PermissionError: access to '{outside}/secret.txt' is denied",
        id="read-host-file",
    ),
    pytest.param(
        "o = " + ESCAPE_OS + "\nprint(o['read'](o['open']('{outside}/secret.txt', 0), 100))",
        "PermissionError: access to '{outside}/secret.txt' is denied",
        id="os.open-host-file",
    ),
    pytest.param(
        "print(" + ESCAPE_SYS + ".modules['_io'].FileIO('{outside}/secret.txt').read())",
        "PermissionError: access to '{outside}/secret.txt' is denied",
        id="FileIO-host-file",
    ),
    pytest.param(
        "print(open('/proc/self/environ').read())",
        "PermissionError: access to '/proc/self/environ' is denied",
        id="read-/proc",
    ),
    pytest.param(
        "open('{outside}/pwned', 'w').write('x')",
        "PermissionError: access to '{outside}/pwned' is denied",
        id="write-outside",
    ),
    pytest.param(
        "open('../../pwned', 'w').write('x')",
        "PermissionError: access to '../../pwned' is denied",
        id="write-relative-escape",
    ),
    pytest.param(
        ESCAPE_OS + "['symlink']('{outside}', 'out')",
        "PermissionError: symbolic links are disabled in the RLM sandbox",
        id="symlink",
    ),
    pytest.param(
        "open('inside.txt', 'w').write('x')\n"
        + ESCAPE_OS
        + "['rename']('inside.txt', '{outside}/pwned')",
        "PermissionError: access to '{outside}/pwned' is denied",
        id="rename-out",
    ),
    pytest.param(
        ESCAPE_OS + "['mkfifo']('{outside}/pwned')",
        "KeyError: 'mkfifo'",
        id="mkfifo-removed",
    ),
    pytest.param(
        ESCAPE_OS + "['chdir']('{outside}')",
        "PermissionError: access to '{outside}' is denied",
        id="chdir-out",
    ),
    pytest.param(
        "import os\nwhile True:\n    os.fork()",
        "import of 'os' is not allowed",
        id="fork-bomb",
    ),
    pytest.param(
        "fork = " + ESCAPE_OS + "['fork']\nwhile True:\n    fork()",
        "PermissionError: starting processes is disabled in the RLM sandbox",
        id="fork-bomb-escape",
    ),
    pytest.param(
        "start = " + ESCAPE_SYS + ".modules['_thread'].start_new_thread\n"
        "def bomb():\n    while True:\n        start(bomb, ())\nbomb()",
        "PermissionError: threads are disabled in the RLM sandbox",
        id="thread-bomb",
    ),
    pytest.param(
        "import ctypes\nctypes.CDLL(None).system(b'id')",
        "ctypes is disabled in the RLM sandbox",
        id="ctypes",
    ),
    pytest.param(
        REAL_IMPORT + "('ctypes')",
        "ImportError: ctypes is disabled in the RLM sandbox",
        id="ctypes-escape",
    ),
    pytest.param("__import__('os').system('id')", "import of 'os' is not allowed", id="__import__"),
    pytest.param(
        "__builtins__['__import__']('os')", "import of 'os' is not allowed", id="__builtins__"
    ),
    pytest.param(
        "globals()['__builtins__']['__import__']('subprocess')",
        "starting processes is disabled",
        id="globals-builtins",
    ),
    pytest.param("exec('import os')", "import of 'os' is not allowed", id="exec-import"),
    pytest.param("import importlib", "import of 'importlib' is not allowed", id="importlib"),
    pytest.param(
        ESCAPE_OS + "['kill'](" + ESCAPE_OS + "['getppid'](), 9)",
        "PermissionError: sending signals to other processes is disabled in the RLM sandbox",
        id="kill-host",
    ),
    pytest.param(
        ESCAPE_OS + "['kill'](-1, 9)",
        "PermissionError: sending signals to other processes is disabled in the RLM sandbox",
        id="kill-everything",
    ),
    pytest.param(
        ESCAPE_OS + "['killpg'](" + ESCAPE_OS + "['getpgid'](" + ESCAPE_OS + "['getppid']()), 9)",
        "PermissionError: os.killpg is disabled in the RLM sandbox",
        id="killpg-host",
    ),
    pytest.param(
        "r = " + ESCAPE_SYS + ".modules['resource']\nr.setrlimit(r.RLIMIT_AS, (-1, -1))",
        "PermissionError: resource.setrlimit is disabled in the RLM sandbox",
        id="raise-rlimits",
    ),
    pytest.param(
        ESCAPE_SYS + ".settrace(lambda *a: None)",
        "PermissionError: sys.settrace is disabled in the RLM sandbox",
        id="settrace",
    ),
    pytest.param(
        REAL_IMPORT + "('gc').get_objects()",
        "disabled in the RLM sandbox",
        id="gc-introspection",
    ),
    pytest.param(
        ESCAPE_SYS + ".modules['_imp'].create_builtin",
        "AttributeError: module '_imp' has no attribute 'create_builtin'",
        id="create_builtin-removed",
    ),
    pytest.param(
        "f = lambda: 0\nf.__code__ = f.__code__.replace(co_code=b'\\x00' * 8)",
        "PermissionError: building code objects from bytes is disabled in the RLM sandbox",
        id="forged-bytecode",
    ),
    pytest.param(
        "code = type((lambda: 0).__code__)\ncode(0, 0, 0, 0, 0, 0, b'', (), (), (), '', '', '',"
        " 0, b'', b'')",
        "PermissionError: building code objects from bytes is disabled in the RLM sandbox",
        id="code-constructor",
    ),
    pytest.param(
        ESCAPE_SYS + ".modules['marshal'].loads(b'\\xe3' + b'\\x00' * 40)",
        "PermissionError: building code objects from bytes is disabled in the RLM sandbox",
        id="marshal",
    ),
    pytest.param(
        "import mmap",
        "import of 'mmap' is not allowed",
        id="mmap",
    ),
]


@pytest.mark.parametrize(("code", "message"), CONTAINED)
async def test_attack_is_contained(
    sandbox: Sandbox, outside: Path, code: str, message: str
) -> None:
    home = str(Path.home())
    result = await sandbox.run(code.format(outside=outside, home=home))
    expected = message.format(outside=outside, home=home)
    assert result.error is not None, result.output
    assert expected in result.error
    assert expected in result.output, "the model sees the message with its traceback"
    assert SECRET not in result.output
    assert "root:x:0:0" not in result.output
    assert not result.timed_out
    assert sandbox.restarts == 0


async def test_infinite_loop_is_stopped_by_the_cell_timeout(sandbox: Sandbox) -> None:
    await sandbox.run("before = 'kept'")
    started = time.monotonic()
    result = await sandbox.run("while True:\n    pass")
    assert time.monotonic() - started < 3
    assert result.timed_out
    assert result.error is not None
    assert result.error.startswith("TimeoutError: the cell ran longer than 1 s")
    assert (await sandbox.run("before")).output == "'kept'\n"
    assert sandbox.restarts == 0


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("x = bytearray(10 * 1024**3)", id="bytearray-10GB"),
        pytest.param("x = 'a' * (10 * 1024**3)", id="str-10GB"),
        pytest.param("x = [0] * (10 * 1024**3 // 8)", id="list-10GB"),
    ],
)
async def test_allocating_10_gb_fails_with_memory_error(sandbox: Sandbox, code: str) -> None:
    started = time.monotonic()
    result = await sandbox.run(code)
    assert time.monotonic() - started < 5
    assert result.error == "MemoryError: out of memory (the RLM sandbox allows 512 MB)"
    assert not result.timed_out
    await sandbox.run("chunks = x = None")
    assert sandbox.restarts == 0


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("print('x' * 100_000_000)", id="one-print"),
        pytest.param("line = 'y' * 999\nfor _ in range(100_000):\n    print(line)", id="many"),
    ],
)
async def test_printing_100_mb_is_cut_inside_the_worker(sandbox: Sandbox, code: str) -> None:
    result = await sandbox.run(code)
    assert result.error is None
    assert result.truncated
    assert len(result.output) < 20_000 + 200
    assert "more characters were not kept (the limit is 20,000 per cell)" in result.output
    assert result.output.count("x") + result.output.count("y") <= 20_000


async def test_allocating_step_by_step_stops_at_the_memory_limit() -> None:
    limits = SandboxLimits(cell_timeout_s=30, memory_mb=256)
    async with await Sandbox.start("x", RecordingHandler(), limits=limits) as box:
        result = await box.run("chunks = []\nwhile True:\n    chunks.append(bytearray(32 * 2**20))")
        assert result.error == "MemoryError: out of memory (the RLM sandbox allows 256 MB)"
        assert (await box.run("n = len(chunks)\nchunks = None\n0 < n < 8")).output == "True\n"
        assert box.restarts == 0


async def test_a_second_audit_hook_is_refused(sandbox: Sandbox) -> None:
    # sys.addaudithook swallows a refusal that is an Exception: the proof is that the new
    # hook never sees an event.
    result = await sandbox.run(
        "seen = []\n" + ESCAPE_SYS + ".addaudithook(lambda event, args: seen.append(event))\n"
        "compile('1', '<x>', 'eval')\nseen"
    )
    assert result.output == "[]\n"


async def test_overwriting_protected_names_is_undone(sandbox: Sandbox) -> None:
    result = await sandbox.run(
        "context = 'forged'\nllm_query = lambda prompt: 'forged answer'\ndel FINAL\n"
        "search = None\nprint(llm_query('q'), context)"
    )
    assert result.output == "forged answer forged\n", "the overwrite holds within the cell"
    assert set(result.restored) == {"context", "llm_query", "FINAL", "search"}
    after = await sandbox.run("print(context)\nprint(llm_query('q'))\nFINAL(len(search('\\\\d+')))")
    assert after.output == "The ledger lists 12 invoices.\nQ\n"
    assert after.final == "1"
    assert after.restored == ()


async def test_mutating_documents_is_undone() -> None:
    async with await Sandbox.start(
        ["first", "second"], RecordingHandler(), metadata=[{"n": 1}, {"n": 2}]
    ) as box:
        result = await box.run("documents[0]['metadata']['n'] = 99\ndocuments.pop()")
        assert result.restored == ("documents",)
        after = await box.run("[(d['text'], d['metadata']) for d in documents]")
        assert after.output == "[('first', {'n': 1}), ('second', {'n': 2})]\n"


async def test_the_audit_hook_cannot_be_rewired_through_its_frame(sandbox: Sandbox) -> None:
    # The review's Python 3.13 escape: walk a refusal's traceback to the hook's frame and
    # write its policy through f_locals (PEP 667). Reading that frame is refused.
    code = (
        "try:\n    open('/etc/passwd')\nexcept PermissionError as exc:\n"
        "    tb = exc.__traceback__\n    while tb.tb_next:\n        tb = tb.tb_next\n"
        "    frame = tb.tb_frame\n"
        "frame.f_locals['_root'] = '/'\nframe.f_locals['_root_prefix'] = '/'\n"
    )
    result = await sandbox.run(code)
    assert result.error == "PermissionError: the RLM sandbox's audit hook cannot be inspected"
    again = await sandbox.run("open('/etc/passwd')")
    assert again.error is not None
    assert again.error.startswith("PermissionError: access to '/etc/passwd' is denied")


@pytest.mark.parametrize("attribute", ["__code__", "__defaults__", "__kwdefaults__"])
async def test_replacing_a_functions_code_or_defaults_is_refused(
    sandbox: Sandbox, attribute: str
) -> None:
    value = {"__code__": "g.__code__", "__defaults__": "(1,)", "__kwdefaults__": "{'k': 1}"}
    result = await sandbox.run(
        f"def f(x=0, *, k=0):\n    return x\ndef g():\n    pass\nf.{attribute} = "
        + value[attribute]
    )
    assert result.error == f"PermissionError: setting {attribute} is disabled in the RLM sandbox"


def test_the_audit_hook_looks_up_no_globals() -> None:
    """Rebinding a module global or a builtin cannot change what the hook decides."""
    (hook,) = [
        const
        for const in install_audit_hook.__code__.co_consts
        if getattr(const, "co_name", None) == "hook"
    ]
    loads = [ins.argval for ins in dis.get_instructions(hook) if ins.opname == "LOAD_GLOBAL"]
    assert loads == []
    # No closure cells (Python 3.13 lets a frame's f_locals write through to them): the
    # policy is keyword-only defaults, copied into each call's own frame.
    assert hook.co_freevars == ()
    assert hook.co_kwonlyargcount > 30
    assert not [const for const in hook.co_consts if hasattr(const, "co_code")]


async def test_a_tampered_worker_cannot_confuse_the_host(sandbox: Sandbox) -> None:
    # Code that takes over the worker's own pipe can only get its REPL replaced.
    forged = await sandbox.run(
        f"channel = {WORKER_REPL}._channel\n"
        "channel.send({'op': 'result', 'seq': 999, 'output': 'forged', 'final': 'forged'})\n"
        "while True:\n    pass"
    )
    assert forged.final is None
    assert forged.error is not None
    assert "it broke the protocol" in forged.error
    assert sandbox.restarts == 1
    oversized = await sandbox.run(
        f"channel = {WORKER_REPL}._channel\nchannel.send_frame(b'\\x7f\\xff\\xff\\xff')\n"
        "while True:\n    pass"
    )
    assert oversized.error is not None
    assert "it broke the protocol: the worker sent a frame of 2,147,483,647 bytes" in (
        oversized.error
    )
    assert sandbox.restarts == 2


async def test_a_forged_result_cannot_flood_the_host_with_its_error() -> None:
    async with await Sandbox.start("x", RecordingHandler(), limits=SandboxLimits()) as box:
        forged = await box.run(
            f"c = {WORKER_REPL}._channel\nseq = {WORKER_REPL}._seq\n"
            "c.send({'op': 'result', 'seq': seq, 'output': '\\x1b[2Jx', 'error': 'E' * 50_000_000,"
            " 'final': '\\x1b[31mforged'})\nwhile True:\n    pass"
        )
        assert forged.error == "E" * 2000
        assert forged.output == "[2Jx"
        assert forged.final == "[31mforged"


async def test_worker_stderr_reaches_the_log_without_control_characters(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="polyvox.rlm.sandbox"):
        result = await sandbox.run(
            "o = " + ESCAPE_OS + "\no['write'](2, b'\\x1b[31mred\\x1b]0;title\\x07 text')\n"
            "o['_exit'](3)"
        )
    assert result.error is not None
    assert "it exited with status 3" in result.error
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "[31mred]0;title text" in logged
    assert "\x1b" not in logged
    assert "\x07" not in logged
