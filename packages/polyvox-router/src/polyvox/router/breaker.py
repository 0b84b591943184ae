"""Circuit breakers: one per deployment, so a failing deployment is skipped until it heals.

A breaker starts ``CLOSED`` (calls go through). When ``failure_threshold`` failures fall
within ``window_s`` seconds it turns ``OPEN``: :meth:`BreakerBoard.allow` answers ``False``
at once, so the router falls back without waiting on a broken provider. Once
``reset_timeout_s`` has passed, the next :meth:`~BreakerBoard.allow` moves it to
``HALF_OPEN`` and grants a probe (at most ``half_open_max_calls`` at a time); the probe's
success closes the breaker, its failure opens it again for another ``reset_timeout_s``.
A granted probe that never reports back (its caller was cancelled) is forgotten after
``reset_timeout_s``, so a breaker never stays half-open for good.

Failures are counted in a sliding window: a success while closed does not clear them, so a
deployment that fails every other call still trips the breaker. A success or failure
reported while the breaker is open (a call that started before it opened) changes nothing.

State lives in memory by default (:class:`MemoryBreakerStore`, one process). For several
processes sharing one view, use :meth:`BreakerBoard.redis` (see
:mod:`polyvox.router.redis_state`), which fails open when Redis is unreachable.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from polyvox.router.breaker_types import (
    CLOSED_STATUS,
    BreakerConfig,
    BreakerState,
    BreakerStatus,
    BreakerStore,
    Clock,
)

if TYPE_CHECKING:
    from polyvox.router.redis_state import RedisBreakerStore

__all__ = [
    "BreakerBoard",
    "BreakerConfig",
    "BreakerState",
    "BreakerStatus",
    "BreakerStore",
    "MemoryBreakerStore",
]


class _Breaker:
    """One breaker's mutable state (guarded by the store's lock)."""

    __slots__ = ("failures", "in_flight", "opened_at", "probe_since", "state")

    def __init__(self, threshold: int) -> None:
        self.state = BreakerState.CLOSED
        # Only the newest ``threshold`` failures matter: the oldest of them decides.
        self.failures: deque[float] = deque(maxlen=threshold)
        self.opened_at = 0.0
        self.probe_since = 0.0
        self.in_flight = 0


class MemoryBreakerStore(BreakerStore):
    """Breaker state in this process's memory, behind one lock.

    A breaker that is closed (or was never used) is answered without taking the lock, so
    :meth:`allow` costs a dictionary lookup on the router's hot path. Nothing is stored for
    a deployment until its first failure, and a breaker that recovers is dropped.

    The async methods run the same non-blocking code inline: there is no I/O to await.
    """

    def __init__(self) -> None:
        """Start with every breaker closed."""
        self._lock = threading.Lock()
        self._breakers: dict[str, _Breaker] = {}

    def __reduce__(self) -> tuple[type[MemoryBreakerStore], tuple[()]]:
        """Pickled, a store starts again with every breaker closed (state stays here)."""
        return (type(self), ())

    def allow(self, name: str, config: BreakerConfig, clock: Clock) -> bool:
        """Whether a call may go to ``name`` now (granting a probe when one is due)."""
        breaker = self._breakers.get(name)
        if breaker is None or breaker.state is BreakerState.CLOSED:
            return True  # reading one attribute needs no lock; a racing trip is harmless
        with self._lock:
            return self._grant(breaker, config, clock(), take=True)

    def available(self, name: str, config: BreakerConfig, clock: Clock) -> bool:
        """Whether :meth:`allow` would answer ``True``, without granting anything."""
        breaker = self._breakers.get(name)
        if breaker is None or breaker.state is BreakerState.CLOSED:
            return True
        with self._lock:
            return self._grant(breaker, config, clock(), take=False)

    def record_success(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Record a successful call: a half-open breaker closes (and is forgotten)."""
        breaker = self._breakers.get(name)
        if breaker is None or breaker.state is BreakerState.CLOSED:
            return
        with self._lock:
            if breaker.state is BreakerState.HALF_OPEN and self._breakers.get(name) is breaker:
                del self._breakers[name]

    def release(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Give back a half-open breaker's probe granted to a call that was not made."""
        breaker = self._breakers.get(name)
        if breaker is None or breaker.state is not BreakerState.HALF_OPEN:
            return
        with self._lock:
            if breaker.state is BreakerState.HALF_OPEN and breaker.in_flight > 0:
                breaker.in_flight -= 1

    def record_failure(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Record a failed call: open at the threshold, or re-open a half-open breaker."""
        now = clock()
        with self._lock:
            breaker = self._breakers.get(name)
            if breaker is None:
                breaker = self._breakers[name] = _Breaker(config.failure_threshold)
            if breaker.state is BreakerState.CLOSED:
                failures = breaker.failures
                failures.append(now)
                if len(failures) >= config.failure_threshold and now - failures[0] <= (
                    config.window_s
                ):
                    self._open(breaker, now)
            elif breaker.state is BreakerState.HALF_OPEN:
                self._open(breaker, now)

    def status(self, name: str, config: BreakerConfig, clock: Clock) -> BreakerStatus:
        """The status of one breaker (closed with no failures for an unknown name)."""
        now = clock()
        with self._lock:
            breaker = self._breakers.get(name)
            return CLOSED_STATUS if breaker is None else _status(breaker, config, now)

    def statuses(self, config: BreakerConfig, clock: Clock) -> dict[str, BreakerStatus]:
        """The status of every breaker that has recorded a failure."""
        now = clock()
        with self._lock:
            return {name: _status(b, config, now) for name, b in self._breakers.items()}

    def reset(self, name: str | None = None) -> None:
        """Forget one breaker's state, or every breaker's (``None``)."""
        with self._lock:
            if name is None:
                self._breakers.clear()
            else:
                self._breakers.pop(name, None)

    async def aallow(self, name: str, config: BreakerConfig, clock: Clock) -> bool:
        """Async :meth:`allow` (run inline: there is no I/O)."""
        return self.allow(name, config, clock)

    async def aavailable(self, name: str, config: BreakerConfig, clock: Clock) -> bool:
        """Async :meth:`available` (run inline)."""
        return self.available(name, config, clock)

    async def arecord_success(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Async :meth:`record_success` (run inline)."""
        self.record_success(name, config, clock)

    async def arecord_failure(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Async :meth:`record_failure` (run inline)."""
        self.record_failure(name, config, clock)

    async def astatus(self, name: str, config: BreakerConfig, clock: Clock) -> BreakerStatus:
        """Async :meth:`status` (run inline)."""
        return self.status(name, config, clock)

    async def astatuses(self, config: BreakerConfig, clock: Clock) -> dict[str, BreakerStatus]:
        """Async :meth:`statuses` (run inline)."""
        return self.statuses(config, clock)

    async def areset(self, name: str | None = None) -> None:
        """Async :meth:`reset` (run inline)."""
        self.reset(name)

    @staticmethod
    def _open(breaker: _Breaker, now: float) -> None:
        breaker.state = BreakerState.OPEN
        breaker.opened_at = now
        breaker.in_flight = 0

    @staticmethod
    def _grant(breaker: _Breaker, config: BreakerConfig, now: float, *, take: bool) -> bool:
        """Decide (under the lock) whether a non-closed breaker lets a call through."""
        if breaker.state is BreakerState.CLOSED:
            return True
        if breaker.state is BreakerState.OPEN:
            if now - breaker.opened_at < config.reset_timeout_s:
                return False
            if take:
                breaker.state = BreakerState.HALF_OPEN
                breaker.probe_since = now
                breaker.in_flight = 1
            return True
        in_flight = breaker.in_flight
        if now - breaker.probe_since >= config.reset_timeout_s:
            in_flight = 0  # the probes granted earlier never reported: grant afresh
            if take:
                breaker.probe_since = now
        if in_flight >= config.half_open_max_calls:
            return False
        if take:
            breaker.in_flight = in_flight + 1
        return True


def _status(breaker: _Breaker, config: BreakerConfig, now: float) -> BreakerStatus:
    failures = sum(1 for at in breaker.failures if now - at <= config.window_s)
    if breaker.state is BreakerState.CLOSED:
        return BreakerStatus(BreakerState.CLOSED, failures)
    if breaker.state is BreakerState.OPEN:
        retry_in = max(0.0, breaker.opened_at + config.reset_timeout_s - now)
        return BreakerStatus(BreakerState.OPEN, failures, breaker.opened_at, retry_in)
    probes = 0 if now - breaker.probe_since >= config.reset_timeout_s else breaker.in_flight
    return BreakerStatus(BreakerState.HALF_OPEN, failures, breaker.opened_at, None, probes)


class BreakerBoard:
    """All the circuit breakers of one router, keyed by deployment name.

    In memory by default; :meth:`redis` shares state between processes. Call
    :meth:`allow` right before calling a deployment, then :meth:`record_success` or
    :meth:`record_failure` with the outcome; use :meth:`available` to filter candidates
    without taking a half-open probe slot.

    Example:
        ```python
        board = BreakerBoard(BreakerConfig(failure_threshold=3, reset_timeout_s=10))
        if board.allow("openai/gpt-4o"):
            try:
                answer = model.invoke(prompt)
            except Exception:
                board.record_failure("openai/gpt-4o")
                raise
            board.record_success("openai/gpt-4o")
        ```
    """

    __slots__ = ("_clock", "_store", "config")

    def __init__(
        self,
        config: BreakerConfig | None = None,
        *,
        store: BreakerStore | None = None,
        clock: Clock | None = None,
    ) -> None:
        """Create a board.

        Args:
            config: Thresholds and timeouts (the defaults of :class:`BreakerConfig`).
            store: Where state lives (a new :class:`MemoryBreakerStore` when omitted).
            clock: The time source; defaults to the store's (``time.monotonic`` in memory,
                ``time.time`` for Redis, whose timestamps every process must agree on).
        """
        self.config = config if config is not None else BreakerConfig()
        """Thresholds and timeouts."""
        self._store = store if store is not None else MemoryBreakerStore()
        self._clock = clock if clock is not None else type(self._store).default_clock

    @classmethod
    def redis(
        cls,
        url: str | None = None,
        *,
        prefix: str = "polyvox:breaker:",
        config: BreakerConfig | None = None,
        clock: Clock | None = None,
        **options: Any,
    ) -> BreakerBoard:
        """A board whose state lives in Redis, shared by every process using ``prefix``.

        A Redis outage does not stop routing: every breaker then reads as closed, outcomes
        are dropped, and one warning is logged per outage.

        Args:
            url: The server; ``None`` for ``$POLYVOX_REDIS_URL`` or ``redis://127.0.0.1:6379/0``.
            prefix: Namespace of the keys the breakers use.
            config: Thresholds and timeouts (use the same in every process).
            clock: The time source (``time.time`` by default).
            **options: More :class:`~polyvox.router.redis_state.RedisBreakerStore` options
                (``ttl_s``, ``socket_timeout``, ``retry_interval_s``).

        Returns:
            The board.
        """
        from polyvox.router.redis_state import RedisBreakerStore

        return cls(config, store=RedisBreakerStore(url, prefix=prefix, **options), clock=clock)

    @property
    def store(self) -> BreakerStore:
        """Where the state lives."""
        return self._store

    @property
    def redis_store(self) -> RedisBreakerStore | None:
        """The Redis store, when the board uses one."""
        module = sys.modules.get("polyvox.router.redis_state")  # not loaded: not in use
        if module is not None and isinstance(self._store, module.RedisBreakerStore):
            store: RedisBreakerStore = self._store
            return store
        return None

    def allow(self, name: str) -> bool:
        """Whether a call may go to deployment ``name`` now.

        Closed: ``True``. Open: ``False`` until the reset timeout has passed, then the
        breaker turns half-open and this grants a probe. Half-open: ``True`` while fewer
        than ``half_open_max_calls`` probes are out. Report every granted call's outcome.

        Args:
            name: The deployment.

        Returns:
            Whether to call it.
        """
        return self._store.allow(name, self.config, self._clock)

    def available(self, name: str) -> bool:
        """Whether :meth:`allow` would answer ``True``, without taking a probe slot.

        Args:
            name: The deployment.

        Returns:
            ``False`` only for an open breaker before its timeout or a full half-open one.
        """
        return self._store.available(name, self.config, self._clock)

    def available_many(self, names: Sequence[str]) -> dict[str, bool]:
        """:meth:`available` for several deployments at once (one round trip on Redis).

        Args:
            names: The deployments.

        Returns:
            Deployment name → whether :meth:`allow` would answer ``True``.
        """
        answers = self._store.available_many(names, self.config, self._clock)
        return dict(zip(names, answers, strict=True))

    def release(self, name: str) -> None:
        """Give back the probe :meth:`allow` granted, for a call that was not made.

        Args:
            name: The deployment.
        """
        self._store.release(name, self.config, self._clock)

    async def arelease(self, name: str) -> None:
        """Async :meth:`release`.

        Args:
            name: The deployment.
        """
        await self._store.arelease(name, self.config, self._clock)

    def record_success(self, name: str) -> None:
        """Record that a call to ``name`` succeeded (closes a half-open breaker).

        Args:
            name: The deployment.
        """
        self._store.record_success(name, self.config, self._clock)

    def record_failure(self, name: str) -> None:
        """Record that a call to ``name`` failed (may open its breaker).

        Args:
            name: The deployment.
        """
        self._store.record_failure(name, self.config, self._clock)

    def state(self, name: str) -> BreakerState:
        """The state of ``name``'s breaker.

        Args:
            name: The deployment.

        Returns:
            The stored state: an open breaker past its timeout reads ``OPEN`` until the next
            :meth:`allow` turns it half-open.
        """
        return self._store.status(name, self.config, self._clock).state

    def status(self, name: str) -> BreakerStatus:
        """The full status of ``name``'s breaker.

        Args:
            name: The deployment.

        Returns:
            The status.
        """
        return self._store.status(name, self.config, self._clock)

    def snapshot(self, names: Iterable[str] | None = None) -> dict[str, BreakerStatus]:
        """The status of every breaker.

        Args:
            names: The deployments to report (closed for those with no state); ``None``
                reports those the store holds state for.

        Returns:
            Deployment name → status.
        """
        held = self._store.statuses(self.config, self._clock)
        if names is None:
            return held
        return {name: held.get(name, CLOSED_STATUS) for name in names}

    def reset(self, name: str | None = None) -> None:
        """Close a breaker and forget its failures, or every breaker's (``None``).

        Args:
            name: The deployment, or ``None`` for all.
        """
        self._store.reset(name)

    async def aallow(self, name: str) -> bool:
        """Async :meth:`allow` (native ``redis.asyncio`` for the Redis store).

        Args:
            name: The deployment.

        Returns:
            Whether to call it.
        """
        return await self._store.aallow(name, self.config, self._clock)

    async def aavailable(self, name: str) -> bool:
        """Async :meth:`available`.

        Args:
            name: The deployment.

        Returns:
            Whether :meth:`allow` would answer ``True``.
        """
        return await self._store.aavailable(name, self.config, self._clock)

    async def aavailable_many(self, names: Sequence[str]) -> dict[str, bool]:
        """Async :meth:`available_many` (one native round trip on Redis).

        Args:
            names: The deployments.

        Returns:
            Deployment name → whether :meth:`allow` would answer ``True``.
        """
        answers = await self._store.aavailable_many(names, self.config, self._clock)
        return dict(zip(names, answers, strict=True))

    async def arecord_success(self, name: str) -> None:
        """Async :meth:`record_success`.

        Args:
            name: The deployment.
        """
        await self._store.arecord_success(name, self.config, self._clock)

    async def arecord_failure(self, name: str) -> None:
        """Async :meth:`record_failure`.

        Args:
            name: The deployment.
        """
        await self._store.arecord_failure(name, self.config, self._clock)

    async def astate(self, name: str) -> BreakerState:
        """Async :meth:`state`.

        Args:
            name: The deployment.

        Returns:
            The stored state.
        """
        return (await self._store.astatus(name, self.config, self._clock)).state

    async def astatus(self, name: str) -> BreakerStatus:
        """Async :meth:`status`.

        Args:
            name: The deployment.

        Returns:
            The status.
        """
        return await self._store.astatus(name, self.config, self._clock)

    async def asnapshot(self, names: Iterable[str] | None = None) -> dict[str, BreakerStatus]:
        """Async :meth:`snapshot`.

        Args:
            names: The deployments to report; ``None`` for those with state.

        Returns:
            Deployment name → status.
        """
        held = await self._store.astatuses(self.config, self._clock)
        if names is None:
            return held
        return {name: held.get(name, CLOSED_STATUS) for name in names}

    async def areset(self, name: str | None = None) -> None:
        """Async :meth:`reset`.

        Args:
            name: The deployment, or ``None`` for all.
        """
        await self._store.areset(name)

    def __repr__(self) -> str:
        return f"BreakerBoard(config={self.config!r}, store={type(self._store).__name__})"
