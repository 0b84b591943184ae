"""What the attempt loop asks its drivers to do, and what they report back.

:meth:`AttemptLoop.run <polyvox.router.attempt_loop.AttemptLoop.run>` is a generator: it
yields an *action* (ask a breaker, call a deployment, wait, ...), the driver carries it
out, natively sync or async, and sends back the *reply*; the generator's return value is
the answer. The drivers (:mod:`polyvox.router.invoking`, :mod:`polyvox.router.streaming`)
decide nothing and the loop does no I/O, so the loop is written once for all four ways of
calling the router, and can be tested by feeding it outcomes.

===================  =========================================================
action               reply
===================  =========================================================
:class:`Allow`       whether the deployment's breaker lets the call through
:class:`Call`        how the call went: :class:`Answered`, :class:`Streamed`
                     or :class:`Failed`
:class:`Available`   whether the breaker would let a retry through
:class:`Wait`        ``None``, once the time has passed
:class:`Record`      ``None``, once the breaker has recorded the outcome
:class:`Release`     ``None``, once the breaker has the probe back
:class:`LargeInput`  the large-input handler's answer (an ``AIMessage``)
===================  =========================================================

These are built on every call, so they are plain slotted classes (a frozen dataclass costs
about twice as much to build); nothing changes them after they are made.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_core.messages import AIMessage

if TYPE_CHECKING:
    from polyvox.router.deployment import Deployment
    from polyvox.router.request import RouteRequest

__all__ = [
    "Action",
    "Allow",
    "Answered",
    "Available",
    "Call",
    "Failed",
    "Flow",
    "LargeInput",
    "Outcome",
    "Record",
    "Release",
    "Reply",
    "Streamed",
    "Wait",
]


# ---- actions ------------------------------------------------------------------------------


@dataclass(slots=True)
class Allow:
    """Ask the deployment's circuit breaker for a call (it may grant a half-open probe)."""

    name: str
    """The deployment."""


@dataclass(slots=True)
class Call:
    """Call the deployment's model (invoke or stream, as the driver does) and report how."""

    deployment: Deployment
    """The deployment to call."""

    deadline: float | None = None
    """When the router's ``timeout`` runs out (``time.monotonic()``; ``None``: never)."""

    restarted: bool = False
    """Whether this stream restarts one that broke (its chunks are marked
    ``router_restart``)."""

    def remaining(self) -> float | None:
        """Seconds left before :attr:`deadline` (``None``: no deadline)."""
        if self.deadline is None:
            return None
        return max(self.deadline - time.monotonic(), 0.0)


@dataclass(slots=True)
class Available:
    """Ask whether the breaker would let a retry through, without taking a probe."""

    name: str
    """The deployment."""


@dataclass(slots=True)
class Wait:
    """Wait before retrying the same deployment."""

    seconds: float
    """How long."""


@dataclass(slots=True)
class Record:
    """Record a call's outcome on the deployment's breaker."""

    name: str
    """The deployment."""

    failure: bool
    """True: a failure (it may open the breaker); False: a success (it closes it)."""


@dataclass(slots=True)
class Release:
    """Give back the probe :class:`Allow` granted, for a call that ended with no outcome."""

    name: str
    """The deployment."""


@dataclass(slots=True)
class LargeInput:
    """Hand the prompt to the router's large-input handler (it fits no window)."""

    request: RouteRequest
    """The request."""


Action = Allow | Call | Available | Wait | Record | Release | LargeInput
"""Everything the attempt loop may ask of its driver."""


# ---- outcomes of a Call ---------------------------------------------------------------------


@dataclass(slots=True)
class Answered:
    """The call returned an answer (a stream: it ended with nothing passed to the caller)."""

    message: AIMessage
    """The answer (a stream's held chunks merged)."""

    latency: float
    """Seconds the call took."""

    ttft: float | None = None
    """Seconds to the first chunk, for streams."""


@dataclass(slots=True)
class Streamed:
    """A stream passed its chunks to the caller and ended."""

    latency: float
    """Seconds since the call started."""


@dataclass(slots=True)
class Failed:
    """The call raised, was cancelled, or the caller stopped reading its stream."""

    error: BaseException
    """What was raised (``GeneratorExit`` or ``CancelledError`` included)."""

    latency: float
    """Seconds since the call started."""

    cut: bool = False
    """The router's own ``timeout`` cut the call (not the deployment's)."""

    delivered: int = 0
    """Chunks of the stream already passed to the caller."""

    tools: bool = False
    """Whether a delivered chunk carried part of a tool call."""

    complete: bool = False
    """The stream had delivered its last chunk: the answer is whole."""


Outcome = Answered | Streamed | Failed
"""How a :class:`Call` went."""

Reply = Outcome | bool | None | AIMessage
"""What a driver sends back for an action (see the table above)."""

Flow = Generator[Action, Reply, AIMessage | None]
"""The attempt loop as a generator: it yields actions, is sent their replies, and returns the
answer (``None`` when a stream already passed its answer to the caller)."""
