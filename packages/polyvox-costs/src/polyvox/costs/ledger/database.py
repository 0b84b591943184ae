"""One ledger database: its engine, transactions and what differs between backends.

SQLite files run in WAL mode with a long busy timeout, and every write transaction starts
with ``BEGIN IMMEDIATE``, so several threads and processes can write one file (a waiting
writer queues on the lock instead of failing half-way). PostgreSQL gets pre-pinged pooled
connections, a connect timeout and, for budgets, transaction-scoped advisory locks.
Everything dialect-specific the reports need (exact decimal sums, the 95th percentile,
day and month buckets) is built here.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
    func,
    inspect,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    SQLAlchemyError,
    StatementError,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateColumn, CreateSchema
from sqlalchemy.sql import ColumnElement

from polyvox.costs.ledger.errors import LedgerError, LedgerUnavailableError, LedgerURLError
from polyvox.costs.ledger.location import mask_url
from polyvox.costs.ledger.records import CallRecord
from polyvox.costs.ledger.schema import (
    CALLS_TABLE,
    ExactDecimal,
    calls,
    metadata,
    record_to_row,
)

__all__ = ["Database", "is_data_error"]

logger = logging.getLogger("polyvox.ledger")

SQLITE_BUSY_TIMEOUT = 30.0
"""Seconds a SQLite connection waits for another writer before reporting a lock."""

_SCHEMA_LOCK = "polyvox-ledger-schema"


def _lock_key(name: str) -> int:
    """A signed 64-bit key for ``pg_advisory_xact_lock``."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def is_data_error(exc: BaseException) -> bool:
    """Whether the database refused the data itself (retrying the same rows cannot help)."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    return isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)


class _DecimalSum:
    """SQLite aggregate ``polyvox_dsum``: the exact sum of decimal text."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: object) -> None:
        if value is None:
            return
        with localcontext(prec=60):
            self.total = Decimal(str(value)) + (self.total or Decimal(0))

    def finalize(self) -> str | None:
        return None if self.total is None else format(self.total, "f")


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """``percentile_cont``: linear interpolation between the closest ranks.

    Args:
        values: The values (any order).
        fraction: The percentile as a fraction (0.95).

    Returns:
        The percentile, or ``None`` for no values.
    """
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class _P95:
    """SQLite aggregate ``polyvox_p95``: PostgreSQL's ``percentile_cont(0.95)``."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: float | None) -> None:
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        return percentile(self.values, 0.95)


class Database:
    """A ledger database (SQLite or PostgreSQL), created lazily on first use."""

    def __init__(self, url: str, *, schema: str | None = None, connect_timeout: float = 5.0):
        """Prepare the engine (nothing connects yet).

        Args:
            url: A SQLAlchemy URL: ``sqlite:///path`` or ``postgresql://...``.
            schema: A PostgreSQL schema for the tables (created when missing).
            connect_timeout: Seconds to wait for a PostgreSQL server to answer.

        Raises:
            LedgerURLError: The URL is malformed, names another database, or its driver is
                not installed.
        """
        self.masked = mask_url(url)
        """The URL with its password hidden."""
        self.schema = schema
        """The PostgreSQL schema the tables live in, if not the default."""
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            msg = f"malformed ledger URL {self.masked!r}: expected sqlite:///<path> or postgresql://user@host/db"
            raise LedgerURLError(msg) from exc
        self.dialect = parsed.get_backend_name()
        """``"sqlite"`` or ``"postgresql"``."""
        if self.dialect not in ("sqlite", "postgresql"):
            msg = f"unsupported ledger database {self.masked!r}: use sqlite:// or postgresql://"
            raise LedgerURLError(msg)
        if schema and self.dialect != "postgresql":
            msg = f"a ledger schema ({schema!r}) needs PostgreSQL, not {self.masked!r}"
            raise LedgerURLError(msg)
        self.memory = self.dialect == "sqlite" and parsed.database in (None, "", ":memory:")
        """Whether this is a private in-memory SQLite database (one connection, serialised)."""
        self._lock: threading.RLock | None = threading.RLock() if self.memory else None
        self._ready = False
        self._ready_lock = threading.Lock()
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False}
            if self.memory:
                kwargs["poolclass"] = StaticPool
            elif parsed.database:
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        else:
            if parsed.get_driver_name() == "psycopg2" and "+" not in parsed.drivername:
                parsed = parsed.set(drivername="postgresql+psycopg")
            kwargs["pool_pre_ping"] = True
            if "connect_timeout" not in parsed.query:
                kwargs["connect_args"] = {"connect_timeout": max(1, round(connect_timeout))}
        try:
            engine = create_engine(parsed, **kwargs)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            msg = f"cannot use ledger URL {self.masked!r}: {exc}"
            raise LedgerURLError(msg) from exc
        if self.dialect == "sqlite":
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
        self.base_engine: Engine = engine
        """The engine (without the schema translation)."""
        self.engine: Engine = (
            engine.execution_options(schema_translate_map={None: schema}) if schema else engine
        )
        """The engine every statement runs on."""
        table_insert = sqlite_insert if self.dialect == "sqlite" else pg_insert
        self._insert_calls = table_insert(calls).on_conflict_do_nothing(index_elements=["id"])

    def __repr__(self) -> str:
        return f"Database({self.masked!r})"

    # transactions

    @contextmanager
    def begin(self, *, write: bool = False) -> Iterator[Connection]:
        """A connection in a transaction, committed on success.

        Args:
            write: Take SQLite's write lock up front (``BEGIN IMMEDIATE``).

        Yields:
            The connection.
        """
        with self._lock or nullcontext(), self.engine.connect() as conn:
            if write:
                conn.execution_options(polyvox_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Turn database failures during ``action`` into ledger errors that say what failed.

        Args:
            action: What was being done (``"reading a report"``).

        Yields:
            Nothing.

        Raises:
            LedgerUnavailableError: The database could not be reached or was locked.
            LedgerError: Any other database failure.
        """
        try:
            yield
        except LedgerError:
            raise
        except DBAPIError as exc:
            if is_data_error(exc):
                msg = f"ledger database {self.masked} refused {action}: {exc.orig}"
                raise LedgerError(msg) from exc
            msg = f"ledger database {self.masked} is unavailable ({action}): {exc.orig}"
            raise LedgerUnavailableError(msg) from exc
        except SQLAlchemyError as exc:
            msg = f"ledger database {self.masked} failed ({action}): {exc}"
            raise LedgerError(msg) from exc

    def ensure_schema(self) -> None:
        """Create the schema and tables when missing, and upgrade older ones (once per process).

        A ledger made by an earlier polyvox gets the columns added since (all nullable: its
        rows read back with ``None`` there). This is race-free between processes: it runs
        under PostgreSQL's schema advisory lock, or SQLite's write lock.
        """
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            with self.begin(write=True) as conn:
                if self.dialect == "postgresql":
                    conn.execute(select(func.pg_advisory_xact_lock(_lock_key(_SCHEMA_LOCK))))
                    if self.schema:
                        conn.execute(CreateSchema(self.schema, if_not_exists=True))
                metadata.create_all(conn)
                self._add_missing_columns(conn)
            self._ready = True

    def _add_missing_columns(self, conn: Connection) -> None:
        """Add the ``ledger_calls`` columns an older ledger lacks (``ALTER TABLE ADD COLUMN``).

        Tolerates another writer adding the same column meanwhile (``IF NOT EXISTS`` on
        PostgreSQL; SQLite's duplicate-column refusal is ignored).
        """
        present = {c["name"] for c in inspect(conn).get_columns(CALLS_TABLE, schema=self.schema)}
        missing = [column for column in calls.columns if column.name not in present]
        if not missing:
            return
        preparer = conn.dialect.identifier_preparer
        table = preparer.quote(CALLS_TABLE)
        if self.schema:
            table = f"{preparer.quote_schema(self.schema)}.{table}"
        guard = " IF NOT EXISTS" if self.dialect == "postgresql" else ""
        for column in missing:
            if not column.nullable:  # pragma: no cover - every added column is nullable
                msg = f"ledger {self.masked} lacks the required column {column.name!r}"
                raise LedgerError(msg)
            spec = CreateColumn(column).compile(dialect=conn.dialect)
            try:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN{guard} {spec}")
            except DBAPIError as exc:
                if "duplicate column" not in str(exc.orig).lower():
                    raise
            logger.info("ledger %s: added the column %s", self.masked, column.name)

    def schema_lost(self) -> None:
        """Check the tables again before the next write (after a failure)."""
        self._ready = False

    def insert_calls(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert call rows, skipping ids already present."""
        conn.execute(self._insert_calls, list(rows))

    def write_records(self, records: Sequence[CallRecord]) -> list[CallRecord]:
        """Write records in one transaction (ids already present are skipped).

        When the database refuses the data itself, each record is retried alone and the
        ones it refuses are returned (retrying them cannot help); any other failure raises.

        Returns:
            The records the database refused.
        """
        try:
            self.ensure_schema()
            with self.begin(write=True) as conn:
                self.insert_calls(conn, [record_to_row(r) for r in records])
        except Exception as exc:
            if not is_data_error(exc):
                self.schema_lost()
                raise
        else:
            return []
        rejected = []
        for record in records:
            try:
                with self.begin(write=True) as conn:
                    self.insert_calls(conn, [record_to_row(record)])
            except Exception as exc:
                if not is_data_error(exc):
                    raise
                reason = getattr(exc, "orig", None) or exc
                logger.error("ledger %s refused record %s: %s", self.masked, record.id, reason)
                rejected.append(record)
        return rejected

    def lock_budgets(self, conn: Connection, names: Iterable[str]) -> None:
        """Serialise budget checks for ``names`` across processes until the transaction ends.

        PostgreSQL takes one advisory lock per name (in a fixed order, so two reservers never
        deadlock); SQLite's ``BEGIN IMMEDIATE`` already holds the whole database.
        """
        if self.dialect != "postgresql":
            return
        for key in sorted({_lock_key(f"{self.schema or ''}|{name}") for name in names}):
            conn.execute(select(func.pg_advisory_xact_lock(key)))

    def ping(self) -> None:
        """Connect and run ``SELECT 1`` (raises the driver's error)."""
        with self.begin() as conn:
            conn.execute(select(1))

    def dispose(self, *, close: bool = True) -> None:
        """Close pooled connections (``close=False`` after a fork: drop without closing)."""
        self.base_engine.dispose(close=close)

    # dialect-specific expressions

    def dsum(self, column: ColumnElement[Any]) -> ColumnElement[Decimal]:
        """The exact sum of a decimal column."""
        if self.dialect == "sqlite":
            return func.polyvox_dsum(column, type_=ExactDecimal())
        return func.sum(column, type_=ExactDecimal())

    def p95(self, column: ColumnElement[Any]) -> ColumnElement[float]:
        """The 95th percentile (``percentile_cont``) of a numeric column."""
        if self.dialect == "sqlite":
            return func.polyvox_p95(column)
        return func.percentile_cont(0.95).within_group(column)

    def day(self, column: ColumnElement[Any]) -> ColumnElement[str]:
        """The UTC day of a timestamp column, as ``YYYY-MM-DD``."""
        if self.dialect == "sqlite":
            return func.strftime(literal_column("'%Y-%m-%d'"), column)
        return func.to_char(column, literal_column("'YYYY-MM-DD'"))

    def month(self, column: ColumnElement[Any]) -> ColumnElement[str]:
        """The UTC month of a timestamp column, as ``YYYY-MM``."""
        if self.dialect == "sqlite":
            return func.strftime(literal_column("'%Y-%m'"), column)
        return func.to_char(column, literal_column("'YYYY-MM'"))


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT * 1000)}")
        with contextlib.suppress(Exception):  # another process is switching it to WAL
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()
    dbapi_connection.create_aggregate("polyvox_dsum", 1, _DecimalSum)
    dbapi_connection.create_aggregate("polyvox_p95", 1, _P95)


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get("polyvox_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
