"""The errors a Recursive Language Model run raises.

Every error is an :class:`RLMError`. A run that reaches one of its limits raises a subclass
of :class:`RLMLimitError`, which carries what was done so far: the best partial answer, the
trajectory and the usage, so a caller can still show or save them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polyvox.rlm.accounting import UsageReport
    from polyvox.rlm.trajectory import Trajectory

__all__ = [
    "CostLimitError",
    "IterationLimitError",
    "LiveSandboxLimitError",
    "RLMError",
    "RLMLimitError",
    "TimeLimitError",
    "TokenLimitError",
]


class RLMError(Exception):
    """A Recursive Language Model run failed."""


class LiveSandboxLimitError(RLMError):
    """A child RLM was not started: the run already has ``max_live_sandboxes`` REPLs running.

    It does not stop the run: the code that called ``rlm_query`` gets it as an exception (a
    ``SubcallError`` with this message) and can carry on, for example with ``llm_query``.
    """


class RLMLimitError(RLMError):
    """A run reached one of its limits before its code produced a final answer.

    The partial answer is the best available: the value of the REPL variable ``answer`` if
    the code set one, else the last sub-call's response, else ``""``.
    """

    limit_name: str = "limit"
    """Which limit this is (``max_iterations``, ``max_time_s``, ``max_tokens``,
    ``max_cost_usd``)."""

    def __init__(
        self,
        message: str,
        *,
        limit: float | Decimal | None = None,
        used: float | Decimal | None = None,
        partial_answer: str = "",
        trajectory: Trajectory | None = None,
        usage: UsageReport | None = None,
    ) -> None:
        """Create the error.

        Args:
            message: What happened.
            limit: The configured limit.
            used: How much was used when the run stopped.
            partial_answer: The best answer available when the run stopped.
            trajectory: The run's trajectory so far.
            usage: The run's usage so far (the whole call tree).
        """
        super().__init__(message)
        self.limit = limit
        """The configured limit."""
        self.used = used
        """How much was used when the run stopped."""
        self.partial_answer = partial_answer
        """The best answer available when the run stopped."""
        self.trajectory = trajectory
        """The trajectory so far (set by the run before the error leaves it)."""
        self.usage = usage
        """The usage of the whole call tree so far."""


class IterationLimitError(RLMLimitError):
    """The root model used all its iterations without a final answer from code."""

    limit_name = "max_iterations"


class TimeLimitError(RLMLimitError):
    """The run took longer than ``max_time_s``."""

    limit_name = "max_time_s"


class TokenLimitError(RLMLimitError):
    """The call tree used more than ``max_tokens`` (input plus output, every call)."""

    limit_name = "max_tokens"


class CostLimitError(RLMLimitError):
    """The call tree cost more than ``max_cost_usd`` (priced calls only)."""

    limit_name = "max_cost_usd"
