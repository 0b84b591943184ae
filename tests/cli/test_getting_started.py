"""docs/getting-started.md's "without a key" steps, done as a reader would do them.

Start ``polyvox emulate`` (on a free port), check that the ``export`` lines it prints are
the ones the page shows, then run the page's Python examples in a fresh interpreter with
only that environment, and check that the emulator answered them.
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import env_without_openai, polyvox_command
from tests.conftest import REPO

PAGE = REPO / "docs" / "getting-started.md"
EXPORT = re.compile(r"^export (\w+)=(\S+)$", re.MULTILINE)
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.DOTALL | re.MULTILINE)
DOC_PORT = "8765"  # what the page shows: `polyvox emulate`'s default port


def page_text() -> str:
    return PAGE.read_text(encoding="utf-8")


def documented_exports() -> list[tuple[str, str]]:
    """The ``export`` lines of the page's shell blocks, in order."""
    blocks = BASH_BLOCK.findall(page_text())
    return [pair for block in blocks for pair in EXPORT.findall(block)]


@pytest.fixture
def emulate() -> Iterator[tuple[int, str]]:
    """``polyvox emulate --port 0`` running; its port and everything it printed up to Ctrl-C."""
    process = subprocess.Popen(
        [polyvox_command(), "emulate", "--port", "0"],
        env=env_without_openai(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put("")  # the process ended

    threading.Thread(target=read, daemon=True).start()
    printed = ""
    try:
        deadline = time.monotonic() + 60
        while "Press Ctrl-C to stop." not in printed:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            assert line, f"polyvox emulate ended early:\n{printed}"
            printed += line
        port = re.search(r"listening on http://127\.0\.0\.1:(\d+)", printed)
        assert port, printed
        yield int(port.group(1)), printed
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_page_shows_what_polyvox_emulate_prints(emulate: tuple[int, str]) -> None:
    port, printed = emulate
    documented = documented_exports()
    assert [name for name, _ in documented] == [
        "OPENAI_BASE_URL", "OPENAI_API_KEY", "OLLAMA_HOST", "ANTHROPIC_BASE_URL",
        "ANTHROPIC_API_KEY", "GIGACHAT_BASE_URL", "GIGACHAT_AUTH_URL", "GIGACHAT_CREDENTIALS",
    ]  # fmt: skip
    printed_exports = EXPORT.findall(printed)
    expected = [(name, value.replace(f":{DOC_PORT}", f":{port}")) for name, value in documented]
    # the page shows the first lines; the other providers' follow them
    assert printed_exports[: len(expected)] == expected, printed
    assert "polyvox emulate" in page_text()


def test_the_page_examples_run_with_the_printed_environment(
    emulate: tuple[int, str], tmp_path: Path
) -> None:
    _, printed = emulate
    env = {
        name: value
        for name, value in env_without_openai().items()
        if not name.startswith("OLLAMA_")
    }
    env.update(EXPORT.findall(printed))  # the reader pasted the lines
    example = tmp_path / "example.py"
    example.write_text("\n\n".join(PYTHON_BLOCK.findall(page_text())), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(example)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    # the streaming example printed the emulator's answers (it echoes the prompt)
    assert "You said: Count to three." in done.stdout, done.stdout
    assert "You said: And again, streamed." in done.stdout, done.stdout
