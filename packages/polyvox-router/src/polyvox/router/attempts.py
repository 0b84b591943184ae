"""What the router records of each attempt: :class:`Attempt`, and the outcomes it names.

Every call to a deployment (and every deployment skipped or put back on the way) becomes
one :class:`Attempt`, in order. The list is in ``response_metadata["router"]["attempts"]``
of the answer and in :attr:`~polyvox.router.errors.RouterError.attempts` of an error. The
decisions behind them are made by :class:`~polyvox.router.attempt_loop.AttemptLoop`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["BLOCKED", "BREAKER_OPEN", "HELD_BACK", "INTERRUPTED", "OK", "Attempt"]

OK = "ok"
"""The outcome of a call that answered."""

BLOCKED = "blocked"
"""The outcome of an answer the provider's content filter blocked."""

BREAKER_OPEN = "breaker_open"
"""The outcome of a deployment skipped because its circuit breaker refused the call."""

HELD_BACK = "held_back"
"""The outcome of a deployment put behind the other candidates because its last call failed
and :attr:`~polyvox.router.Router.probation_max_in_flight` calls are already in flight to it
(see :mod:`polyvox.router.admission`)."""

INTERRUPTED = "interrupted"
"""The outcome of a stream that broke after chunks had reached the caller."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One call to one deployment (or one skipped because its breaker was open)."""

    deployment: str
    """The deployment's name."""

    outcome: str
    """``ok``, ``blocked``, ``breaker_open``, ``content_filter``, ``interrupted``,
    ``programming_error`` or an
    :class:`~polyvox.core.errors.ErrorKind` value (``rate_limit``, ``api``, ...)."""

    error: str | None = None
    """The failure, briefly (type and message)."""

    latency_s: float = 0.0
    """Seconds the call took."""

    retry_after: float | None = None
    """Seconds the provider asked to wait, when it said."""

    def as_dict(self) -> dict[str, Any]:
        """The attempt as it appears in ``response_metadata["router"]["attempts"]``."""
        return {
            "deployment": self.deployment,
            "outcome": self.outcome,
            "error": self.error,
            "latency_s": self.latency_s,
            "retry_after": self.retry_after,
        }
