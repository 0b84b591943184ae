"""The host's handle on one worker process: spawn it, exchange frames, kill it.

The worker runs ``python -I -S -X utf8 -c BOOTSTRAP <arguments>``: isolated mode (no
``PYTHON*`` variables, no user site, no script directory on ``sys.path``), no ``site``
(so no ``.pth`` file of the host's environment runs), and the ``sys.path`` entries that hold
``polyvox.rlm``, ``polyvox.core`` and any allowed non-standard module passed explicitly. The
bootstrap registers ``polyvox.rlm`` as a bare package, so the worker never runs the package's
``__init__`` (nor whatever it imports). The worker gets a minimal environment, its own
session (so its process group can be killed as one), its working directory as cwd, and the
kernel limits applied before ``exec``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from polyvox.rlm.sandbox.janitor import remove_folder
from polyvox.rlm.sandbox.limits import SandboxLimits, rlimit_setter
from polyvox.rlm.sandbox.protocol import (
    HEADER,
    MAX_WORKER_FRAME_BYTES,
    ProtocolError,
    decode_host_frame,
)
from polyvox.rlm.sandbox.text import printable

__all__ = ["BOOTSTRAP", "WorkerGone", "WorkerProcess", "abandon_worker", "worker_arguments"]

BOOTSTRAP = (
    "import sys, types; sys.path.extend(sys.argv[3:]); "
    "package = types.ModuleType('polyvox.rlm'); package.__path__ = [sys.argv[1]]; "
    "sys.modules['polyvox.rlm'] = package; "
    "from polyvox.rlm.sandbox.worker import main; main()"
)
"""The ``-c`` program that starts a worker. Its arguments: the ``polyvox.rlm`` package
directory, the host's pid, then ``sys.path`` entries (``-I`` ignores ``PYTHONPATH``, so they
come this way)."""

_STDERR_TAIL = 4096
_log = logging.getLogger("polyvox.rlm.sandbox")


class WorkerGone(Exception):  # noqa: N818 - a state, not a failure of the caller
    """The worker closed its pipe or exited."""


def worker_arguments(allowed_imports: frozenset[str]) -> list[str]:
    """The bootstrap's arguments: the ``polyvox.rlm`` directory, then ``sys.path`` entries.

    Args:
        allowed_imports: The modules the REPL may import (non-standard ones need their path).

    Returns:
        The package directory, then directories without duplicates, in a stable order.

    Raises:
        RuntimeError: If ``polyvox.rlm`` or ``polyvox.core`` cannot be located.
    """
    entries: list[str] = []
    origins: list[Path] = []
    for module in ("polyvox.rlm", "polyvox.core"):
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"cannot locate {module} for the sandbox worker")
        origins.append(Path(spec.origin).resolve())
        entries.append(str(origins[-1].parents[2]))
    search_path = [str(Path(entry).resolve()) for entry in sys.path if entry]
    for name in sorted(allowed_imports):
        if name in sys.stdlib_module_names or name in sys.builtin_module_names:
            continue
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        if origin is None or spec is None:
            continue
        located = str(Path(origin).resolve())
        for entry in search_path:
            if located.startswith(entry + os.sep):
                entries.append(entry)
                break
    return [str(origins[0].parent), *dict.fromkeys(entries)]


class WorkerProcess:
    """One running worker, seen from the host."""

    def __init__(self, process: asyncio.subprocess.Process, limits: SandboxLimits) -> None:
        """Wrap a started process (use :meth:`spawn`).

        Args:
            process: The asyncio process, with piped stdin, stdout and stderr.
            limits: Its limits (to explain a death).
        """
        self._process = process
        self._limits = limits
        self._stderr_tail = b""
        self.worker_pid: int | None = None
        """The worker under the supervisor (set once it reported ready)."""
        self._stderr_task = asyncio.create_task(self._drain_stderr())

    @classmethod
    async def spawn(
        cls, *, workdir: str, limits: SandboxLimits, arguments: list[str]
    ) -> WorkerProcess:
        """Start a worker.

        Args:
            workdir: Its working directory.
            limits: The kernel limits to apply.
            arguments: The bootstrap's arguments (see :func:`worker_arguments`).

        Returns:
            The handle.

        Raises:
            OSError: If the interpreter cannot be started.
        """
        env = {
            "PATH": os.defpath,
            "HOME": workdir,
            "TMPDIR": workdir,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-S",
            "-X",
            "utf8",
            "-c",
            BOOTSTRAP,
            arguments[0],
            str(os.getpid()),
            *arguments[1:],
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=workdir,
            env=env,
            close_fds=True,
            start_new_session=True,
            preexec_fn=rlimit_setter(limits),
        )
        return cls(process, limits)

    @property
    def pid(self) -> int:
        """The worker's process id (also its process group and session id)."""
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        """Its exit status once reaped (negative: killed by that signal)."""
        return self._process.returncode

    async def send(self, frame: bytes, wait_s: float) -> None:
        """Write one frame.

        Args:
            frame: The frame.
            wait_s: Seconds to wait for the pipe to accept it.

        Raises:
            WorkerGone: If the pipe is closed.
            TimeoutError: If the worker does not read it in time.
        """
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(frame)
            await asyncio.wait_for(stdin.drain(), wait_s)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise WorkerGone(str(exc)) from None

    async def receive(self, wait_s: float) -> dict[str, Any]:
        """Read one frame.

        Args:
            wait_s: Seconds to wait for it.

        Returns:
            The message.

        Raises:
            WorkerGone: If the pipe closed.
            ProtocolError: If the frame is too large or malformed.
            TimeoutError: If it does not come in time.
        """
        stdout = self._process.stdout
        assert stdout is not None

        async def read() -> dict[str, Any]:
            try:
                (size,) = HEADER.unpack(await stdout.readexactly(HEADER.size))
                if size > MAX_WORKER_FRAME_BYTES:
                    raise ProtocolError(f"the worker sent a frame of {size:,} bytes")
                return decode_host_frame(await stdout.readexactly(size))
            except asyncio.IncompleteReadError:
                raise WorkerGone("the worker closed its pipe") from None

        return await asyncio.wait_for(read(), max(wait_s, 0.0))

    async def kill(self) -> None:
        """Kill the worker's whole process group and reap it (idempotent)."""
        if self._process.returncode is None:
            # Not Process.kill(): it polls (reaps) the child first, racing asyncio's watcher.
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            except PermissionError:
                self._process.kill()
        await self._process.wait()
        if self.worker_pid is not None:
            # The worker is the supervisor's child: the same SIGKILL reached it, and once it
            # is no longer running (a zombie or gone) it runs nothing more.
            for _ in range(1000):
                if not _running(self.worker_pid):
                    break
                await asyncio.sleep(0.001)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._stderr_task, 1.0)
        if self._process.stdin is not None:
            self._process.stdin.close()

    async def wait_exit(self, wait_s: float) -> int | None:
        """Wait for the process to exit on its own (after it closed its pipe).

        Args:
            wait_s: Seconds to wait.

        Returns:
            The exit status, or ``None`` if it is still running.
        """
        with contextlib.suppress(TimeoutError):
            code = await asyncio.wait_for(self._process.wait(), wait_s)
            # Its last words on stderr are read to the end (for death_reason's log).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._stderr_task), 0.5)
            return code
        return None

    def death_reason(self) -> str:
        """Why the worker stopped, in words for the model (from its exit status only).

        Its stderr is logged (logger ``polyvox.rlm.sandbox``), not returned.
        """
        code = self._process.returncode
        if code is None:
            reason = "it stopped responding"
        elif code < 0:
            number = -code
            if number == signal.SIGXCPU:
                reason = f"it used up its CPU time limit ({self._limits.cpu_s} s)"
            elif number == signal.SIGKILL:
                reason = "it was killed (SIGKILL)"
            else:
                try:
                    name = signal.Signals(number).name
                except ValueError:
                    name = f"signal {number}"
                reason = f"it was stopped by {name}"
        else:
            reason = f"it exited with status {code}"
        # The worker's stderr is written by the cell's code as much as by the worker, so it is
        # logged for the operator and never put in the model's prompt.
        tail = printable(self._stderr_tail.decode("utf-8", "replace")).strip()
        if tail:
            _log.warning(
                "RLM sandbox worker %s stopped (%s); stderr tail:\n%s", self.pid, reason, tail
            )
        return reason

    async def _drain_stderr(self) -> None:
        stderr = self._process.stderr
        assert stderr is not None
        while chunk := await stderr.read(65536):
            self._stderr_tail = (self._stderr_tail + chunk)[-_STDERR_TAIL:]


def abandon_worker(workdir: str, live_pid: list[int | None]) -> None:
    """Kill a sandbox's worker if it is still ours, and remove its working directory.

    Runs when a sandbox closes, or when one is garbage-collected without being closed. The
    folder is removed only once the worker no longer runs, so that nothing it does can race
    the removal.

    Args:
        workdir: The working directory.
        live_pid: ``[supervisor pid, worker pid]`` of the current worker, or ``None`` s.
    """
    supervisor, worker = live_pid[0], live_pid[1] if len(live_pid) > 1 else None
    if supervisor is not None and _is_own_worker(supervisor):
        with contextlib.suppress(OSError):
            os.killpg(supervisor, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while worker is not None and _running(worker) and time.monotonic() < deadline:
            time.sleep(0.001)
    remove_folder(workdir)


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def _is_own_worker(pid: int) -> bool:
    """Whether ``pid`` is still a child of this process leading its own session."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rpartition(b")")[2].split()
    except OSError:
        return False
    return int(fields[1]) == os.getpid() and int(fields[3]) == pid
