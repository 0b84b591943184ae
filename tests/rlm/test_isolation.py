"""Isolation levels, the sandbox's report of its layers, and cleaning up after a worker."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest

from polyvox.rlm import RecursiveLanguageModel, RLMError, SandboxReport, sandbox_report
from polyvox.rlm.sandbox import Sandbox, SandboxError, SandboxLimits
from polyvox.rlm.sandbox.isolation import SANDBOX_UID_BASE, seccomp_unavailable_reason
from polyvox.rlm.sandbox.janitor import remove_folder
from polyvox.rlm.trajectory import Trajectory
from polyvox.testing import Emulator
from tests.rlm.conftest import ROOT, repl
from tests.rlm.test_sandbox import ESCAPE_OS, RecordingHandler

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the RLM sandbox runs on Linux")
needs_seccomp = pytest.mark.skipif(
    sys.platform == "linux" and seccomp_unavailable_reason() is not None,
    reason=f"seccomp is unavailable here: {seccomp_unavailable_reason()}",
)
ROOT_ONLY = pytest.mark.skipif(sys.platform == "linux" and os.geteuid() != 0, reason="root")


def test_isolation_must_be_kernel_or_process() -> None:
    with pytest.raises(ValueError, match="isolation must be 'kernel' or 'process', not 'none'"):
        SandboxLimits(isolation="none")  # type: ignore[arg-type]


def test_the_machine_report_names_every_layer() -> None:
    report = sandbox_report()
    assert report.isolation == "kernel"
    assert report.seccomp is (seccomp_unavailable_reason() is None)
    assert report.no_new_privs
    assert report.parent_death_signal
    if os.geteuid() == 0:
        assert report.dropped_privileges
        assert report.uid == SANDBOX_UID_BASE
    weaker = sandbox_report("process")
    assert not weaker.seccomp
    assert weaker.landlock_abi == 0
    assert weaker.missing[0].startswith("seccomp and Landlock: not applied")


@needs_seccomp
async def test_a_running_worker_reports_what_it_applied() -> None:
    async with await Sandbox.start("x", RecordingHandler()) as box:
        report = box.report
        assert report.isolation == "kernel"
        assert report.seccomp
        assert report.layers[0] == "seccomp"
        predicted = sandbox_report()
        assert report.landlock_abi == predicted.landlock_abi
        assert report.dropped_privileges == predicted.dropped_privileges
        assert SandboxReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


async def test_without_seccomp_the_default_refuses_and_says_how_to_opt_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        "polyvox.rlm.sandbox.host.seccomp_unavailable_reason",
        lambda: "this kernel was built without seccomp",
    )
    with pytest.raises(SandboxError) as caught:
        await Sandbox.start("x", RecordingHandler())
    message = str(caught.value)
    assert "this kernel was built without seccomp" in message
    assert "SandboxLimits(isolation='process')" in message
    assert "not a security boundary" in message


async def test_the_rlm_refuses_the_same_way(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator, make_rlm: type[RecursiveLanguageModel]
) -> None:
    monkeypatch.setattr(
        "polyvox.rlm.sandbox.host.seccomp_unavailable_reason", lambda: "no seccomp here"
    )
    emulator.script(repl("FINAL('x')"), model=ROOT)
    with pytest.raises(RLMError, match=r"no seccomp here.*isolation='process'"):
        await make_rlm().ainvoke({"question": "q", "context": "c"})


async def test_process_isolation_is_an_explicit_opt_in_warned_on_every_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits = SandboxLimits(isolation="process")
    with caplog.at_level(logging.WARNING, logger="polyvox.rlm.sandbox"):
        for _ in range(2):
            async with await Sandbox.start("x", RecordingHandler(), limits=limits) as box:
                assert not box.report.seccomp
                assert box.report.landlock_abi == 0
                assert (await box.run("1 + 1")).output == "2\n"
    warnings = [r for r in caplog.records if "isolation='process'" in r.getMessage()]
    assert len(warnings) == 2
    assert "not a security boundary" in warnings[0].getMessage()


@needs_seccomp
async def test_the_trajectory_records_the_sandbox_layers(
    emulator: Emulator, make_rlm: type[RecursiveLanguageModel], tmp_path: Path
) -> None:
    emulator.script(repl("FINAL('ok')"), model=ROOT)
    result = await make_rlm().ainvoke({"question": "q", "context": "c"})
    report = result.trajectory.sandbox
    assert report is not None
    assert report.seccomp
    path = result.trajectory.to_jsonl(tmp_path / "run.jsonl")
    again = Trajectory.from_jsonl(path)
    assert again.sandbox == report
    html = result.trajectory.to_html()
    assert "Sandbox (kernel isolation): seccomp" in html


@needs_seccomp
@ROOT_ONLY
async def test_two_sandboxes_never_share_a_uid() -> None:
    async with (
        await Sandbox.start("a", RecordingHandler()) as first,
        await Sandbox.start("b", RecordingHandler()) as second,
    ):
        assert first.report.uid != second.report.uid
        assert first.report.uid >= SANDBOX_UID_BASE
        assert os.stat(first.workdir).st_uid == first.report.uid
        # A restarted worker keeps its sandbox's uid (and so its files).
        uid = first.report.uid
        await first.run("open('kept.txt', 'w').write('x')")
        await first.run(ESCAPE_OS + "['_exit'](1)")
        assert first.restarts == 1
        assert first.report.uid == uid
        assert (await first.run("open('kept.txt').read()")).output == "'x'\n"


async def test_values_read_back_are_stripped_of_control_characters() -> None:
    async with await Sandbox.start("x", RecordingHandler()) as box:
        await box.run("answer = 'OK\\x1b[2J\\x1b[31mPWNED\\x07\\rFAKE\\u202e'")
        assert await box.get_var("answer") == "OK[2J[31mPWNEDFAKE"
        await box.run("Evil = type('\\x1b[31mevil', (), {})\nv = Evil()")
        described = await box.show_vars()
        assert described["v"] == "[31mevil"


def test_removing_a_folder_survives_what_a_cell_can_build(tmp_path: Path) -> None:
    top = tmp_path / "polyvox-rlm-test"
    top.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    here = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(1200):  # deeper than the recursion limit, longer than PATH_MAX
            os.mkdir("d" * 60, dir_fd=here)
            (below := os.open("d" * 60, os.O_RDONLY | os.O_DIRECTORY, dir_fd=here))
            os.close(here)
            here = below
            os.close(os.open("f", os.O_WRONLY | os.O_CREAT, 0o000, dir_fd=here))
        os.symlink(str(outside), "link", dir_fd=here)
    finally:
        os.close(here)
    os.chmod(top, 0o000)
    parent_mode = tmp_path.stat().st_mode
    remove_folder(str(top))
    assert not top.exists()
    assert (outside / "keep.txt").read_text() == "keep", "a link was followed"
    assert tmp_path.stat().st_mode == parent_mode, "the parent's mode was changed"
    remove_folder(str(top))  # gone already: nothing happens
    assert tmp_path.stat().st_mode == parent_mode


@needs_seccomp
@ROOT_ONLY
async def test_a_folder_the_worker_cannot_reach_is_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    monkeypatch.setattr("tempfile.tempdir", str(private))
    with pytest.raises(SandboxError) as caught:
        await Sandbox.start("x", RecordingHandler())
    message = str(caught.value)
    assert "cannot be reached by the worker's uid" in message
    assert "TMPDIR" in message
    assert "isolation='process'" not in message
    assert list(private.iterdir()) == [], "the folder was removed"


@ROOT_ONLY
def test_a_host_that_is_not_root_removes_what_the_cell_made_read_only() -> None:
    import shutil
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="polyvox-shared-", dir="/tmp"))  # a /tmp of its own
    shared.chmod(0o1777)
    top = shared / "polyvox-rlm-test"
    top.mkdir()
    os.chown(top, 65534, 65534)
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, reports by exit status
        code = 1
        try:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            (top / "d").mkdir()
            (top / "d" / "f").write_text("x")
            os.chmod(top / "d", 0o500)  # what the cell's code can do inside its folder
            (top / "e").mkdir(mode=0o000)
            os.chmod(top, 0o500)
            remove_folder(str(top))
            code = 0 if not top.exists() else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    try:
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        shutil.rmtree(shared)
