"""The host side of the sandbox: :class:`Sandbox`, a worker's life and its exchanges.

A :class:`Sandbox` owns one worker process and a temporary working directory. ``run`` sends a
cell and waits for its result (:mod:`polyvox.rlm.sandbox.results`), serving the cell's
sub-calls in between (:mod:`polyvox.rlm.sandbox.subcalls`): the worker blocks on
``llm_query`` while the host awaits the :class:`SubcallHandler` and replies, so the model's
code sees an ordinary function call.

When a cell runs past its time limit the worker interrupts it and keeps its variables. A worker
that does not answer within :attr:`Sandbox.kill_grace_s` after that, or that dies (CPU limit,
crash), is killed and replaced by a fresh one holding the same context: the cell's result says
that the variables of earlier cells were lost, and the loop can go on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from polyvox.rlm.sandbox.documents import prepare_context
from polyvox.rlm.sandbox.isolation import SandboxReport, seccomp_unavailable_reason
from polyvox.rlm.sandbox.limits import SandboxLimits
from polyvox.rlm.sandbox.process import (
    WorkerGone,
    WorkerProcess,
    abandon_worker,
    worker_arguments,
)
from polyvox.rlm.sandbox.protocol import ProtocolError, encode_frame
from polyvox.rlm.sandbox.results import ERROR_CHARS, CellResult, read_result
from polyvox.rlm.sandbox.subcalls import SubcallHandler, answer_subcall
from polyvox.rlm.sandbox.text import printable

__all__ = ["CellResult", "Sandbox", "SandboxError", "SubcallHandler"]

_DEFAULT_LIMITS = SandboxLimits()
_log = logging.getLogger("polyvox.rlm.sandbox")
_ANSWER_OPS = {"run": "result", "vars": "vars", "get": "value"}
_VALUE_CHARS = 1_000_000  # str() of a variable read back whole up to this (see get_var)
_VALUE_TIMEOUT_S = 1.0  # str() of a variable is interrupted past this (or the cell timeout)
_RESTARTED_NOTE = (
    "[note: the REPL process was restarted before this cell ({why}); `context` and the "
    "helpers are back, but variables from earlier cells were lost]\n"
)


class SandboxError(RuntimeError):
    """The sandbox cannot start, was closed, or lost its worker beyond repair."""


class Sandbox:
    """A persistent Python REPL in a locked-down child process, holding ``context``."""

    kill_grace_s: float = 2.0
    """Seconds past a cell's time limit before an unresponsive worker is killed."""
    start_timeout_s: float = 60.0
    """Seconds a worker may take to start."""

    def __init__(
        self,
        *,
        context: str,
        spans: Sequence[tuple[int, int]] | None,
        handler: SubcallHandler,
        limits: SandboxLimits,
        workdir: str,
        init_frame: bytes,
    ) -> None:
        """Hold a sandbox's state; use :meth:`start` to create one."""
        self._context = context
        self._spans = tuple(spans) if spans is not None else None
        self._handler = handler
        self._limits = limits
        self._workdir = workdir
        self._init_frame = init_frame
        self._worker_arguments = worker_arguments(limits.allowed_imports)
        self._worker: WorkerProcess | None = None
        self._lock = asyncio.Lock()
        self._seq = 0
        self._closed = False
        self._pending_note: str | None = None
        self._restarts = 0
        self._startup_s = 0.0
        self._worker_pid: int | None = None
        self._report: SandboxReport | None = None
        self._live_pid: list[int | None] = [None, None]  # supervisor, worker
        self._finalizer = weakref.finalize(self, abandon_worker, workdir, self._live_pid)

    @classmethod
    async def start(
        cls,
        context: str | Sequence[str],
        handler: SubcallHandler,
        *,
        limits: SandboxLimits = _DEFAULT_LIMITS,
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> Sandbox:
        """Start a sandbox whose REPL holds ``context``.

        Args:
            context: One string, or the texts of several documents (joined with
                ``DOCUMENT_SEPARATOR``; the REPL then also has ``documents``).
            handler: Serves the cells' sub-calls.
            limits: The sandbox's limits.
            metadata: One mapping per document (JSON-serialisable; other values become
                ``str``); with a single string, at most one mapping.

        Returns:
            The running sandbox.

        Raises:
            SandboxError: Not on Linux, seccomp unavailable with ``isolation="kernel"``, or the
                worker could not start.
            TypeError: For a context that is neither a string nor a sequence of strings.
            ValueError: If ``metadata`` does not have one entry per document.
        """
        if sys.platform != "linux":
            raise SandboxError("the RLM sandbox runs on Linux only")
        if limits.isolation == "kernel":
            why = seccomp_unavailable_reason()
            if why is not None:
                raise SandboxError(
                    f"the RLM sandbox cannot confine its worker: {why}. Run it on a Linux "
                    "kernel with seccomp (x86-64 or AArch64), or accept weaker isolation "
                    "explicitly with SandboxLimits(isolation='process') (passed as "
                    "sandbox_limits= to the RLM): model-written code is then held only by "
                    "resource limits and a Python audit hook, which are not a security boundary"
                )
        else:
            _log.warning(
                "RLM sandbox started with isolation='process': no seccomp filter and no "
                "Landlock; model-written code is held only by resource limits, the worker's "
                "uid and a Python audit hook, which are not a security boundary"
            )
        text, spans, documents = prepare_context(context, metadata)
        init = {
            "op": "init",
            "isolation": limits.isolation,
            "context": text,
            "documents": documents,
            "limits": {
                "output_chars": limits.output_chars,
                "max_subcalls_per_cell": limits.max_subcalls_per_cell,
                "memory_mb": limits.memory_mb,
                "disk_mb": limits.disk_mb,
                "max_files": limits.max_files,
                "allowed_imports": sorted(limits.allowed_imports),
            },
        }
        # Two local file-system calls (create, canonicalise): not worth a thread.
        workdir = os.path.realpath(tempfile.mkdtemp(prefix="polyvox-rlm-"))  # noqa: ASYNC240
        init["workdir"] = workdir
        sandbox = cls(
            context=text,
            spans=spans,
            handler=handler,
            limits=limits,
            workdir=workdir,
            init_frame=encode_frame(init),
        )
        try:
            await sandbox._spawn()
        except BaseException:
            await sandbox.close()
            raise
        return sandbox

    @property
    def context(self) -> str:
        """The REPL's ``context`` (documents joined)."""
        return self._context

    @property
    def document_spans(self) -> tuple[tuple[int, int], ...] | None:
        """Each document's ``(start, end)`` in :attr:`context`; ``None`` for a plain string."""
        return self._spans

    @property
    def limits(self) -> SandboxLimits:
        """The sandbox's limits."""
        return self._limits

    @property
    def workdir(self) -> str:
        """The worker's working directory (removed on close)."""
        return self._workdir

    @property
    def pid(self) -> int | None:
        """The current worker's process id: the process that runs cells (``None``: none)."""
        return self._worker_pid if self._worker is not None else None

    @property
    def supervisor_pid(self) -> int | None:
        """The current worker's supervisor: its parent, and the id of its session."""
        return self._worker.pid if self._worker is not None else None

    @property
    def report(self) -> SandboxReport:
        """The isolation layers the current (or last) worker applied, as it reported them."""
        assert self._report is not None  # set before start() returns
        return self._report

    @property
    def restarts(self) -> int:
        """How many times the worker was replaced."""
        return self._restarts

    @property
    def startup_s(self) -> float:
        """Seconds the current worker took to start (spawn to ``ready``)."""
        return self._startup_s

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    async def run(self, code: str) -> CellResult:
        """Run one cell of Python in the REPL.

        Args:
            code: The cell's source; a last expression's ``repr`` is printed.

        Returns:
            The cell's result (failures of the code are in it, not raised).

        Raises:
            SandboxError: If the sandbox is closed or its worker cannot be restarted.
        """
        if not isinstance(code, str):
            raise TypeError("code must be a str")
        async with self._lock:
            started = time.monotonic()
            note = await self._ensure_worker()
            self._seq += 1
            request = {
                "op": "run",
                "seq": self._seq,
                "code": code,
                "timeout": self._limits.cell_timeout_s,
            }
            message, failure, timed_out = await self._exchange(request)
            duration = time.monotonic() - started
            if message is None:
                return CellResult(
                    output=note,
                    error=failure,
                    truncated=False,
                    timed_out=timed_out,
                    duration_s=duration,
                    final=None,
                    reads=(),
                    restored=(),
                )
            return read_result(
                message,
                duration=duration,
                note=note,
                context_chars=len(self._context),
                output_chars=self._limits.output_chars,
            )

    async def show_vars(self) -> dict[str, str]:
        """The variables the cells defined: name to a short type and size description.

        Returns:
            The variables (empty after a restart lost them).

        Raises:
            SandboxError: If the sandbox is closed or its worker cannot be restarted.
        """
        async with self._lock:
            await self._ensure_worker()
            self._seq += 1
            request = {"op": "vars", "seq": self._seq, "timeout": self._limits.cell_timeout_s}
            message, _, _ = await self._exchange(request)
            if message is None:
                return {}
            described = message.get("vars")
            if not isinstance(described, dict):
                return {}
            return {printable(str(k)): printable(str(v)) for k, v in described.items()}

    async def get_var(self, name: str, *, max_chars: int = _VALUE_CHARS) -> str | None:
        """``str()`` of one of the cells' variables, read directly (no code of a cell runs).

        The value comes back whole up to ``max_chars`` (not through the cell's output, so
        neither the output cap nor a rebound ``print`` changes it). ``str()`` runs in the
        worker and is interrupted after a second (or the cell time limit, if shorter), so a
        slow ``__str__`` costs no variables.

        Args:
            name: The variable's name.
            max_chars: Most characters returned.

        Returns:
            The text, or ``None`` when there is no such variable (a protected name, or one
            lost in a restart) or its ``str()`` failed.

        Raises:
            SandboxError: If the sandbox is closed or its worker cannot be restarted.
        """
        async with self._lock:
            await self._ensure_worker()
            self._seq += 1
            request = {
                "op": "get",
                "seq": self._seq,
                "name": name,
                "max_chars": max_chars,
                "timeout": min(self._limits.cell_timeout_s, _VALUE_TIMEOUT_S),
            }
            message, _, _ = await self._exchange(request)
            value = None if message is None else message.get("value")
            return printable(value) if isinstance(value, str) else None

    async def close(self) -> None:
        """Kill the worker and remove the working directory (idempotent)."""
        self._closed = True
        await self._drop_worker()
        # Removing the working directory can mean deleting up to max_files files and
        # disk_mb MiB, after waiting (up to 5 s) for the killed worker to stop; a thread keeps
        # that blocking work off the event loop (there is no async rmtree or waitpid of a
        # grandchild). The finalizer runs at most once.
        await asyncio.to_thread(self._finalizer)

    async def __aenter__(self) -> Sandbox:
        """Use the sandbox in ``async with``; it is closed on exit."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the sandbox."""
        await self.close()

    # ---- internals ------------------------------------------------------------------------

    async def _spawn(self) -> None:
        started = time.monotonic()
        worker = await WorkerProcess.spawn(
            workdir=self._workdir, limits=self._limits, arguments=self._worker_arguments
        )
        self._worker = worker
        self._live_pid[0] = worker.pid
        try:
            await worker.send(self._init_frame, self.start_timeout_s)
            message = await worker.receive(self.start_timeout_s)
        except (WorkerGone, ProtocolError, TimeoutError) as exc:
            await worker.wait_exit(1.0)
            reason = worker.death_reason()
            await self._drop_worker()
            raise SandboxError(f"the sandbox worker did not start: {exc} ({reason})") from None
        except BaseException:
            await self._drop_worker()
            raise
        if message.get("op") != "ready":
            await self._drop_worker()
            error = message.get("error")
            why = printable(error[:ERROR_CHARS]) if isinstance(error, str) else "no reason given"
            hint = (
                "; to run without the kernel's confinement, pass "
                "SandboxLimits(isolation='process') (weaker: not a security boundary)"
                if self._limits.isolation == "kernel"
                and "ConfinementError" in why
                and ("seccomp" in why or "Landlock" in why)
                else ""
            )
            raise SandboxError(f"the sandbox worker did not start: {why}{hint}")
        pid, raw_report = message.get("pid"), message.get("report")
        try:
            if type(pid) is not int or not isinstance(raw_report, dict):
                raise ValueError("ready without a pid and a report")
            report = SandboxReport.from_dict(raw_report)
            if self._limits.isolation == "kernel" and not report.seccomp:
                raise ValueError("the worker reports no seccomp filter")
        except ValueError as exc:
            await self._drop_worker()
            raise SandboxError(f"the sandbox worker did not start: {exc}") from None
        self._worker_pid = worker.worker_pid = self._live_pid[1] = pid
        self._report = report
        self._startup_s = time.monotonic() - started

    async def _drop_worker(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            await worker.kill()
            self._live_pid[0] = self._live_pid[1] = None

    async def _ensure_worker(self) -> str:
        if self._closed:
            raise SandboxError("the sandbox is closed")
        if self._worker is not None:
            return ""
        why = self._pending_note or "the previous worker was stopped"
        self._pending_note = None
        await self._spawn()
        self._restarts += 1
        return _RESTARTED_NOTE.format(why=why)

    async def _exchange(self, request: dict[str, Any]) -> tuple[dict[str, Any] | None, str, bool]:
        """Send a request and serve sub-calls until its answer.

        Returns ``(message, "", False)`` on success, or ``(None, error, timed_out)`` when the
        worker had to be replaced.
        """
        worker = self._worker
        assert worker is not None
        seq = request["seq"]
        timeout = float(request["timeout"])
        budget = timeout + self.kill_grace_s
        subcalls = 0
        try:
            await worker.send(encode_frame(request), budget)
            while True:
                waited = time.monotonic()
                message = await worker.receive(budget)
                budget -= time.monotonic() - waited
                if message.get("seq") != seq:
                    raise ProtocolError(f"message for request {message.get('seq')!r}, not {seq}")
                if message["op"] == "subcall":
                    reply, subcalls = await answer_subcall(
                        self._handler, message, subcalls, self._limits.max_subcalls_per_cell
                    )
                    await worker.send(reply, self.kill_grace_s + timeout)
                    continue
                if message["op"] == _ANSWER_OPS[request["op"]]:
                    return message, "", False
                raise ProtocolError(f"unexpected message {message['op']!r}")
        except TimeoutError:
            await self._replace_worker("the cell did not stop at its time limit")
            return (
                None,
                f"SandboxRestarted: the cell did not stop within {timeout:g} s (+"
                f"{self.kill_grace_s:g} s grace), so the REPL process was killed; a fresh "
                "REPL holds `context` and the helpers, but all variables from earlier cells "
                "were lost",
                True,
            )
        except (WorkerGone, ProtocolError, ConnectionError) as exc:
            if self._closed:
                raise SandboxError("the sandbox was closed while a cell ran") from None
            if isinstance(exc, ProtocolError):
                reason = f"it broke the protocol: {exc}"
            else:
                await worker.wait_exit(1.0)
                reason = worker.death_reason()
            await self._replace_worker(f"the previous worker died: {reason}")
            return (
                None,
                f"SandboxRestarted: the REPL process died during the cell ({reason}); a fresh "
                "REPL holds `context` and the helpers, but all variables from earlier cells "
                "were lost",
                False,
            )
        except BaseException:
            self._pending_note = "the previous cell was cancelled"
            await asyncio.shield(self._drop_worker())
            raise

    async def _replace_worker(self, why: str) -> None:
        await self._drop_worker()
        if self._closed:
            raise SandboxError("the sandbox was closed while a cell ran")
        try:
            await self._spawn()
        except SandboxError:
            self._pending_note = why
            raise
        self._restarts += 1
