"""The circuit-breaker vocabulary: states, settings, snapshots, and the store interface.

:mod:`polyvox.router.breaker` holds the board and the in-memory store built on these;
import them from there.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

__all__ = [
    "CLOSED_STATUS",
    "BreakerConfig",
    "BreakerState",
    "BreakerStatus",
    "BreakerStore",
    "Clock",
]

Clock = Callable[[], float]
"""A function returning the current time in seconds."""


class BreakerState(StrEnum):
    """Where a circuit breaker stands."""

    CLOSED = "closed"
    """Calls go through; failures are counted."""

    OPEN = "open"
    """Calls are refused until the reset timeout has passed."""

    HALF_OPEN = "half_open"
    """A limited number of probe calls are let through to test recovery."""


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """When breakers open and how they recover (the same for every deployment of a board)."""

    failure_threshold: int = 5
    """Failures within :attr:`window_s` that open the breaker."""

    window_s: float = 60.0
    """Length of the sliding window failures are counted in, in seconds."""

    reset_timeout_s: float = 30.0
    """Seconds an open breaker refuses calls before it lets a probe through."""

    half_open_max_calls: int = 1
    """Probe calls granted at the same time while half-open."""

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {self.failure_threshold}")
        if self.window_s <= 0:
            raise ValueError(f"window_s must be > 0, got {self.window_s}")
        if self.reset_timeout_s < 0:
            raise ValueError(f"reset_timeout_s must be >= 0, got {self.reset_timeout_s}")
        if self.half_open_max_calls < 1:
            raise ValueError(f"half_open_max_calls must be >= 1, got {self.half_open_max_calls}")


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    """A snapshot of one breaker, for ``explain()``, dashboards and tests."""

    state: BreakerState
    """The stored state (an open breaker past its timeout stays ``OPEN`` until asked)."""

    failures: int
    """Failures inside the window (capped at the threshold: older ones are not kept)."""

    opened_at: float | None = None
    """When the breaker last opened, on the board's clock; ``None`` while closed."""

    retry_in_s: float | None = None
    """For an open breaker, seconds until a probe is granted (0: the next call probes)."""

    probes_in_flight: int = 0
    """Probe calls granted and not yet reported (half-open only)."""


CLOSED_STATUS = BreakerStatus(BreakerState.CLOSED, 0)
"""The status of a breaker nothing has been recorded for."""


class BreakerStore(ABC):
    """Where breaker state lives; :class:`BreakerBoard` drives it.

    Every method receives the board's config and clock, so a store holds state only. The
    transitions must be atomic per breaker: concurrent callers (threads, tasks, processes
    for a shared store) see each transition once.
    """

    default_clock: Clock = time.monotonic
    """The clock a board uses with this store when none is given."""

    batch_reads: ClassVar[bool] = False
    """Whether reading state costs a round trip, so callers should ask about every breaker
    at once with :meth:`available_many` rather than one at a time."""

    @abstractmethod
    def allow(self, name: str, config: BreakerConfig, clock: Clock) -> bool:
        """Whether a call may go to ``name`` now (granting a probe when one is due)."""

    @abstractmethod
    def available(self, name: str, config: BreakerConfig, clock: Clock) -> bool:
        """Whether :meth:`allow` would answer ``True``, without granting anything."""

    def available_many(
        self, names: Sequence[str], config: BreakerConfig, clock: Clock
    ) -> list[bool]:
        """:meth:`available` for each name (a shared store answers in one round trip).

        Returns:
            One answer per name, in order.
        """
        return [self.available(name, config, clock) for name in names]

    def release(self, name: str, config: BreakerConfig, clock: Clock) -> None:  # noqa: B027
        """Give back the probe :meth:`allow` granted to a call that was not made.

        A budget refused the call: a half-open breaker then grants the probe to the next
        call at once, instead of after ``reset_timeout_s``. Stores without probes need not
        override it (the default does nothing).
        """

    async def arelease(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Async :meth:`release`."""
        self.release(name, config, clock)

    @abstractmethod
    def record_success(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Record a successful call (closes a half-open breaker)."""

    @abstractmethod
    def record_failure(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Record a failed call (may open the breaker)."""

    @abstractmethod
    def status(self, name: str, config: BreakerConfig, clock: Clock) -> BreakerStatus:
        """The status of one breaker."""

    @abstractmethod
    def statuses(self, config: BreakerConfig, clock: Clock) -> dict[str, BreakerStatus]:
        """The status of every breaker the store holds state for."""

    @abstractmethod
    def reset(self, name: str | None = None) -> None:
        """Forget one breaker's state, or every breaker's (``None``)."""

    @abstractmethod
    async def aallow(self, name: str, config: BreakerConfig, clock: Clock) -> bool:
        """Async :meth:`allow`."""

    @abstractmethod
    async def aavailable(self, name: str, config: BreakerConfig, clock: Clock) -> bool:
        """Async :meth:`available`."""

    async def aavailable_many(
        self, names: Sequence[str], config: BreakerConfig, clock: Clock
    ) -> list[bool]:
        """Async :meth:`available_many`.

        Returns:
            One answer per name, in order.
        """
        return [await self.aavailable(name, config, clock) for name in names]

    @abstractmethod
    async def arecord_success(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Async :meth:`record_success`."""

    @abstractmethod
    async def arecord_failure(self, name: str, config: BreakerConfig, clock: Clock) -> None:
        """Async :meth:`record_failure`."""

    @abstractmethod
    async def astatus(self, name: str, config: BreakerConfig, clock: Clock) -> BreakerStatus:
        """Async :meth:`status`."""

    @abstractmethod
    async def astatuses(self, config: BreakerConfig, clock: Clock) -> dict[str, BreakerStatus]:
        """Async :meth:`statuses`."""

    @abstractmethod
    async def areset(self, name: str | None = None) -> None:
        """Async :meth:`reset`."""
