"""The polyvox emulator as the benchmarks' server: in its own process, or a thread.

By default the server runs in a separate process (``polyvox.testing.serve``, what
``polyvox emulate`` runs): the benchmark
process then holds only client code, so a client's measured overhead is not inflated by
server work competing for the same GIL. ``--server thread`` runs it in-process instead
(``polyvox.testing.Emulator``), for comparison.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["SERVER_NOTES", "control", "emulator", "request_log"]

SERVER_NOTES = {
    "subprocess": "emulator in a separate process (polyvox.testing.serve, as `polyvox "
    "emulate`) on loopback; the clients alone in this process",
    "thread": "emulator in a thread of this process (shares the GIL with the clients)",
}

# What `polyvox emulate --port N` runs, with uvicorn's logging down to warnings.
_LAUNCH = (
    "import sys; from polyvox.testing import serve; "
    "serve('127.0.0.1', int(sys.argv[1]), log_level='warning')"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(proc: subprocess.Popen[bytes], log: IO[bytes], url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            err = log.read().decode(errors="replace")
            raise RuntimeError(f"the emulator exited with {proc.returncode}: {err[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is serving
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the emulator did not answer at {url} within {timeout:.0f} s")


@contextlib.contextmanager
def _subprocess_server() -> Iterator[str]:
    port = _free_port()
    cmd = [sys.executable, "-c", _LAUNCH, str(port)]
    # Its output goes to a file, not a pipe: a chatty server never blocks on a full pipe.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            root = f"http://127.0.0.1:{port}"
            _wait_ready(proc, log, f"{root}/v1/models", timeout=60)
            yield root
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def _thread_server() -> Iterator[str]:
    from polyvox.testing import Emulator

    with Emulator() as emu:
        yield str(emu.url)


def emulator(mode: str) -> contextlib.AbstractContextManager[str]:
    """Start an emulator and yield its root URL (``http://127.0.0.1:PORT``).

    One server speaks every protocol on its port: OpenAI under ``/v1``, Ollama's native
    API under ``/api`` (its clients take the root itself as their host).

    Args:
        mode: ``"subprocess"`` or ``"thread"``.

    Returns:
        A context manager that stops the server on exit.
    """
    return _subprocess_server() if mode == "subprocess" else _thread_server()


def control(root: str, path: str, body: dict[str, Any]) -> None:
    """Call the emulator's control API (``POST /_emulator/<path>``: ``fail``, ``reset``...).

    Args:
        root: The emulator's URL.
        path: The control endpoint.
        body: Its JSON body.
    """
    request = urllib.request.Request(
        f"{root}/_emulator/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def request_log(root: str) -> list[dict[str, Any]]:
    """The emulator's request log, oldest first (``GET /_emulator/requests``).

    Args:
        root: The emulator's URL.

    Returns:
        One mapping per request (its ``json`` body included).
    """
    with urllib.request.urlopen(f"{root}/_emulator/requests", timeout=10) as response:
        log: list[dict[str, Any]] = json.loads(response.read())
    return log
