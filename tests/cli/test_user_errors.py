"""A user's mistake ends with a line or two saying what to do and an exit status, never a traceback.

Each case runs the real command: the ``polyvox`` console script in a subprocess, or
:func:`polyvox.cli.main.main` in-process with captured output.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from polyvox.cli.main import main
from polyvox.testing import Emulator
from tests.cli.test_cli import env_without_openai, free_port, polyvox_command


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def assert_no_traceback(self) -> None:
        assert "Traceback" not in self.out + self.err, self.err

    def assert_user_error(self, code: int, message: str, *, max_lines: int = 2) -> None:
        """The exit status, the message on stderr, at most ``max_lines`` lines, no traceback."""
        assert self.code == code, (self.code, self.err)
        self.assert_no_traceback()
        assert message in self.err, self.err
        assert 1 <= len(self.err.strip().splitlines()) <= max_lines, self.err


def run_command(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Ran:
    done = subprocess.run(
        [polyvox_command(), *args],
        env=env_without_openai() if env is None else env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)


def usage_error(args: Sequence[str], message: str) -> None:
    """argparse's usage error: status 2, the usage and the message, no traceback."""
    ran = run_command(*args)
    assert ran.code == 2, ran.err
    ran.assert_no_traceback()
    assert ran.err.startswith("usage: polyvox"), ran.err
    assert message in ran.err, ran.err


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLYVOX_DEBUG", raising=False)
    for name in list(os.environ):
        if name.startswith("OPENAI_"):
            monkeypatch.delenv(name)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


# ---- polyvox demo ---------------------------------------------------------------------------


def test_demo_against_an_unreachable_server() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    ran = run_command("demo", "--base-url", url)  # the console script, as typed
    ran.assert_user_error(1, f"could not connect to {url}")
    assert "`polyvox emulate`" in ran.err  # what to do
    assert ran.err.startswith("error: ")


def test_demo_without_v1_asks_whether_v1_was_meant(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = run_main(capsys, "demo", "--base-url", emulator.url)
    ran.assert_user_error(
        1, f"{emulator.url} answered 404 Not Found: did you mean {emulator.url}/v1?"
    )
    assert f"polyvox demo --base-url {emulator.url}/v1" in ran.err


def test_demo_names_the_model_when_the_v1_url_answers_404(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    from polyvox.testing import Fault

    emulator.fail(Fault(status=404, message="The model 'gpt-9' does not exist"), times=None)
    ran = run_main(capsys, "demo", "--base-url", emulator.openai_base_url, "--model", "gpt-9")
    ran.assert_user_error(1, "answered 404 Not Found")
    assert "did you mean" not in ran.err
    assert "--model gpt-9" in ran.err


def test_demo_with_a_rejected_key(emulator: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    from polyvox.testing import Fault

    emulator.fail(Fault.unauthorized(), times=None)
    ran = run_main(capsys, "demo", "--base-url", emulator.openai_base_url)
    ran.assert_user_error(1, "rejected the API key")
    assert "OPENAI_API_KEY" in ran.err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not-a-url", "'not-a-url' is not an http:// or https:// URL"),
        ("ftp://example.com/v1", "is not an http:// or https:// URL"),
        ("http://", "'http://' names no host"),
        ("http://127.0.0.1:99999/v1", "Port out of range"),
    ],
)
def test_demo_with_a_malformed_base_url_is_a_usage_error(url: str, message: str) -> None:
    usage_error(["demo", "--base-url", url], f"polyvox demo: error: argument --base-url: {url!r}")
    usage_error(["demo", "--base-url", url], message)


def test_demo_with_a_malformed_openai_base_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "localhost:8765")
    ran = run_main(capsys, "demo")
    ran.assert_user_error(1, "OPENAI_BASE_URL: 'localhost:8765' is not an http:// or https:// URL")
    assert "--base-url" in ran.err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_exits_130_without_a_traceback() -> None:
    with socket.socket() as server:  # accepts connections, never answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(60)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/v1"
        process = subprocess.Popen(
            [polyvox_command(), "demo", "--base-url", url],
            env=env_without_openai(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        try:
            connection, _ = server.accept()  # the demo's request is in flight
            with connection:
                process.send_signal(signal.SIGINT)
                out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    ran = Ran(process.returncode, out, err)
    ran.assert_user_error(130, "interrupted", max_lines=1)


# ---- --debug --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--debug", "demo"], {}),
        (["demo", "--debug"], {}),
        (["demo"], {"POLYVOX_DEBUG": "1"}),
    ],
    ids=["before", "after", "environment"],
)
def test_debug_adds_the_traceback(
    args: list[str],
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    url = f"http://127.0.0.1:{closed_port()}/v1"
    ran = run_main(capsys, *args, "--base-url", url)
    assert ran.code == 1
    assert "Traceback (most recent call last)" in ran.err
    assert f"error: openai: could not connect to {url}" in ran.err  # the message still ends it


def test_an_unforeseen_error_is_one_line_and_points_at_debug(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr("polyvox.cli.demo.run_demo", broken)
    ran = run_main(capsys, "demo")
    ran.assert_user_error(1, "error: something nobody foresaw")
    assert "--debug" in ran.err


# ---- polyvox emulate ------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["99999", "-1", "eighty"])
def test_emulate_with_a_bad_port_is_a_usage_error(port: str) -> None:
    message = "invalid int value" if port == "eighty" else f"{port} is not a port number: use"
    usage_error(["emulate", "--port", port], f"argument --port: {message}")


def test_emulate_on_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = run_command("emulate", "--port", str(port), timeout=30)
    ran.assert_user_error(1, f"cannot listen on 127.0.0.1:{port}: the port is already in use")
    assert "--port 0" in ran.err


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("no-such-host.invalid", "unknown host 'no-such-host.invalid'"),
        ("192.0.2.1", "192.0.2.1 is not an address of this machine"),  # TEST-NET-1
    ],
)
def test_emulate_on_a_host_that_is_not_here(host: str, message: str) -> None:
    ran = run_command("emulate", "--host", host, "--port", "0", timeout=30)
    ran.assert_user_error(1, message)
    assert "--host 127.0.0.1" in ran.err


def test_emulate_without_the_right_to_bind(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(host: str, port: int, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("polyvox.testing.emulator.serve", refused)
    ran = run_main(capsys, "emulate", "--port", "80")
    ran.assert_user_error(1, "cannot listen on 127.0.0.1:80: permission denied")
    assert "ports below 1024 need administrator rights" in ran.err


# ---- polyvox ollama -------------------------------------------------------------------------


def test_ollama_host_goes_before_or_after_the_action(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    host = emulator.ollama_url
    outputs = []
    for args in (
        ["ollama", "--host", host, "list"],
        ["ollama", "list", "--host", host],
        ["--debug", "ollama", "list", "--host", host],
        ["ollama", "--host", "http://127.0.0.1:9", "list", "--host", host],  # the last one wins
    ):
        emulator.reset()
        ran = run_main(capsys, *args)
        assert ran.code == 0, (args, ran.err)
        assert [r.path for r in emulator.requests] == ["/api/tags"], args
        outputs.append(ran.out)
    assert outputs[0].strip()  # the emulated server's models, one a line
    assert all(out == outputs[0] for out in outputs)


@pytest.mark.parametrize("action", [["pull", "llama3.2"], ["health", "llama3.2"]])
def test_ollama_host_after_pull_and_health(
    action: list[str], emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = run_main(capsys, "ollama", *action, "--host", emulator.ollama_url)
    assert ran.code == 0, ran.err
    assert emulator.requests


def test_ollama_unreachable_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    host = f"http://127.0.0.1:{closed_port()}"
    ran = run_main(capsys, "ollama", "list", "--host", host)
    ran.assert_user_error(1, f"Ollama is not reachable at {host}")


@pytest.mark.parametrize(
    ("host", "message"),
    [("ftp://x", "'ftp://x' is not an http:// or https:// URL"), ("h:99999", "Port out of range")],
)
def test_ollama_with_a_malformed_host_is_a_usage_error(host: str, message: str) -> None:
    usage_error(["ollama", "list", "--host", host], message)
    usage_error(["ollama", "--host", host, "list"], message)


# ---- polyvox costs --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_ledger(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A ledger whose CSV is far larger than a pipe's buffer."""
    from polyvox.costs.ledger import CallRecord, Ledger

    url = f"sqlite:///{tmp_path_factory.mktemp('pipe') / 'ledger.sqlite3'}"
    ledger = Ledger(url, strict=True)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    for minute in range(3000):
        ledger.record(
            CallRecord(
                time=start + timedelta(minutes=minute),
                provider="openai",
                model="gpt-4o-mini",
                input_tokens=10,
                output_tokens=5,
            )
        )
    assert ledger.flush(timeout=60)
    ledger.close()
    return url


@pytest.mark.skipif(sys.platform == "win32", reason="SIGPIPE semantics")
def test_export_into_a_closed_pipe_ends_quietly(big_ledger: str) -> None:
    process = subprocess.Popen(
        [polyvox_command(), "costs", "export", "-o", "-", "--ledger", big_ledger],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith("id,time,")  # `| head -1`
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert err == "", err  # no "Broken pipe", no traceback
    assert process.returncode == 128 + signal.SIGPIPE


@pytest.mark.skipif(sys.platform == "win32", reason="SIGPIPE semantics")
def test_demo_into_a_closed_pipe_ends_quietly() -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line
    with os.fdopen(write, "w") as closed:
        done = subprocess.run(
            [polyvox_command(), "demo", "--emulator"],
            stdout=closed,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.stderr == ""
    assert done.returncode == 128 + signal.SIGPIPE


@pytest.mark.parametrize(
    ("action", "hidden", "extra"),
    [
        (["report"], "polyvox.costs.ledger.database", "costs"),
        (["export", "-o", "-"], "sqlalchemy", "costs"),
        (["plot", "-o", "costs.png"], "polyvox.costs.ledger.database", "plot"),
        (["plot", "-o", "costs.png"], "matplotlib", "plot"),
    ],
)
def test_a_missing_extra_names_its_install_command(
    action: list[str],
    hidden: str,
    extra: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(sys.modules):
        if name == hidden or name.startswith(hidden + "."):
            monkeypatch.delitem(sys.modules, name)
    if hidden == "sqlalchemy":
        monkeypatch.delitem(sys.modules, "polyvox.costs.ledger.database", raising=False)
    monkeypatch.setitem(sys.modules, hidden, None)  # import fails: "not installed"
    ledger = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    ran = run_main(capsys, "costs", *action, "--ledger", ledger)
    ran.assert_user_error(1, f"comes with the {extra!r} extra of polyvox-cli")
    assert f'pip install "polyvox-cli[{extra}]"' in ran.err
    assert ran.err.startswith(f"error: polyvox costs {action[0]} needs ")
    assert not (tmp_path / "costs.png").exists()


@pytest.mark.parametrize(
    ("ledger", "message"),
    [
        ("sqlite:///{tmp}", "is unavailable"),  # a folder, not a database file
        ("sqlite:///{tmp}/junk.db", "file is not a database"),
        ("not a url", "malformed ledger URL"),
    ],
)
def test_an_unreadable_ledger(
    ledger: str, message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "junk.db").write_text("not sqlite", encoding="utf-8")
    ran = run_main(capsys, "costs", "report", "--ledger", ledger.format(tmp=tmp_path))
    ran.assert_user_error(1, message)


def test_a_missing_ledger_file_is_said_plainly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'typo.sqlite3'}"
    report = run_main(capsys, "costs", "report", "--ledger", url)
    assert report.code == 0  # nothing recorded yet is an answer, not an error
    assert report.out.strip() == f"no calls recorded: the ledger {url} does not exist yet"
    plot = run_main(capsys, "costs", "plot", "--ledger", url, "-o", str(tmp_path / "p.png"))
    plot.assert_user_error(1, f"nothing to plot: the ledger {url} does not exist yet")


# ---- usage errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["costs"], "the following arguments are required: ACTION"),
        (["costs", "plot"], "the following arguments are required: --output/-o"),
        (["ollama", "pull"], "the following arguments are required: model"),
        (["demo", "--model"], "argument --model: expected one argument"),
        (["demo", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_invalid_arguments_exit_2_with_the_usage(args: list[str], message: str) -> None:
    usage_error(args, message)
