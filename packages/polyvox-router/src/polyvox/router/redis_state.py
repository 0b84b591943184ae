"""Circuit-breaker state in Redis, shared by every process that uses the same key prefix.

Each transition is one Lua script, run atomically on the server, so concurrent processes
see every trip and every probe grant once. Keys, all under the prefix:

- ``<prefix>state:<name>``: a hash (``s`` state, ``o`` opened at, ``p`` probes granted
  since, ``n`` probes in flight), present only while the breaker is open or half-open;
- ``<prefix>fail:<name>``: a list of the newest failure timestamps (at most the
  threshold), expiring ``window_s`` after the last failure;
- ``<prefix>names``: the set of breakers with state, for snapshots.

The router reads every candidate's breaker in one round trip
(:meth:`RedisBreakerStore.available_many`: one Lua script over all the state keys). A
success is only sent to Redis when it can change something: the success script acts on a
half-open breaker alone, and a breaker this process saw closed (by
:meth:`~RedisBreakerStore.allow` or a batch read) less than ``reset_timeout_s`` ago cannot
be half-open yet, since it would first have to open and then wait out the reset timeout
(clock skew between hosts aside). So a call to a healthy deployment costs two round trips
(the batch read and ``allow``) whatever the number of deployments; failures are always sent.

Every key has an expiry refreshed on each write, so nothing outlives its use. Timestamps
come from the board's clock (``time.time``), so hosts sharing a prefix need synchronised
clocks (NTP), and they should use the same :class:`~polyvox.router.breaker.BreakerConfig`.
Scripts touch keys they compute (see :mod:`polyvox.router.redis_scripts`): use a
standalone Redis (or one shard), not Redis Cluster.

When Redis is unreachable the store fails open: every breaker reads as closed, outcomes
are dropped, one warning is logged per outage (and a note when Redis is back), and the
server is not retried for ``retry_interval_s`` seconds, so routing goes on at full speed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar, Final

import redis
import redis.asyncio
from redis.commands.core import AsyncScript, Script

from polyvox.core.redis_clients import RedisClients, redact_url, shared_redis
from polyvox.router.breaker_types import (
    CLOSED_STATUS,
    BreakerConfig,
    BreakerStatus,
    BreakerStore,
    Clock,
)
from polyvox.router.redis_scripts import CLOSED, RELEASE, SCRIPTS, decode_names, read_status

__all__ = ["DEFAULT_REDIS_URL", "RedisBreakerStore"]

logger = logging.getLogger("polyvox.router")

DEFAULT_REDIS_URL: Final = "redis://127.0.0.1:6379/0"
"""Used when neither ``url`` nor ``$POLYVOX_REDIS_URL`` is given."""

_FAILURES = (redis.RedisError, OSError)


class RedisBreakerStore(BreakerStore):
    """Breaker state in Redis: sync through ``redis.Redis``, async through ``redis.asyncio``.

    Nothing connects until first use. Use it through :meth:`BreakerBoard.redis
    <polyvox.router.breaker.BreakerBoard.redis>`.
    """

    default_clock: Clock = time.time
    """Wall-clock time: every process sharing the state must read the same clock."""

    batch_reads: ClassVar[bool] = True
    """Each read is a round trip: the router asks about every deployment at once."""

    def __init__(
        self,
        url: str | None = None,
        *,
        prefix: str = "polyvox:breaker:",
        ttl_s: float = 3600.0,
        socket_timeout: float = 0.5,
        retry_interval_s: float = 5.0,
    ) -> None:
        """Configure the store (no connection is made yet).

        Args:
            url: The server; ``None`` for ``$POLYVOX_REDIS_URL`` or :data:`DEFAULT_REDIS_URL`.
            prefix: Namespace of every key the breakers use.
            ttl_s: Seconds an open or half-open breaker's state lives after its last change
                (at least twice the reset timeout plus the window); failures expire with
                the window.
            socket_timeout: Seconds to wait to connect and for each reply.
            retry_interval_s: After a failed call, seconds to leave the server alone.

        Raises:
            ValueError: An empty ``prefix`` or a ``ttl_s`` that is not positive.
        """
        if not prefix:
            raise ValueError("prefix must not be empty: reset() deletes keys under it")
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be > 0, got {ttl_s}")
        self._given_url = url  # what a pickle carries: not a URL read from the environment
        self.url = url or os.environ.get("POLYVOX_REDIS_URL") or DEFAULT_REDIS_URL
        """The server's URL."""
        self.prefix = prefix
        """Namespace of the breakers' keys."""
        self.ttl_s = ttl_s
        """Seconds an open breaker's state lives after its last change (a lower bound)."""
        self.socket_timeout = socket_timeout
        """Seconds to wait to connect and for each reply."""
        self.retry_interval_s = retry_interval_s
        """Seconds an unreachable server is left alone."""
        self._names = f"{prefix}names"
        # deployment -> when (board clock) this process last saw its breaker closed
        self._closed_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._down = False
        self._skip_until = 0.0
        self._clients = shared_redis(self.url, socket_timeout=socket_timeout)

    def __getstate__(self) -> dict[str, Any]:
        """The settings, for pickling: an unpickled store connects again on first use.

        A URL that came from ``$POLYVOX_REDIS_URL`` (it may hold a password) is not
        pickled: the unpickling process reads its own environment.
        """
        return {
            "url": self._given_url,
            "prefix": self.prefix,
            "ttl_s": self.ttl_s,
            "socket_timeout": self.socket_timeout,
            "retry_interval_s": self.retry_interval_s,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"RedisBreakerStore(url={redact_url(self.url)!r}, prefix={self.prefix!r})"

    @property
    def reachable(self) -> bool:
        """``False`` while the store is failing open after an unreachable server."""
        return not self._down

    def state_key(self, name: str) -> str:
        """The key of ``name``'s state hash.

        Args:
            name: The deployment.

        Returns:
            The key.
        """
        return f"{self.prefix}state:{name}"

    def failures_key(self, name: str) -> str:
        """The key of ``name``'s failure list.

        Args:
            name: The deployment.

        Returns:
            The key.
        """
        return f"{self.prefix}fail:{name}"

    # ---- sync ---------------------------------------------------------------------------

    def allow(self, name: str, config: BreakerConfig, clock: Clock) -> bool:
        """Whether a call may go to ``name`` now (``True`` while Redis is unreachable).

        Returns:
            ``True`` for a closed breaker or a granted probe.
        """
        return self._ask(name, config, clock, take=True)

    def available(self, name: str, config: BreakerConfig, clock: Clock) -> bool:
        """Whether :meth:`allow` would answer ``True`` (``True`` while Redis is unreachable).

        Returns:
            ``False`` only for an open breaker before its timeout or a full half-open one.
        """
        return self._ask(name, config, clock, take=False)

    def record_success(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Record a successful call (dropped while Redis is unreachable).

        Not sent when this process saw the breaker closed less than ``reset_timeout_s``
        ago: it cannot be half-open, the only state a success changes.
        """
        if self._skipping() or self._closed_recently(name, config, clock):
            return
        client, (_, _, success, _) = self._sync_client()
        try:
            success(keys=self._keys(name), args=[name], client=client)
        except _FAILURES as exc:
            self._failed(exc)
            return
        self._reached()

    def release(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Give back a half-open breaker's probe granted to a call that was not made."""
        if self._skipping():
            return
        client = self._sync_client()[0]
        try:
            client.eval(RELEASE, 1, self.state_key(name))
        except _FAILURES as exc:
            self._failed(exc)

    async def arelease(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Async :meth:`release`."""
        if self._skipping():
            return
        client = self._async_client()[0]
        try:
            await client.eval(RELEASE, 1, self.state_key(name))
        except _FAILURES as exc:
            self._failed(exc)

    def record_failure(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Record a failed call (dropped while Redis is unreachable)."""
        if self._skipping():
            return
        client, (_, failure, _, _) = self._sync_client()
        try:
            failure(
                keys=self._keys(name),
                args=self._failure_args(name, config, clock()),
                client=client,
            )
        except _FAILURES as exc:
            self._failed(exc)
            return
        self._reached()

    def available_many(
        self, names: Sequence[str], config: BreakerConfig, clock: Clock
    ) -> list[bool]:
        """:meth:`available` for every name, in one round trip (all ``True`` when unreachable).

        Returns:
            One answer per name, in order.
        """
        if not names or self._skipping():
            return [True] * len(names)
        client, (_, _, _, read) = self._sync_client()
        now = clock()
        try:
            answers = read(
                keys=[self.state_key(name) for name in names],
                args=self._read_args(config, now),
                client=client,
            )
        except _FAILURES as exc:
            self._failed(exc)
            return [True] * len(names)
        self._reached()
        return self._seen_all(names, answers, now)

    def status(self, name: str, config: BreakerConfig, clock: Clock) -> BreakerStatus:
        """The status of one breaker (closed while Redis is unreachable).

        Returns:
            The status.
        """
        if self._skipping():
            return CLOSED_STATUS
        client = self._sync_client()[0]
        try:
            with client.pipeline() as pipe:
                self._queue_read(pipe, name)
                raw = pipe.execute()
        except _FAILURES as exc:
            self._failed(exc)
            return CLOSED_STATUS
        self._reached()
        return read_status((raw[0], raw[1]), config, clock())

    def statuses(self, config: BreakerConfig, clock: Clock) -> dict[str, BreakerStatus]:
        """The status of every breaker with state (none while Redis is unreachable).

        Returns:
            Deployment name → status.
        """
        if self._skipping():
            return {}
        client = self._sync_client()[0]
        try:
            names = sorted(decode_names(client.smembers(self._names)))
            with client.pipeline() as pipe:
                for name in names:
                    self._queue_read(pipe, name)
                raw = pipe.execute()
            found, gone = self._collect(names, raw, config, clock())
            if gone:
                client.srem(self._names, *gone)
        except _FAILURES as exc:
            self._failed(exc)
            return {}
        self._reached()
        return found

    def reset(self, name: str | None = None) -> None:
        """Forget one breaker's state, or every breaker's (``None``) under the prefix.

        Raises:
            redis.RedisError: Redis is unreachable (a reset is never silently dropped).
        """
        client = self._sync_client()[0]
        names = [name] if name is not None else decode_names(client.smembers(self._names))
        client.delete(*self._reset_keys(names, everything=name is None))
        if name is not None:
            client.srem(self._names, name)

    def close(self) -> None:
        """Close the sync connections (a later call reconnects).

        The clients are shared by every user of the same server (see
        :func:`polyvox.core.redis_clients.shared_redis`); they lose only open connections.
        """
        self._shared().disconnect()

    # ---- async (redis.asyncio) -----------------------------------------------------------

    async def aallow(self, name: str, config: BreakerConfig, clock: Clock) -> bool:
        """Async :meth:`allow`, natively through ``redis.asyncio``.

        Returns:
            ``True`` for a closed breaker or a granted probe.
        """
        return await self._aask(name, config, clock, take=True)

    async def aavailable(self, name: str, config: BreakerConfig, clock: Clock) -> bool:
        """Async :meth:`available`.

        Returns:
            Whether :meth:`allow` would answer ``True``.
        """
        return await self._aask(name, config, clock, take=False)

    async def arecord_success(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Async :meth:`record_success` (not sent when it cannot change anything)."""
        if self._skipping() or self._closed_recently(name, config, clock):
            return
        client, (_, _, success, _) = self._async_client()
        try:
            await success(keys=self._keys(name), args=[name], client=client)
        except _FAILURES as exc:
            self._failed(exc)
            return
        self._reached()

    async def arecord_failure(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Async :meth:`record_failure`."""
        if self._skipping():
            return
        client, (_, failure, _, _) = self._async_client()
        try:
            await failure(
                keys=self._keys(name),
                args=self._failure_args(name, config, clock()),
                client=client,
            )
        except _FAILURES as exc:
            self._failed(exc)
            return
        self._reached()

    async def aavailable_many(
        self, names: Sequence[str], config: BreakerConfig, clock: Clock
    ) -> list[bool]:
        """Async :meth:`available_many` (one round trip).

        Returns:
            One answer per name, in order.
        """
        if not names or self._skipping():
            return [True] * len(names)
        client, (_, _, _, read) = self._async_client()
        now = clock()
        try:
            answers = await read(
                keys=[self.state_key(name) for name in names],
                args=self._read_args(config, now),
                client=client,
            )
        except _FAILURES as exc:
            self._failed(exc)
            return [True] * len(names)
        self._reached()
        return self._seen_all(names, answers, now)

    async def astatus(self, name: str, config: BreakerConfig, clock: Clock) -> BreakerStatus:
        """Async :meth:`status`.

        Returns:
            The status.
        """
        if self._skipping():
            return CLOSED_STATUS
        client = self._async_client()[0]
        try:
            async with client.pipeline() as pipe:
                self._queue_read(pipe, name)
                raw = await pipe.execute()
        except _FAILURES as exc:
            self._failed(exc)
            return CLOSED_STATUS
        self._reached()
        return read_status((raw[0], raw[1]), config, clock())

    async def astatuses(self, config: BreakerConfig, clock: Clock) -> dict[str, BreakerStatus]:
        """Async :meth:`statuses`.

        Returns:
            Deployment name → status.
        """
        if self._skipping():
            return {}
        client = self._async_client()[0]
        try:
            names = sorted(decode_names(await client.smembers(self._names)))
            async with client.pipeline() as pipe:
                for name in names:
                    self._queue_read(pipe, name)
                raw = await pipe.execute()
            found, gone = self._collect(names, raw, config, clock())
            if gone:
                await client.srem(self._names, *gone)
        except _FAILURES as exc:
            self._failed(exc)
            return {}
        self._reached()
        return found

    async def areset(self, name: str | None = None) -> None:
        """Async :meth:`reset`.

        Raises:
            redis.RedisError: Redis is unreachable.
        """
        client = self._async_client()[0]
        names = [name] if name is not None else decode_names(await client.smembers(self._names))
        await client.delete(*self._reset_keys(names, everything=name is None))
        if name is not None:
            await client.srem(self._names, name)

    async def aclose(self) -> None:
        """Close the running event loop's async connections (a later call reconnects)."""
        await self._shared().adisconnect()

    # ---- helpers -------------------------------------------------------------------------

    def _ask(self, name: str, config: BreakerConfig, clock: Clock, *, take: bool) -> bool:
        if self._skipping():
            return True
        client, (allow, _, _, _) = self._sync_client()
        now = clock()
        try:
            granted = allow(
                keys=self._allow_keys(name),
                args=self._allow_args(config, now, take),
                client=client,
            )
        except _FAILURES as exc:
            self._failed(exc)
            return True
        self._reached()
        return self._seen(name, int(granted), now)

    async def _aask(self, name: str, config: BreakerConfig, clock: Clock, *, take: bool) -> bool:
        if self._skipping():
            return True
        client, (allow, _, _, _) = self._async_client()
        now = clock()
        try:
            granted = await allow(
                keys=self._allow_keys(name),
                args=self._allow_args(config, now, take),
                client=client,
            )
        except _FAILURES as exc:
            self._failed(exc)
            return True
        self._reached()
        return self._seen(name, int(granted), now)

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

    def _keys(self, name: str) -> list[str]:
        return [self.state_key(name), self.failures_key(name), self._names]

    def _allow_keys(self, name: str) -> list[str]:
        return [self.state_key(name), self._names]

    def _ttl_ms(self, config: BreakerConfig) -> int:
        floor = 2 * (config.reset_timeout_s + config.window_s)
        return max(1, round(max(self.ttl_s, floor) * 1000))

    def _allow_args(self, config: BreakerConfig, now: float, take: bool) -> list[str | int]:
        return [
            repr(now),
            repr(config.reset_timeout_s),
            config.half_open_max_calls,
            1 if take else 0,
            self._ttl_ms(config),
        ]

    @staticmethod
    def _read_args(config: BreakerConfig, now: float) -> list[str | int]:
        return [repr(now), repr(config.reset_timeout_s), config.half_open_max_calls]

    def _seen(self, name: str, answer: int, now: float) -> bool:
        """Note what a read said of ``name``'s breaker; whether it lets a call through."""
        if answer == CLOSED:
            self._closed_at[name] = now
        else:
            self._closed_at.pop(name, None)
        return answer > 0

    def _seen_all(self, names: Sequence[str], answers: Sequence[Any], now: float) -> list[bool]:
        pairs = zip(names, answers, strict=True)
        return [self._seen(name, int(answer), now) for name, answer in pairs]

    def _closed_recently(self, name: str, config: BreakerConfig, clock: Clock) -> bool:
        """Whether ``name``'s breaker cannot be half-open now, by what this process saw.

        Seen closed at ``t``, a breaker must open after ``t`` and then wait
        ``reset_timeout_s`` before it can turn half-open.
        """
        seen = self._closed_at.get(name)
        return seen is not None and clock() - seen < config.reset_timeout_s

    def _failure_args(self, name: str, config: BreakerConfig, now: float) -> list[str | int]:
        return [
            repr(now),
            config.failure_threshold,
            repr(config.window_s),
            self._ttl_ms(config),
            max(1, round(config.window_s * 1000)),
            name,
        ]

    def _queue_read(self, pipe: Any, name: str) -> None:
        pipe.hmget(self.state_key(name), "s", "o", "p", "n")
        pipe.lrange(self.failures_key(name), 0, -1)

    def _collect(
        self, names: Sequence[str], raw: Sequence[Any], config: BreakerConfig, now: float
    ) -> tuple[dict[str, BreakerStatus], list[str]]:
        """Statuses of the names with state, and the names whose keys have all expired."""
        found: dict[str, BreakerStatus] = {}
        gone: list[str] = []
        for index, name in enumerate(names):
            fields, failures = raw[2 * index], raw[2 * index + 1]
            if fields[0] is None and not failures:
                gone.append(name)
            else:
                found[name] = read_status((fields, failures), config, now)
        return found, gone

    def _reset_keys(self, names: Sequence[str], *, everything: bool) -> list[str]:
        keys = [key for name in names for key in (self.state_key(name), self.failures_key(name))]
        return [*keys, self._names] if everything else keys

    def _skipping(self) -> bool:
        return self._down and time.monotonic() < self._skip_until

    def _failed(self, exc: Exception) -> None:
        """Fail open: leave the server alone for a while; warn once per outage."""
        with self._lock:
            first = not self._down
            self._down = True
            self._skip_until = time.monotonic() + self.retry_interval_s
        if first:
            logger.warning(
                "circuit-breaker state in Redis at %s is unavailable (%r): every breaker "
                "reads as closed until it is back (next try in %g s)",
                redact_url(self.url),
                exc,
                self.retry_interval_s,
            )

    def _reached(self) -> None:
        if self._down:
            with self._lock:
                was_down, self._down = self._down, False
            if was_down:
                logger.info(
                    "circuit-breaker state in Redis at %s is available again", redact_url(self.url)
                )
