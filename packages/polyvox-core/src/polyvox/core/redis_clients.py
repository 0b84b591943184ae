"""One set of Redis clients per server, shared by everything in the process that uses it.

The response cache (``polyvox.cache``) and the router's shared breaker state both talk
to Redis. :func:`shared_redis` hands every user of the same URL and timeout the same
:class:`RedisClients`: one sync ``redis.Redis`` (thread-safe, pooled) and one
``redis.asyncio.Redis`` per event loop (a :class:`~polyvox.core.loops.PerLoop`: async
connections belong to the loop that opened them), each with its users' Lua scripts
registered once. Needs the ``redis`` extra (``pip install "polyvox-core[redis]"``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from polyvox.core.extras import require
from polyvox.core.loops import PerLoop

if TYPE_CHECKING:
    import redis
    import redis.asyncio
    from redis.commands.core import AsyncScript, Script

__all__ = ["RedisClients", "redact_url", "shared_redis"]


def redact_url(url: str) -> str:
    """The URL with its password (if any) replaced by ``***``.

    Args:
        url: A Redis URL.

    Returns:
        The URL safe to log.
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class _AsyncHeld:
    """The async client of one event loop and the scripts registered on it."""

    __slots__ = ("client", "scripts")

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self.scripts: dict[tuple[str, ...], list[AsyncScript]] = {}


class RedisClients:
    """A Redis server's clients: one sync, one async per event loop, scripts registered once.

    Get one from :func:`shared_redis`; building your own gives up the sharing.
    """

    def __init__(self, url: str, *, socket_timeout: float) -> None:
        """Prepare the clients (nothing connects until the first command).

        Args:
            url: The server's URL (``redis://`` or ``rediss://``).
            socket_timeout: Seconds to wait to connect and for each reply.
        """
        require("redis", "redis", packages=("polyvox-core",))
        self.url = url
        """The server's URL."""
        self.socket_timeout = socket_timeout
        """Seconds to wait to connect and for each reply."""
        self._lock = threading.Lock()
        self._sync: redis.Redis | None = None
        self._sync_scripts: dict[tuple[str, ...], list[Script]] = {}
        self._async: PerLoop[_AsyncHeld] = PerLoop()

    def __repr__(self) -> str:
        return f"RedisClients(url={redact_url(self.url)!r})"

    def sync(self, scripts: Sequence[str] = ()) -> tuple[redis.Redis, list[Script]]:
        """The sync client and ``scripts`` registered on it.

        Args:
            scripts: Lua sources; the same sequence gives the same ``Script`` objects.

        Returns:
            ``(client, [script, ...])`` in the order of ``scripts``.
        """
        key = tuple(scripts)
        with self._lock:
            if self._sync is None:
                import redis

                self._sync = redis.Redis.from_url(self.url, **self._options())
            client = self._sync
            registered = self._sync_scripts.get(key)
            if registered is None:
                registered = [client.register_script(lua) for lua in key]
                self._sync_scripts[key] = registered
            return client, registered

    def async_(self, scripts: Sequence[str] = ()) -> tuple[redis.asyncio.Redis, list[AsyncScript]]:
        """The running event loop's async client and ``scripts`` registered on it.

        Args:
            scripts: Lua sources; the same sequence gives the same ``AsyncScript`` objects.

        Returns:
            ``(client, [script, ...])`` in the order of ``scripts``.
        """
        key = tuple(scripts)
        with self._lock:
            held = self._async.get(self._new_async)
            registered = held.scripts.get(key)
            if registered is None:
                registered = [held.client.register_script(lua) for lua in key]
                held.scripts[key] = registered
            return held.client, registered

    def disconnect(self) -> None:
        """Close the sync client's connections; the next command opens new ones.

        Other users of the same clients lose nothing but the open connections.
        """
        with self._lock:
            client = self._sync
        if client is not None:
            client.connection_pool.disconnect()

    async def adisconnect(self) -> None:
        """Close the running event loop's async connections; the next command reconnects."""
        client = self.async_()[0]
        await client.connection_pool.disconnect()

    def _new_async(self) -> _AsyncHeld:
        import redis.asyncio

        return _AsyncHeld(redis.asyncio.Redis.from_url(self.url, **self._options()))

    def _options(self) -> dict[str, Any]:
        return {
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_timeout,
        }


_SHARED: dict[tuple[str, float], RedisClients] = {}
_SHARED_LOCK = threading.Lock()


def shared_redis(url: str, *, socket_timeout: float) -> RedisClients:
    """The process's clients for ``url`` with this timeout, made on first use.

    Args:
        url: The server's URL.
        socket_timeout: Seconds to wait to connect and for each reply.

    Returns:
        The same :class:`RedisClients` for the same ``(url, socket_timeout)``.
    """
    key = (url, float(socket_timeout))
    with _SHARED_LOCK:
        clients = _SHARED.get(key)
        if clients is None:
            clients = _SHARED[key] = RedisClients(url, socket_timeout=socket_timeout)
        return clients
