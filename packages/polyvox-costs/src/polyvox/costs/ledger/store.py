"""``Ledger``: where every model call is recorded, and read back from.

Recording is a non-blocking enqueue (see :mod:`polyvox.costs.ledger.writer`); the database
is opened lazily, so a model call never fails because of its ledger, and everything queued
is written (or spilled to a file, with an error in the log saying how many records and
where) by :meth:`Ledger.flush`, :meth:`Ledger.close` and at interpreter exit.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from polyvox.costs.ledger.errors import LedgerError, LedgerURLError
from polyvox.costs.ledger.location import default_spill_path, mask_url, resolve_url
from polyvox.costs.ledger.reading import LedgerReader
from polyvox.costs.ledger.records import CallRecord
from polyvox.costs.ledger.writer import Writer

if TYPE_CHECKING:
    from polyvox.costs.ledger.database import Database

__all__ = ["Ledger", "LedgerHealth"]

logger = logging.getLogger("polyvox.ledger")

_LIVE: weakref.WeakSet[Ledger] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()

EXIT_TIMEOUT = 30.0
"""Seconds each open ledger gets at interpreter exit to write (or spill) what it holds."""


@dataclass(frozen=True)
class LedgerHealth:
    """What :meth:`Ledger.health` found."""

    ok: bool
    """Whether the database answered (and has the ledger's tables)."""

    url: str
    """The database URL, password hidden."""

    backend: str | None
    """``"sqlite"`` or ``"postgresql"`` (``None`` when the URL is unusable)."""

    pending: int
    """Records recorded but not yet written."""

    written: int
    """Records this ledger object has written."""

    spilled: int
    """Records this ledger object saved to its spill file instead."""

    spill_path: Path
    """Where records the database could not take are saved."""

    error: str | None
    """Why the database is not usable, when it is not."""

    failed: int = 0
    """Deferred records (:meth:`Ledger.record_later`) whose builder raised: a bug, logged."""


class Ledger(LedgerReader):
    """A ledger of model calls in SQLite (the default) or PostgreSQL.

    ``Ledger()`` opens ``$POLYVOX_LEDGER_URL`` or, when that is unset, the SQLite file
    described in :mod:`polyvox.costs.ledger.location` (``~/.local/share/polyvox/ledger.sqlite3``
    on Linux). Use one ledger per database and process; it is safe to share between threads
    and asyncio tasks, and several processes may write to one database.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        schema: str | None = None,
        batch_size: int = 500,
        flush_interval: float = 0.05,
        max_buffer: int = 100_000,
        spill_path: str | os.PathLike[str] | None = None,
        strict: bool = False,
        connect_timeout: float = 5.0,
    ) -> None:
        """Create a ledger; nothing connects until the first write or read.

        Args:
            url: A SQLAlchemy URL (``sqlite:///path``, ``postgresql://user@host/db``); ``None``
                reads ``POLYVOX_LEDGER_URL``, else uses the default SQLite file.
            schema: A PostgreSQL schema for the ledger's tables (created when missing).
            batch_size: Most records written in one transaction.
            flush_interval: Longest a record waits in memory for its batch to fill, seconds.
            max_buffer: Most records held in memory while the database is unavailable; more
                are spilled to ``spill_path``.
            spill_path: The JSON-lines file for records the database could not take (default:
                beside a SQLite file, else in polyvox's data folder).
            strict: Connect now and raise if the URL is unusable or the database unreachable
                (by default such problems are logged and records are kept, then spilled).
            connect_timeout: Seconds to wait for a PostgreSQL server.

        Raises:
            LedgerURLError: With ``strict=True``: the URL is malformed or unsupported.
            LedgerUnavailableError: With ``strict=True``: the database cannot be reached.
        """
        from polyvox.costs.ledger.database import Database

        raw = resolve_url(url)
        self.url = mask_url(raw)
        """The database URL, password hidden."""
        self.schema = schema
        """The PostgreSQL schema of the tables, if not the default."""
        self.spill_path = Path(spill_path) if spill_path else default_spill_path(raw, schema)
        """Where records the database could not take are saved (JSON lines)."""
        self._db: Database | None = None
        self._db_error: LedgerURLError | None = None
        try:
            self._db = Database(raw, schema=schema, connect_timeout=connect_timeout)
        except LedgerURLError as exc:
            if strict:
                raise
            logger.error("ledger: %s; records will be spilled to %s", exc, self.spill_path)
            self._db_error = exc
        if strict and self._db is not None:
            with self._db.errors("connecting"):
                self._db.ensure_schema()
        self._writer = Writer(
            write=self._write_batch,
            spill=self._spill,
            name=self.url,
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_buffer=max_buffer,
        )
        with _LIVE_LOCK:
            _LIVE.add(self)

    def __repr__(self) -> str:
        schema = f", schema={self.schema!r}" if self.schema else ""
        return f"Ledger({self.url!r}{schema})"

    # writing

    def record(self, record: CallRecord) -> None:
        """Queue a record for writing; returns in microseconds and never raises on I/O.

        Args:
            record: The call.
        """
        if not self._writer.put(record):
            self._spill([record], "it was recorded after the ledger was closed")

    def record_later(self, build: Callable[[], CallRecord]) -> None:
        """Queue a function that builds the record on the ledger's writer thread.

        What a cost handler uses on the call path: the caller hands over the raw facts of
        the call (captured at once, so later changes cannot leak in) and the pricing and the
        record itself are made in the background, in the batch. ``flush()`` waits for
        deferred records like any other.

        Args:
            build: Returns the record; it must not raise (a failure is logged and counted in
                :meth:`health`'s ``failed``).
        """
        if not self._writer.put(build):
            self._spill([build()], "it was recorded after the ledger was closed")

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything recorded so far is in the database.

        Args:
            timeout: Most seconds to wait; ``None`` waits until the database takes it.

        Returns:
            True when every record reached the database; False on timeout, or when some
            were spilled instead.
        """
        return self._writer.flush(timeout)

    async def aflush(self) -> bool:
        """Await everything recorded so far being in the database (see :meth:`flush`).

        Natively async (the writer thread resolves a future on this loop); bound the wait
        with ``asyncio.timeout()``.

        Returns:
            True when every record reached the database; False when some were spilled.
        """
        return await self._writer.aflush()

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued (spilling it if the database is unavailable), then stop.

        Later records go straight to the spill file. Closing twice is harmless.

        Args:
            timeout: Most seconds to wait for the writer.
        """
        self._writer.close(timeout)
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if self._db is not None:
            self._db.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _database(self) -> Database:
        if self._db is None:
            assert self._db_error is not None
            raise self._db_error
        return self._db

    def _write_batch(self, batch: Sequence[CallRecord]) -> int:
        rejected = self._database().write_records(batch)
        if rejected:
            self._spill(rejected, "the database refused them")
        return len(rejected)

    def _spill(self, records: Sequence[CallRecord], reason: str) -> bool:
        from polyvox.costs.ledger.spill import append_spill

        try:
            append_spill(self.spill_path, records)
        except OSError as exc:
            logger.critical(
                "ledger %s: %d records were not written to the database (%s) and could not be "
                "saved to %s either (%s); record ids: %s",
                self.url,
                len(records),
                reason,
                self.spill_path,
                exc,
                ", ".join(r.id for r in records),
            )
            return False
        logger.error(
            "ledger %s: %d records were not written to the database (%s) and were saved to "
            "%s; import them with Ledger(%r).replay_spill()",
            self.url,
            len(records),
            reason,
            self.spill_path,
            self.url,
        )
        return True

    def replay_spill(self, path: str | os.PathLike[str] | None = None) -> int:
        """Import a spill file into the database (idempotently), then remove it.

        Args:
            path: The file; defaults to this ledger's :attr:`spill_path`.

        Returns:
            How many records the file held (each is now in the database exactly once).

        Raises:
            LedgerUnavailableError: The database is unavailable; the file is left in place.
        """
        from polyvox.costs.ledger.spill import replay

        return replay(self._database(), Path(path) if path else self.spill_path)

    # health

    def health(self) -> LedgerHealth:
        """Check the database (connecting if need be); never raises."""
        stats = self._writer.stats()
        error: str | None = None
        backend: str | None = None
        if self._db is None:
            error = str(self._db_error)
        else:
            backend = self._db.dialect
            try:
                with self._db.errors("checking its health"):
                    self._db.ensure_schema()
                    self._db.ping()
            except LedgerError as exc:
                error = str(exc)
        return LedgerHealth(
            ok=error is None,
            url=self.url,
            backend=backend,
            pending=stats["pending"],
            written=stats["written"],
            spilled=stats["spilled"],
            spill_path=self.spill_path,
            error=error or self._writer.last_error,
            failed=stats["failed"],
        )

    # the process's other ledgers on the same database (budgets flush them all)

    def _alike(self) -> list[Ledger]:
        with _LIVE_LOCK:
            return [x for x in _LIVE if (x.url, x.schema) == (self.url, self.schema)] or [self]

    def _flush_alike(self, seconds: float | None) -> bool:
        return all([ledger.flush(seconds) for ledger in self._alike()])  # noqa: C419 - flush all

    async def _aflush_alike(self, seconds: float | None) -> bool:
        try:
            async with asyncio.timeout(seconds):
                return all([await ledger.aflush() for ledger in self._alike()])
        except TimeoutError:
            return False


def _close_all() -> None:
    with _LIVE_LOCK:
        ledgers = list(_LIVE)
    for ledger in ledgers:
        try:
            ledger.close(EXIT_TIMEOUT)
        except Exception:  # pragma: no cover - never let one ledger stop the others
            logger.exception("ledger %s: could not close at exit", ledger.url)


def _after_fork() -> None:  # pragma: no cover - runs in forked children
    global _LIVE_LOCK  # another thread may have held it at the fork
    _LIVE_LOCK = threading.Lock()
    for ledger in list(_LIVE):
        ledger._writer.after_fork()
        if ledger._db is not None:
            ledger._db.dispose(close=False)


atexit.register(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
