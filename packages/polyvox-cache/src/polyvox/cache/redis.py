"""A response cache on a Redis server, shared by every process that uses the same prefix.

Sync methods use ``redis.Redis``; async methods use ``redis.asyncio`` natively (one client
per event loop). Each operation is one round trip: a Lua script stores or reads the entry
and keeps a sorted set of keys by last access (``<prefix>lru``), from which ``max_size``
evicts the oldest. TTLs are Redis expiries. Scripts touch keys they compute, so use a
standalone Redis (or a single-shard deployment), not Redis Cluster.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from typing import Any, Final

import redis
import redis.asyncio
from langchain_core.caches import RETURN_VAL_TYPE
from redis.commands.core import AsyncScript, Script

from polyvox.cache._redis_lua import SCRIPTS
from polyvox.cache.common import (
    CacheStats,
    CacheUnavailableError,
    ResponseCache,
    cache_key,
    encode,
    redact_url,
)
from polyvox.core.redis_clients import RedisClients, shared_redis

__all__ = ["DEFAULT_REDIS_URL", "RedisResponseCache"]

logger = logging.getLogger("polyvox.cache")

DEFAULT_REDIS_URL: Final = "redis://127.0.0.1:6379/0"
"""Used when neither ``url`` nor ``$POLYVOX_REDIS_URL`` is given."""

_UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, OSError)


def _wrong_type(exc: Exception) -> bool:
    """Whether the server refused one key for holding another type of value."""
    return str(exc).startswith("WRONGTYPE")


_FAILURES = (redis.RedisError, OSError)


class RedisResponseCache(ResponseCache):
    """A response cache shared through Redis, natively sync and async.

    Nothing connects until first use. An unreachable server then either counts as a miss
    with a logged warning (``fail_open=True``, the default: a model call never fails because
    of its cache, and the server is not retried for ``retry_interval`` seconds) or raises
    :class:`~polyvox.cache.CacheUnavailableError` naming the URL (``fail_open=False``).
    ``clear`` always raises, since a cache that silently stays full would surprise.

    ``stats`` counts this process's hits, misses and evictions; its ``size`` is the
    server's (every process's entries under ``prefix``; with a ``ttl``, counting walks the
    index and drops expired keys from it, O(size) on the server).

    Example:
        ```python
        from langchain_core.globals import set_llm_cache
        from polyvox.cache import RedisResponseCache

        set_llm_cache(RedisResponseCache(ttl=3600, max_size=100_000, compress=True))
        ```
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        ttl: float | None = None,
        max_size: int | None = None,
        compress: bool = False,
        compress_threshold: int = 1024,
        prefix: str = "polyvox:cache:",
        fail_open: bool = True,
        socket_timeout: float = 1.0,
        retry_interval: float = 5.0,
    ) -> None:
        """Configure the cache (no connection is made yet).

        Args:
            url: The server; ``None`` for ``$POLYVOX_REDIS_URL`` or :data:`DEFAULT_REDIS_URL`.
            ttl: Seconds an entry lives after it is written; ``None`` for no expiry.
            max_size: Most entries kept under ``prefix``; ``None`` for no limit.
            compress: zlib-compress payloads of at least ``compress_threshold`` bytes.
            compress_threshold: The smallest payload worth compressing, in bytes.
            prefix: Namespace of every key this cache writes.
            fail_open: Treat an unreachable server as a miss (logged) instead of raising.
            socket_timeout: Seconds to wait to connect and for each reply.
            retry_interval: With ``fail_open``, seconds to skip the server after a failure.

        Raises:
            ValueError: An empty ``prefix``, ``max_size`` below 1 or ``ttl`` not positive.
        """
        super().__init__(ttl=ttl, max_size=max_size)
        if not prefix:
            msg = "prefix must not be empty: clear() deletes every key under it"
            raise ValueError(msg)
        self.url = url or os.environ.get("POLYVOX_REDIS_URL") or DEFAULT_REDIS_URL
        """The server's URL."""
        self.prefix = prefix
        """Namespace of this cache's keys."""
        self.compress = compress
        """Whether large payloads are zlib-compressed."""
        self.compress_threshold = compress_threshold
        """The smallest payload, in bytes, that is compressed."""
        self.fail_open = fail_open
        """Whether an unreachable server is a miss rather than an error."""
        self.socket_timeout = socket_timeout
        """Seconds to wait to connect and for each reply."""
        self.retry_interval = retry_interval
        """Seconds an unreachable server is skipped (``fail_open`` only)."""
        self._index = f"{prefix}lru"
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._clients = shared_redis(self.url, socket_timeout=socket_timeout)

    def __repr__(self) -> str:
        return f"RedisResponseCache(url={redact_url(self.url)!r}, prefix={self.prefix!r})"

    # ---- sync ---------------------------------------------------------------------------

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """The cached answer, marked as a hit, or ``None`` (see ``BaseCache.lookup``).

        Raises:
            CacheUnavailableError: The server is unreachable and ``fail_open`` is off.
        """
        key = self.prefix + cache_key(prompt, llm_string)
        value = None
        if not self._skipping():
            client, (lookup, _, _) = self._sync_client()
            try:
                payload = lookup(keys=[key, self._index], args=[self._tick(1000)], client=client)
                if payload is not None and (value := self._decode(payload)) is None:
                    client.delete(key)
                    client.zrem(self._index, key)
            except redis.ResponseError as exc:
                if not _wrong_type(exc):  # OOM, READONLY, NOPERM...: the server's trouble
                    self._failed(exc, "lookup")
                    return self._answer(None)
                # this one entry is of another type (another program's key): a miss
                if client.type(key) in (b"string", b"none", "string", "none"):
                    self._failed(exc, "lookup")  # the index is the bad key: the server's
                    return self._answer(None)
                self._bad_entry(exc, key)
                with contextlib.suppress(*_FAILURES):
                    client.delete(key)
            except _FAILURES as exc:
                self._failed(exc, "lookup")
        return self._answer(value)

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Store an answer, evicting the least recently used beyond ``max_size``.

        Raises:
            CacheUnavailableError: The server is unreachable and ``fail_open`` is off.
        """
        if self._skipping():
            return
        client, (_, update, _) = self._sync_client()
        try:
            evicted = update(
                keys=self._keys(prompt, llm_string), args=self._args(return_val), client=client
            )
        except _FAILURES as exc:
            self._failed(exc, "update")
            return
        self._counters.evicted(int(evicted))

    def clear(self, **kwargs: Any) -> None:
        """Delete every key under ``prefix`` (the statistics counters stay).

        Raises:
            CacheUnavailableError: The server is unreachable (whatever ``fail_open`` says).
        """
        client = self._sync_client()[0]
        try:
            keys = list(client.scan_iter(match=self._pattern(), count=1000))
            for start in range(0, len(keys), 1000):
                client.unlink(*keys[start : start + 1000])
        except _UNREACHABLE as exc:
            raise self._error(exc, "clear") from exc

    def close(self) -> None:
        """Close the sync connections (a later call reconnects).

        The clients are shared by every user of the same server (see
        :func:`polyvox.core.redis_clients.shared_redis`); they lose only open connections.
        """
        self._shared().disconnect()

    # ---- async (redis.asyncio) -----------------------------------------------------------

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """:meth:`lookup`, natively async through ``redis.asyncio``.

        Raises:
            CacheUnavailableError: The server is unreachable and ``fail_open`` is off.
        """
        key = self.prefix + cache_key(prompt, llm_string)
        value = None
        if not self._skipping():
            client, (lookup, _, _) = self._async_client()
            try:
                payload = await lookup(
                    keys=[key, self._index], args=[self._tick(1000)], client=client
                )
                if payload is not None and (value := self._decode(payload)) is None:
                    await client.delete(key)
                    await client.zrem(self._index, key)
            except redis.ResponseError as exc:
                if not _wrong_type(exc):  # OOM, READONLY, NOPERM...: the server's trouble
                    self._failed(exc, "lookup")
                    return self._answer(None)
                # this one entry is of another type (another program's key): a miss
                if await client.type(key) in (b"string", b"none", "string", "none"):
                    self._failed(exc, "lookup")  # the index is the bad key: the server's
                    return self._answer(None)
                self._bad_entry(exc, key)
                with contextlib.suppress(*_FAILURES):
                    await client.delete(key)
            except _FAILURES as exc:
                self._failed(exc, "lookup")
        return self._answer(value)

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """:meth:`update`, natively async through ``redis.asyncio``.

        Raises:
            CacheUnavailableError: The server is unreachable and ``fail_open`` is off.
        """
        if self._skipping():
            return
        client, (_, update, _) = self._async_client()
        try:
            evicted = await update(
                keys=self._keys(prompt, llm_string), args=self._args(return_val), client=client
            )
        except _FAILURES as exc:
            self._failed(exc, "update")
            return
        self._counters.evicted(int(evicted))

    async def aclear(self, **kwargs: Any) -> None:
        """:meth:`clear`, natively async through ``redis.asyncio``.

        Raises:
            CacheUnavailableError: The server is unreachable (whatever ``fail_open`` says).
        """
        client = self._async_client()[0]
        try:
            keys = [key async for key in client.scan_iter(match=self._pattern(), count=1000)]
            for start in range(0, len(keys), 1000):
                await client.unlink(*keys[start : start + 1000])
        except _UNREACHABLE as exc:
            raise self._error(exc, "clear") from exc

    async def astats(self) -> CacheStats:
        """Async :attr:`stats`: this process's counters and the server's size.

        Returns:
            The statistics (size 0 while the server is unreachable under ``fail_open``).
        """
        size = 0
        if not self._skipping():
            client, (_, _, size_script) = self._async_client()
            try:
                if self.ttl is None:
                    size = int(await client.zcard(self._index))
                else:
                    size = int(await size_script([self._index], [self._cutoff()], client))
            except _FAILURES as exc:
                self._failed(exc, "stats")
        return self._counters.snapshot(size)

    async def aclose(self) -> None:
        """Close the running event loop's async connections (a later call reconnects)."""
        await self._shared().adisconnect()

    # ---- helpers -------------------------------------------------------------------------

    def _size(self) -> int:
        if self._skipping():
            return 0
        client, (_, _, size_script) = self._sync_client()
        try:
            if self.ttl is None:
                return int(client.zcard(self._index))
            return int(size_script([self._index], [self._cutoff()], client))
        except _FAILURES as exc:
            self._failed(exc, "stats")
            return 0

    def _sync_client(self) -> tuple[redis.Redis, list[Script]]:
        return self._shared().sync(SCRIPTS)

    def _async_client(self) -> tuple[redis.asyncio.Redis, list[AsyncScript]]:
        return self._shared().async_(SCRIPTS)

    def _shared(self) -> RedisClients:
        # The process's clients for this server, shared with every other user of it;
        # looked up again when ``url`` or ``socket_timeout`` was changed.
        clients = self._clients
        if clients.url != self.url or clients.socket_timeout != self.socket_timeout:
            clients = self._clients = shared_redis(self.url, socket_timeout=self.socket_timeout)
        return clients

    def _keys(self, prompt: str, llm_string: str) -> list[str]:
        return [self.prefix + cache_key(prompt, llm_string), self._index]

    def _args(self, return_val: RETURN_VAL_TYPE) -> list[bytes | int | str]:
        payload = encode(return_val, compress=self.compress, threshold=self.compress_threshold)
        ttl_ms = 0 if self.ttl is None else max(1, round(self.ttl * 1000))
        return [payload, self._tick(1000), ttl_ms, self.max_size or 0, self._cutoff()]

    def _cutoff(self) -> int:
        """Index entries last used before this (µs) have certainly expired."""
        if self.ttl is None:
            return 0
        return time.time_ns() // 1000 - round(self.ttl * 1_000_000)

    def _pattern(self) -> str:
        return re.sub(r"([*?\[\]\\])", r"\\\1", self.prefix) + "*"

    def _skipping(self) -> bool:
        return self.fail_open and time.monotonic() < self._down_until

    def _error(self, exc: Exception, action: str) -> CacheUnavailableError:
        msg = f"the Redis response cache at {redact_url(self.url)} is unreachable ({action}): {exc}"
        return CacheUnavailableError(msg)

    def _bad_entry(self, exc: Exception, key: str) -> None:
        """Log an entry the server refuses to read (a key of another type).

        It is a miss for that key only, and removed; the cache stays on for every other key.
        """
        logger.warning(
            "Redis response cache: entry %s could not be read (%s); treated as a miss and removed",
            key,
            exc,
        )

    def _failed(self, exc: Exception, action: str) -> None:
        """Raise (``fail_open`` off) or log and leave the server alone for a while."""
        if not self.fail_open:
            if isinstance(exc, _UNREACHABLE):
                raise self._error(exc, action) from exc
            raise exc
        with self._lock:
            self._down_until = time.monotonic() + self.retry_interval
        reason = self._error(exc, action) if isinstance(exc, _UNREACHABLE) else repr(exc)
        logger.warning(
            "Redis response cache %s failed: %s; going on without it for %g s",
            action,
            reason,
            self.retry_interval,
        )
