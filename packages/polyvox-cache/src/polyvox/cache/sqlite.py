"""A response cache in a local SQLite file (stdlib ``sqlite3``, WAL, one connection per thread).

The file outlives the process and may be shared by several processes on one machine: WAL
lets readers run beside one writer, and writes wait up to ``timeout`` seconds for the lock.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Final

from langchain_core.caches import RETURN_VAL_TYPE

from polyvox.cache.common import ResponseCache, cache_key, encode

__all__ = ["SQLiteResponseCache", "default_cache_path"]

logger = logging.getLogger("polyvox.cache")

_TABLE: Final = "polyvox_response_cache"
_SCHEMA: Final = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} ("
    " key TEXT PRIMARY KEY, value BLOB NOT NULL, expires_at REAL, accessed INTEGER NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {_TABLE}_accessed ON {_TABLE} (accessed)",
    f"CREATE INDEX IF NOT EXISTS {_TABLE}_expires ON {_TABLE} (expires_at)",
)
_UPSERT: Final = (
    f"INSERT INTO {_TABLE} (key, value, expires_at, accessed) VALUES (?, ?, ?, ?)"
    " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
    " expires_at = excluded.expires_at, accessed = excluded.accessed"
)
_PURGE: Final = f"DELETE FROM {_TABLE} WHERE expires_at IS NOT NULL AND expires_at <= ?"
_EVICT: Final = (
    f"DELETE FROM {_TABLE} WHERE key IN (SELECT key FROM {_TABLE} ORDER BY accessed LIMIT ?)"
)


def default_cache_path() -> Path:
    """Where the cache lives when no path is given.

    Returns:
        ``$POLYVOX_CACHE_PATH`` if set, else ``$XDG_CACHE_HOME/polyvox/responses.sqlite3``
        (``~/.cache`` when ``XDG_CACHE_HOME`` is unset).
    """
    if explicit := os.environ.get("POLYVOX_CACHE_PATH"):
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "polyvox" / "responses.sqlite3"


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced, so :meth:`close` can find them all."""


class SQLiteResponseCache(ResponseCache):
    """A persistent response cache in one SQLite file.

    Entries expire ``ttl`` seconds after they are written; beyond ``max_size`` the least
    recently used (read or written) are deleted. Each thread gets its own connection.

    Example:
        ```python
        from langchain_core.globals import set_llm_cache
        from polyvox.cache import SQLiteResponseCache

        set_llm_cache(SQLiteResponseCache("answers.sqlite3", ttl=86400, compress=True))
        ```
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        ttl: float | None = None,
        max_size: int | None = None,
        compress: bool = False,
        compress_threshold: int = 1024,
        timeout: float = 30.0,
    ) -> None:
        """Open (and create if needed) the cache file.

        Args:
            path: The database file; ``None`` for :func:`default_cache_path`.
            ttl: Seconds an entry lives after it is written; ``None`` for no expiry.
            max_size: Most entries kept; ``None`` for no limit.
            compress: zlib-compress payloads of at least ``compress_threshold`` bytes.
            compress_threshold: The smallest payload worth compressing, in bytes.
            timeout: Seconds to wait for another connection's write lock.

        Raises:
            ValueError: ``":memory:"`` as path (use ``InMemoryResponseCache``), ``max_size``
                below 1 or ``ttl`` not positive.
        """
        super().__init__(ttl=ttl, max_size=max_size)
        if str(path) == ":memory:":
            msg = "an in-memory SQLite cache is per connection; use InMemoryResponseCache"
            raise ValueError(msg)
        self.path = Path(path).expanduser() if path is not None else default_cache_path()
        """The database file."""
        self.compress = compress
        """Whether large payloads are zlib-compressed."""
        self.compress_threshold = compress_threshold
        """The smallest payload, in bytes, that is compressed."""
        self.timeout = timeout
        """Seconds a write waits for the database lock."""
        self._local = threading.local()
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._epoch = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._conn()
        conn.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            conn.execute(statement)

    def __repr__(self) -> str:
        return f"SQLiteResponseCache(path={str(self.path)!r})"

    # ---- LangChain's BaseCache ------------------------------------------------------------

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Return the cached answer (marked as a cache hit), or ``None``.

        Args:
            prompt: LangChain's serialised prompt.
            llm_string: LangChain's serialised model configuration.

        Returns:
            A marked copy of the stored generations, or ``None`` on a miss.
        """
        key = cache_key(prompt, llm_string)
        conn = self._conn()
        now = time.time()
        row = conn.execute(
            f"SELECT value, expires_at FROM {_TABLE} WHERE key = ?", (key,)
        ).fetchone()
        value = None
        if row is not None and (row[1] is None or row[1] > now):
            if (value := self._decode(row[0])) is None:
                conn.execute(f"DELETE FROM {_TABLE} WHERE key = ?", (key,))
            else:
                conn.execute(f"UPDATE {_TABLE} SET accessed = ? WHERE key = ?", (self._tick(), key))
        return self._answer(value)

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Store an answer; drop expired entries and the least recently used beyond ``max_size``.

        Args:
            prompt: LangChain's serialised prompt.
            llm_string: LangChain's serialised model configuration.
            return_val: The generations to store.
        """
        payload = encode(return_val, compress=self.compress, threshold=self.compress_threshold)
        now = time.time()
        expires = None if self.ttl is None else now + self.ttl
        conn = self._conn()
        evicted = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_UPSERT, (cache_key(prompt, llm_string), payload, expires, self._tick()))
            conn.execute(_PURGE, (now,))
            if self.max_size is not None:
                (count,) = conn.execute(f"SELECT COUNT(*) FROM {_TABLE}").fetchone()
                if count > self.max_size:
                    evicted = conn.execute(_EVICT, (count - self.max_size,)).rowcount
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._counters.evicted(evicted)

    def clear(self, **kwargs: Any) -> None:
        """Delete every entry (the statistics counters stay; see ``reset_stats``).

        Args:
            **kwargs: Accepted for LangChain's interface; unused.
        """
        self._conn().execute(f"DELETE FROM {_TABLE}")

    # sqlite3 has no async API. The async methods call the sync ones directly, on purpose:
    # this is a local file in WAL mode, where a lookup or an upsert takes microseconds —
    # less than handing the call to a worker thread would (``asyncio.to_thread`` costs tens
    # of microseconds and a thread-pool slot, and would open one more connection per
    # worker). The only wait is for another writer's lock, which lasts as long as one
    # upsert. Network caches (Redis) are different: their async methods are natively async.

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Async :meth:`lookup` (local-file I/O, run inline; see the note in the source).

        Args:
            prompt: LangChain's serialised prompt.
            llm_string: LangChain's serialised model configuration.

        Returns:
            A marked copy of the stored generations, or ``None`` on a miss.
        """
        return self.lookup(prompt, llm_string)

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Async :meth:`update` (local-file I/O, run inline; see the note in the source).

        Args:
            prompt: LangChain's serialised prompt.
            llm_string: LangChain's serialised model configuration.
            return_val: The generations to store.
        """
        self.update(prompt, llm_string, return_val)

    async def aclear(self, **kwargs: Any) -> None:
        """Async :meth:`clear` (local-file I/O, run inline).

        Args:
            **kwargs: Accepted for LangChain's interface; unused.
        """
        self.clear()

    # ---- housekeeping ---------------------------------------------------------------------

    def close(self) -> None:
        """Close every thread's connection; a later call opens new ones."""
        with self._lock:
            self._epoch += 1
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            conn.close()

    def _size(self) -> int:
        (count,) = (
            self._conn()
            .execute(
                f"SELECT COUNT(*) FROM {_TABLE} WHERE expires_at IS NULL OR expires_at > ?",
                (time.time(),),
            )
            .fetchone()
        )
        return int(count)

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        held: tuple[int, _Connection] | None = getattr(self._local, "conn", None)
        if held is not None and held[0] == self._epoch:
            return held[1]
        conn = sqlite3.connect(
            self.path,
            timeout=self.timeout,
            isolation_level=None,  # autocommit; update() opens its own transaction
            check_same_thread=False,  # used by one thread only, but close() may run elsewhere
            factory=_Connection,
        )
        conn.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._connections.add(conn)
            self._local.conn = (self._epoch, conn)
        return conn
