"""What one request asks of the router: its constraints, read before any model is chosen.

:class:`RouteRequest` is built once per call (from invoke kwargs, the run's config metadata
and the prompt) and handed to the filters and the strategy; strategies only read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from polyvox.costs.catalog import Capability, Tier


class Sensitivity(StrEnum):
    """How sensitive a request's data is; the top two levels never leave local models."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"

    @property
    def local_only(self) -> bool:
        """Whether data of this level may only go to local deployments."""
        return self in (Sensitivity.CONFIDENTIAL, Sensitivity.RESTRICTED)

    @classmethod
    def parse(cls, value: str | Sensitivity) -> Sensitivity:
        """Read a level by name, case-insensitively.

        Raises:
            ValueError: The name is not a level; the message lists the levels.
        """
        if isinstance(value, Sensitivity):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            levels = ", ".join(level.value for level in cls)
            raise ValueError(f"unknown data sensitivity {value!r}; use one of: {levels}") from None


@dataclass(frozen=True)
class RouteRequest:
    """The constraints and facts of one request, as the router's filters and strategy see them."""

    estimated_input_tokens: int = 0
    """A high estimate of the prompt's tokens."""

    expected_output_tokens: int = 0
    """The output tokens the call may produce (its ``max_tokens``, or a default)."""

    tier: Tier | None = None
    """Required tier; ``None`` accepts any."""

    sensitivity: Sensitivity = Sensitivity.PUBLIC
    """Data sensitivity; :attr:`Sensitivity.local_only` levels go only to local deployments."""

    capabilities: frozenset[Capability] = field(default_factory=frozenset)
    """Capabilities every candidate must have (tools when tools are bound, ...)."""

    max_cost: Decimal | None = None
    """The most this call may cost, in USD (estimated before the call)."""

    remaining_budget: Decimal | None = None
    """What is left of the workspace's or agent's budget, in USD, when a budget applies."""

    language: str | None = None
    """The prompt's language (ISO 639-1), when detected or given."""

    agent: str | None = None
    """The agent the call is attributed to (statistics per agent)."""

    workspace: str | None = None
    """The workspace the call is attributed to (budgets)."""

    deployment: str | None = None
    """A deployment the caller pinned by name; ``None`` lets the router choose."""

    @property
    def min_context(self) -> int:
        """The context window a candidate needs: prompt plus expected output."""
        return self.estimated_input_tokens + self.expected_output_tokens
