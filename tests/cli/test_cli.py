"""The ``polyvox`` command: ``polyvox demo``, ``polyvox emulate``, usage errors."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import httpx
import openai
import pytest

from polyvox.cli.demo import run_demo
from polyvox.testing import Emulator

USAGE_LINE = re.compile(
    r"^  (stream|tool call|answer|all)\s+input\s+(\d+)\s+output\s+(\d+)\s+total\s+(\d+)$", re.M
)


def polyvox_command() -> str:
    """The ``polyvox`` console script installed beside this interpreter."""
    found = shutil.which("polyvox", path=str(Path(sys.executable).parent))
    assert found, f"the polyvox console script is not installed beside {sys.executable}"
    return found


def env_without_openai() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_demo_output(out: str) -> None:
    """What every emulator run of the demo prints."""
    assert "runs against the built-in emulator at http://127.0.0.1:" in out
    # 1. the streamed reply (the emulator echoes the question)
    assert "> In one sentence, what is LangChain?" in out
    assert "\nYou said: In one sentence, what is LangChain?\n" in out
    # 2. the tool call and its result, then the answer that quotes the result
    call = re.search(r"^  tool call: get_weather\((\{'city': .+\})\) -> (.+)$", out, re.M)
    assert call, out
    result = call.group(2)
    assert "°C" in result
    assert f"The tool returned: {result}" in out
    # 3. token usage: every call counted, the "all" line the sum of the others
    usage = {m[0]: tuple(map(int, m[1:])) for m in USAGE_LINE.findall(out)}
    assert set(usage) == {"stream", "tool call", "answer", "all"}, out
    for label, (prompt, completion, total) in usage.items():
        assert prompt > 0, label
        assert completion > 0, label
        assert total == prompt + completion, label
    calls = [usage[k] for k in ("stream", "tool call", "answer")]
    assert usage["all"] == tuple(sum(column) for column in zip(*calls, strict=True))


@pytest.fixture(scope="module")
def demo_output() -> str:
    out = StringIO()
    assert run_demo(force_emulator=True, out=out) == 0
    return out.getvalue()


def test_demo_in_process_runs_against_the_emulator(demo_output: str) -> None:
    assert demo_output.startswith("polyvox demo: --emulator given, so this runs against")
    check_demo_output(demo_output)


def test_demo_console_script_without_a_key_uses_the_emulator() -> None:
    result = subprocess.run(
        [polyvox_command(), "demo"],
        env=env_without_openai(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("polyvox demo: no OPENAI_API_KEY is set, so this runs")
    check_demo_output(result.stdout)


def test_demo_tool_call_asks_for_warsaw(demo_output: str) -> None:
    assert "  tool call: get_weather({'city': 'Warsaw'}) -> 12°C, light rain" in demo_output


def test_demo_names_the_server_from_openai_base_url(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.openai_base_url)
    out = StringIO()

    assert run_demo(out=out) == 0

    assert emulator.requests, "the demo called the server OPENAI_BASE_URL names"
    header = out.getvalue().splitlines()[0]
    assert emulator.openai_base_url in header, header


@pytest.fixture
def emulate_process() -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``polyvox emulate --port PORT``, answering health checks; stopped afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [polyvox_command(), "emulate", "--port", str(port)],
        env=env_without_openai(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "polyvox emulate did not come up"
                time.sleep(0.05)
        assert health.status_code == 200
        protocols = ["openai", "ollama", "gemini", "anthropic", "huggingface"]
        protocols.append("gigachat")
        protocols.append("yandex")
        assert health.json() == {"status": "ok", "protocols": protocols}
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def test_emulate_serves_the_openai_sdk(
    emulate_process: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = emulate_process
    with openai.OpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", max_retries=0
    ) as client:
        completion = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello, emulator"}]
        )
    assert completion.choices[0].message.content == "You said: Hello, emulator"
    assert completion.model == "gpt-4o-mini"
    assert completion.usage is not None
    assert completion.usage.total_tokens > 0

    process.terminate()
    process.communicate(timeout=10)
    assert process.returncode in (0, -signal.SIGTERM)


def test_emulate_prints_the_hugging_face_urls_and_serves_them(
    emulate_process: tuple[subprocess.Popen[str], int],
) -> None:
    """What the banner prints for Hugging Face is what polyvox and huggingface_hub take."""
    from huggingface_hub import HfApi

    from polyvox.huggingface import ChatHuggingFace

    process, _ = emulate_process
    assert process.stdout is not None
    printed = ""
    while "Press Ctrl-C to stop." not in printed:
        line = process.stdout.readline()
        assert line, printed
        printed += line
    router = re.search(r"HF_ROUTER_URL=(\S+)\)", printed)
    hub = re.search(r"HF_ENDPOINT=(\S+);", printed)
    assert router, printed
    assert hub, printed
    model = ChatHuggingFace(
        model="meta-llama/Llama-3.3-70B-Instruct", api_key="hf_cli", base_url=router.group(1)
    )
    assert model.invoke("Hello, router").content == "You said: Hello, router"
    info = HfApi(endpoint=hub.group(1)).model_info("meta-llama/Llama-3.3-70B-Instruct")
    assert info.id == "meta-llama/Llama-3.3-70B-Instruct"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_emulate_serves_the_yandex_sdk_over_grpc(
    emulate_process: tuple[subprocess.Popen[str], int],
) -> None:
    """The banner's ``YC_*`` lines point ``yandex-ai-studio-sdk`` (and polyvox) at it."""
    from polyvox.yandex import ChatYandexGPT

    process, port = emulate_process
    assert process.stdout is not None
    exports: dict[str, str] = {}
    while "YC_FOLDER_ID" not in exports:
        line = process.stdout.readline()
        assert line, "the banner has no YC_* lines"
        if line.startswith("export YC_"):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            exports[name] = value
    assert exports["YC_API_ENDPOINT"] == f"127.0.0.1:{port + 1}"
    model = ChatYandexGPT(
        model="yandexgpt",
        base_url=exports["YC_API_ENDPOINT"],
        api_key=exports["YC_API_KEY"],
        folder_id=exports["YC_FOLDER_ID"],
        max_retries=0,
    )
    assert model.invoke("Привет").content == "You said: Привет"
    model.close()
    health = httpx.get(f"http://127.0.0.1:{port}/_emulator/requests", timeout=5)
    assert any(r["path"].endswith("TextGenerationService/Completion") for r in health.json())


def test_emulate_stops_cleanly_on_ctrl_c(
    emulate_process: tuple[subprocess.Popen[str], int],
) -> None:
    process, _ = emulate_process
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=10)
    assert "Traceback" not in err, err


def test_emulate_says_where_it_listens(
    emulate_process: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = emulate_process
    process.terminate()
    out, err = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}" in out + err


def test_help_lists_the_commands() -> None:
    result = subprocess.run(
        [polyvox_command(), "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0  # argparse: --help is a success
    assert result.stdout.startswith("usage: polyvox ")
    assert "demo" in result.stdout
    assert "emulate" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: COMMAND"),
        (["emulate", "--port", "not-a-port"], "invalid int value: 'not-a-port'"),
    ],
)
def test_bad_command_lines_give_usage_and_exit_2(args: list[str], message: str) -> None:
    result = subprocess.run(
        [polyvox_command(), *args], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert result.stderr.startswith("usage: polyvox")
    assert message in result.stderr
    assert result.stdout == ""


def test_version_names_every_installed_polyvox_package(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from importlib.metadata import version

    from polyvox.cli.main import build_parser

    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--version"])
    assert exited.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"polyvox {version('polyvox-cli')}"
    assert f"  polyvox-core {version('polyvox-core')}" in lines
