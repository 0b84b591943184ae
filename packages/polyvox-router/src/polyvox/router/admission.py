"""Which deployment on probation gets a call now, and the in-flight slot it takes.

A breaker counts failures only as they come back, so under a burst every call that passed
it before would be sent to a deployment that has started failing. :class:`Admission` (one
per call) gives a deployment whose last call failed as an unhealthy one at most
``probation_max_in_flight`` calls in flight at a time, like a half-open breaker, until its
next success. Over the limit, while another candidate remains, it goes to the back of the
call's queue once and is tried after the others; when its turn comes again, a candidate
left that is less risky (not failing, or with fewer calls in flight) goes first. The last
candidate is always tried, so nothing is dropped.

An admitted call on probation takes its in-flight slot in the same step as the check
(:meth:`~polyvox.router.stats.RouterStats.start_within`), so concurrent calls cannot all
pass the check before any is counted, even when the breaker check that follows awaits a
round trip to Redis.
"""

from __future__ import annotations

import enum
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polyvox.router.deployment import Deployment
    from polyvox.router.stats import RouterStats

__all__ = ["Admission", "HeldBack"]


class HeldBack(enum.Enum):
    """Why :meth:`Admission.admit` put a deployment back in the queue."""

    FIRST_TIME = "first_time"
    """Over its limit: behind the other candidates (to be noted as a ``held_back`` attempt)."""
    AGAIN = "again"
    """Its second turn, but a less risky candidate is left: behind it once more."""


class Admission:
    """One call's admission of deployments on probation, and the slot it reserved."""

    __slots__ = ("_deferred", "_limit", "_max_requeues", "_requeues", "_reserved", "_stats")

    def __init__(self, stats: RouterStats, limit: int | None, candidates: int) -> None:
        """Start a call's admission.

        Args:
            stats: The router's statistics (failure streaks and calls in flight).
            limit: ``Router.probation_max_in_flight`` (``None``: no limit).
            candidates: How many deployments the call may try (bounds the requeues).
        """
        self._stats = stats
        self._limit = limit
        self._deferred: set[str] = set()
        self._reserved: str | None = None
        self._requeues = 0
        self._max_requeues = 2 * candidates

    def admit(self, deployment: Deployment, queue: deque[Deployment]) -> HeldBack | None:
        """Admit ``deployment`` now (``None``), or put it back at the end of ``queue``.

        Args:
            deployment: The candidate.
            queue: The call's remaining candidates.

        Returns:
            ``None`` when it may be called, else why it went back in the queue.
        """
        stats, name, limit = self._stats, deployment.name, self._limit
        if limit is None or not stats.failing(name):
            return None
        if name in self._deferred and self._requeues < self._max_requeues:

            def risk(candidate: str) -> tuple[bool, int]:
                return stats.failing(candidate) > 0, stats.in_flight(candidate)

            mine = risk(name)
            if any(risk(other.name) < mine for other in queue):
                self._requeues += 1
                queue.append(deployment)
                return HeldBack.AGAIN
        if name in self._deferred or not queue:
            stats.started(name)  # its turn has come: admitted whatever is in flight
            self._reserved = name
            return None
        if not stats.start_within(name, limit):
            self._deferred.add(name)
            queue.append(deployment)
            return HeldBack.FIRST_TIME
        self._reserved = name
        return None

    def start(self, name: str) -> None:
        """Count a call to ``name`` as in flight (once, if :meth:`admit` already did)."""
        if self._reserved == name:
            self._reserved = None
            return
        self._stats.started(name)

    def unreserve(self, name: str) -> None:
        """Give back the slot :meth:`admit` took, when the call is not made after all."""
        if self._reserved == name:
            self._reserved = None
            self._stats.ended(name)
