"""The background writer: records leave the call path in microseconds.

They reach the database in batches.

``put`` only appends to a queue (a lock-free ``SimpleQueue`` behind a tiny lock that makes
"closed" and "enqueued" one decision). One daemon thread per ledger takes records off the
queue, lets them gather for up to ``flush_interval`` (or until ``batch_size`` are waiting,
a flush is asked for, or the ledger closes) and writes each batch in one transaction.

When a write fails the records stay in memory and the write is retried with exponential
backoff (tenacity) for as long as it takes; while it waits the thread keeps taking new
records, and once more than ``max_buffer`` are waiting they are spilled to a JSON-lines
file. Closing makes one last attempt, then spills whatever is left. Either way the log
says exactly how many records went where.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential_jitter

from polyvox.costs.ledger.records import CallRecord

__all__ = ["Writer"]

logger = logging.getLogger("polyvox.ledger")

WriteFn = Callable[[Sequence[CallRecord]], int]
"""Writes one batch in one transaction; raises when it cannot. Returns how many of the
records the database refused (and were spilled instead)."""

SpillFn = Callable[[Sequence[CallRecord], str], bool]
"""Saves records the database did not take (with the reason); False when it could not."""


class _Flush:
    """A flush request: resolved once every record queued before it is handled."""

    __slots__ = ("event", "future", "loop", "ok")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop | None = None,
        future: asyncio.Future[bool] | None = None,
    ) -> None:
        self.event = threading.Event()
        self.loop = loop
        self.future = future
        self.ok = True

    def resolve(self) -> None:
        self.event.set()
        if self.loop is not None and self.future is not None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                self.loop.call_soon_threadsafe(_set_result, self.future, self.ok)


def _set_result(future: asyncio.Future[bool], ok: bool) -> None:
    if not future.done():
        future.set_result(ok)


class _Stop:
    __slots__ = ()


_STOP = _Stop()

RecordBuilder = Callable[[], CallRecord]
"""Builds a record on the writer thread (the call path only enqueues the builder)."""

IDLE_EXIT = 60.0
"""Seconds without records after which the writer thread ends (the next record restarts it)."""
_Item = CallRecord | _Flush | _Stop | RecordBuilder


class Writer:
    """Batches records into the database from one background thread."""

    def __init__(
        self,
        *,
        write: WriteFn,
        spill: SpillFn,
        name: str,
        batch_size: int,
        flush_interval: float,
        max_buffer: int,
        max_backoff: float = 5.0,
    ) -> None:
        """Create a writer (its thread starts with the first record).

        Args:
            write: Writes one batch.
            spill: Saves records the database did not take.
            name: What to call the database in log messages (no secrets).
            batch_size: Most records per transaction.
            flush_interval: Longest a record waits for its batch to fill, in seconds.
            max_buffer: Most records held in memory while the database is unavailable.
            max_backoff: Longest pause between two attempts, in seconds.
        """
        self._write = write
        self._spill_fn = spill
        self._name = name
        self._batch_size = max(1, batch_size)
        self._flush_interval = max(0.0, flush_interval)
        self._max_buffer = max(1, max_buffer)
        self._max_backoff = max_backoff
        self.last_error: str | None = None
        """The latest write failure, while the database is unavailable (else ``None``)."""
        self._reset()

    def _reset(self) -> None:
        self.written = 0
        """Records written so far."""
        self.spilled = 0
        """Records saved to the spill file so far."""
        self.failed = 0
        """Deferred records whose builder raised (a bug, logged; never silently)."""
        self._enqueued = 0
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._stopping = False
        self._pending: list[CallRecord] = []
        self._waiters: list[_Flush] = []
        self._spill_at = self._max_buffer
        self._wake = threading.Event()
        self._woken = 0

    def after_fork(self) -> None:
        """Start afresh in a forked child (the parent writes what it had queued)."""
        self._reset()
        self.last_error = None

    @property
    def pending(self) -> int:
        """Records queued or buffered but neither written nor spilled yet."""
        return self._enqueued - self.written - self.spilled - self.failed

    # the caller's side

    def put(self, record: CallRecord | RecordBuilder) -> bool:
        """Queue a record, or a function that builds it on the writer thread (never blocks).

        Returns:
            False when the writer is closed (the caller must deal with the record).
        """
        with self._lock:
            if self._closed:
                return False
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="polyvox-ledger-writer", daemon=True
                )
                self._thread.start()
            self._queue.put(record)
            self._enqueued += 1
            if self._enqueued - self._woken >= self._batch_size:
                self._woken = self._enqueued
                self._wake.set()
        return True

    def _request(self, marker: _Flush) -> threading.Thread | None:
        with self._lock:
            if self._thread is None:
                return None
            if not self._closed:
                self._queue.put(marker)
                self._wake.set()
            return self._thread

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every record queued so far is written.

        Args:
            timeout: Most seconds to wait; ``None`` waits for as long as the database is away.

        Returns:
            True when all of them reached the database; False on timeout or when some were
            spilled instead.
        """
        if not self.pending:
            return True
        marker = _Flush()
        thread = self._request(marker)
        if thread is None:
            return True
        if self._closed:
            thread.join(timeout)
            return not thread.is_alive()
        return marker.event.wait(timeout) and marker.ok

    async def aflush(self) -> bool:
        """:meth:`flush` for asyncio: awaits a future the writer thread resolves.

        Bound the wait with ``asyncio.timeout()``.
        """
        if not self.pending:
            return True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        thread = self._request(_Flush(loop, future))
        if thread is None:
            return True
        if self._closed:
            return not thread.is_alive()
        return await asyncio.shield(future)

    def close(self, timeout: float | None = None) -> bool:
        """Write what is queued (or spill it), then stop the thread.

        Args:
            timeout: Most seconds to wait for the thread.

        Returns:
            True when the thread has finished.
        """
        with self._lock:
            thread = self._thread
            if not self._closed:
                self._closed = True
                if thread is not None:
                    self._queue.put(_STOP)
                    self._wake.set()
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # the writer thread

    def _run(self) -> None:
        try:
            while not self._stopping:
                if not self._gather():
                    return  # idle: a later record starts a new thread
                if self._pending:
                    self._write_pending()
                if self._pending and self._stopping:
                    self._spill("the ledger was closed while its database was unavailable")
                if not self._pending:
                    self._resolve()
        except BaseException:  # pragma: no cover - a bug; keep the records anyway
            logger.exception("ledger %s: the writer thread failed", self._name)
            self._drain(None)
            self._spill("the ledger's writer thread failed")
            with self._lock:
                self._closed = True
            self._resolve()
            raise
        with self._lock:
            self._closed = True
        self._resolve()

    def _take(self, item: _Item) -> None:
        if isinstance(item, CallRecord):
            self._pending.append(item)
        elif callable(item):
            try:
                self._pending.append(item())
            except Exception:  # a bug in the builder: say so, keep the counts right
                self.failed += 1
                logger.exception("ledger %s: could not build a deferred record", self._name)
        elif isinstance(item, _Flush):
            self._waiters.append(item)
        else:
            self._stopping = True

    def _urgent(self) -> bool:
        return self._stopping or bool(self._waiters) or len(self._pending) >= self._batch_size

    def _drain(self, limit: int | None) -> None:
        while limit is None or len(self._pending) < limit:
            try:
                self._take(self._queue.get_nowait())
            except queue.Empty:
                return

    def _gather(self) -> bool:
        """Wait for the next record, then let a batch gather.

        Returns:
            False when nothing came for ``IDLE_EXIT`` seconds and the thread should end.
        """
        while True:
            try:
                self._take(self._queue.get(timeout=IDLE_EXIT))
                break
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return False
        # Let the batch gather without waking for each record: put() sets _wake only when a
        # batch is full, and flush/close set it, so the call path never hands over the GIL
        # to this thread one record at a time.
        if not self._urgent() and self._queue.qsize() + len(self._pending) < self._batch_size:
            self._wake.wait(self._flush_interval)
        self._wake.clear()
        self._drain(self._batch_size)
        return True

    def _write_all(self) -> None:
        while self._pending:
            batch = self._pending[: self._batch_size]
            refused = self._write(batch)
            del self._pending[: len(batch)]
            self.written += len(batch) - refused
            if refused:
                self.spilled += refused
                for waiter in self._waiters:
                    waiter.ok = False

    def _write_pending(self) -> None:
        retrying = Retrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential_jitter(initial=0.05, max=self._max_backoff, jitter=0.05),
            stop=self._give_up,
            sleep=self._idle,
            before_sleep=self._failed,
            reraise=True,
        )
        before = self.written
        try:
            for attempt in retrying:
                with attempt:
                    self._write_all()
        except Exception as exc:  # only when closing: the last attempt failed too
            self.last_error = f"{type(exc).__name__}: {exc}"
            return
        if self.last_error is not None and self.written > before:
            logger.warning(
                "ledger %s: the database is back; every buffered record is written", self._name
            )
            self.last_error = None

    def _give_up(self, _state: RetryCallState) -> bool:
        return self._stopping

    def _failed(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        error = f"{type(exc).__name__}: {exc}"
        if self.last_error is None and state.attempt_number >= 2:
            logger.warning(
                "ledger %s: cannot write (%s); %d records kept in memory, retrying with backoff",
                self._name,
                error.splitlines()[0],
                len(self._pending),
            )
        if state.attempt_number >= 2:
            self.last_error = error

    def _idle(self, seconds: float) -> None:
        """Tenacity's sleep: keep taking records (and spill past ``max_buffer``) meanwhile."""
        deadline = time.monotonic() + seconds
        while not self._stopping:
            self._drain(None)
            if len(self._pending) > self._spill_at:
                reason = f"more than {self._max_buffer} records waited for the database"
                if self.last_error:
                    reason += f" ({self.last_error.splitlines()[0]})"
                self._spill(reason)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                self._take(self._queue.get(timeout=remaining))
            except queue.Empty:
                return

    def _spill(self, reason: str) -> None:
        records = list(self._pending)
        if not records:
            return
        if self._spill_fn(records, reason):
            self._pending.clear()
            self.spilled += len(records)
            self._spill_at = self._max_buffer
            for waiter in self._waiters:
                waiter.ok = False
            self._resolve()
        else:
            self._spill_at = 2 * len(records)

    def _resolve(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.resolve()

    def stats(self) -> dict[str, Any]:
        """Counters for :meth:`Ledger.health`."""
        return {
            "written": self.written,
            "spilled": self.spilled,
            "failed": self.failed,
            "pending": self.pending,
        }
