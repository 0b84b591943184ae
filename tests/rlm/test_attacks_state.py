"""Attacks on the sandbox's own state: disk, builtins, helper introspection, restore step."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator

import pytest

from polyvox.rlm.sandbox import Sandbox, SandboxLimits
from tests.rlm.test_sandbox import ESCAPE_OS, RecordingHandler

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="the RLM sandbox uses Linux rlimits, sessions and /proc"
)

SMALL_DISK = SandboxLimits(cell_timeout_s=5.0, memory_mb=512, disk_mb=2, max_files=20)


@pytest.fixture
async def box() -> AsyncIterator[Sandbox]:
    sandbox = await Sandbox.start(
        "The ledger lists 12 invoices.", RecordingHandler(), limits=SMALL_DISK
    )
    sandbox.kill_grace_s = 1.0
    yield sandbox
    await sandbox.close()


def _tree(path: str) -> tuple[int, int]:
    files = size = 0
    for directory, dirs, names in os.walk(path):
        files += len(dirs) + len(names)
        size += sum(os.path.getsize(os.path.join(directory, n)) for n in names)
    return files, size


async def test_creating_many_files_stops_at_max_files(box: Sandbox) -> None:
    result = await box.run("for i in range(10_000):\n    open(f'e{i}', 'w').close()")
    assert result.error is not None
    assert "working directory is full: it may hold at most 20 files" in result.error
    assert _tree(box.workdir)[0] == 20
    # Deleting a file makes room again.
    freed = await box.run(f"{ESCAPE_OS}['remove']('e0')\nopen('again', 'w').close()")
    assert freed.error is None, freed.output
    assert _tree(box.workdir)[0] == 20


async def test_directories_count_too(box: Sandbox) -> None:
    result = await box.run(f"for i in range(100):\n    {ESCAPE_OS}['mkdir'](f'd{{i}}')")
    assert result.error is not None
    assert "working directory is full" in result.error
    assert _tree(box.workdir)[0] == 20


async def test_writing_many_bytes_stops_near_disk_mb(box: Sandbox) -> None:
    chunk = "'x' * (512 * 1024)"
    result = await box.run(
        f"block = {chunk}\nfor i in range(40):\n    with open(f'b{{i}}', 'w') as fh:\n"
        "        fh.write(block)"
    )
    assert result.error is not None
    assert "2 MiB" in result.error
    files, size = _tree(box.workdir)
    assert size <= 2 * 1024 * 1024 + 512 * 1024
    assert files < 10


async def test_one_file_is_capped_by_the_file_size_limit(box: Sandbox) -> None:
    result = await box.run("with open('big', 'w') as fh:\n    fh.write('x' * (3 * 1024 * 1024))")
    assert result.error is not None
    assert "File too large" in result.error
    assert _tree(box.workdir)[1] <= 2 * 1024 * 1024


async def test_deleting_builtins_does_not_bring_back_the_real_import(box: Sandbox) -> None:
    deleted = await box.run("del __builtins__")
    assert deleted.restored == ("__builtins__",)
    after = await box.run("import os")
    assert after.error is not None
    assert "import of 'os' is not allowed" in after.error
    swapped = await box.run("__builtins__['__import__'] = len\n__builtins__ = {}")
    assert "__builtins__" in swapped.restored
    again = await box.run("import signal")
    assert again.error is not None
    assert "import of 'signal' is not allowed" in again.error


@pytest.mark.parametrize(
    "route",
    [
        "llm_query.__func__.__globals__",
        "llm_query.__self__",
        "FINAL.__func__.__globals__",
        "search.__wrapped__",
        "llm_query[0].__wrapped__",
        "llm_query[0].__func__",
    ],
)
async def test_helpers_have_no_route_to_the_worker(box: Sandbox, route: str) -> None:
    result = await box.run(route)
    assert result.error is not None
    assert result.error.startswith("AttributeError"), result.error


@pytest.mark.parametrize(
    "route",
    [
        "llm_query.__call__.__globals__",
        "type(llm_query).__call__.__globals__",
        "type(llm_query).__call__.__builtins__",
        "type(FINAL_VAR).__repr__.__globals__",
    ],
)
async def test_helper_globals_hold_no_modules(box: Sandbox, route: str) -> None:
    result = await box.run(
        f"g = {route}\nprint(sorted(g), 'os' in g, 'sys' in g, "
        "[k for k, v in g.items() if type(v).__name__ == 'module'])"
    )
    assert result.error is None, result.output
    assert result.output.endswith("False False []\n")


async def test_helpers_still_work_and_show_their_signature(box: Sandbox) -> None:
    result = await box.run("print(llm_query)\nprint(llm_query('q'), len(search('ledger')))")
    assert result.output == "<RLM sandbox function llm_query(prompt) -> str>\nQ 1\n"
    immutable = await box.run("llm_query.x = 1")
    assert immutable.error is not None
    assert immutable.error.startswith("AttributeError")


async def test_a_hostile_eq_in_documents_cannot_crash_the_worker() -> None:
    async with await Sandbox.start(
        ["doc one", "doc two"],
        RecordingHandler(),
        limits=SandboxLimits(cell_timeout_s=2.0, memory_mb=512),
        metadata=[{"a": 1}, {"b": 2}],
    ) as sandbox:
        sandbox.kill_grace_s = 1.0
        await sandbox.run("x = 5")
        hostile = await sandbox.run(
            "class E:\n    def __eq__(self, other):\n        raise ValueError('boom')\n"
            "    def __hash__(self):\n        return hash('a')\n"
            "documents[0]['metadata'] = E()\ndocuments[1]['metadata'] = {E(): 1}"
        )
        assert hostile.error is None
        assert hostile.restored == ("documents",)
        after = await sandbox.run("print(x, [d['metadata'] for d in documents])")
        assert after.error is None
        assert after.output == "5 [{'a': 1}, {'b': 2}]\n"
        assert sandbox.restarts == 0


async def test_a_looping_eq_in_documents_is_never_called() -> None:
    async with await Sandbox.start(
        ["doc one"],
        RecordingHandler(),
        limits=SandboxLimits(cell_timeout_s=2.0, memory_mb=512),
        metadata=[{"a": 1}],
    ) as sandbox:
        sandbox.kill_grace_s = 1.0
        await sandbox.run("x = 7")
        hostile = await sandbox.run(
            "class E(dict):\n    def __eq__(self, other):\n        while True:\n"
            "            pass\ndocuments[0]['metadata'] = E(a=1)"
        )
        assert hostile.error is None
        assert hostile.restored == ("documents",)
        after = await sandbox.run("print(x)")
        assert after.output == "7\n"
        assert sandbox.restarts == 0
