"""What one call's routing reads of its router, as plain data: :class:`Routing`.

The planning functions, the attempt loop and its drivers, and ``explain()`` take a
:class:`Routing` rather than the :class:`~polyvox.router.Router` itself: its settings, the
index built from its deployments, and the objects shared between calls (statistics,
breakers, strategy, budget). The router builds one when it is first called and again
after any of its fields is assigned, so a call never sees half of a change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable

    from polyvox.costs.catalog import Tier
    from polyvox.costs.ledger.budgets import BudgetGuard
    from polyvox.router.breaker import BreakerBoard
    from polyvox.router.constraints import CallSpec
    from polyvox.router.deployment import Deployment
    from polyvox.router.facts import Facts
    from polyvox.router.large_input import LargeInputHandler
    from polyvox.router.request import Sensitivity
    from polyvox.router.stats import RouterStats
    from polyvox.router.strategies import RoutingStrategy

__all__ = ["Routing"]


@dataclass(frozen=True, slots=True)
class Routing:
    """A router's settings, index and shared state, as one call's routing reads them."""

    deployments: Sequence[Deployment]
    """The deployments, in the order that breaks ties."""

    by_name: Mapping[str, Deployment]
    """The deployments by name."""

    facts: Mapping[str, Facts]
    """What the filters know of each deployment, by name."""

    target: Callable[[Deployment, CallSpec], Runnable[Any, Any]]
    """The runnable to call for a deployment: its model, bound with the call's tools or
    structured output (:meth:`~polyvox.router.bindings.Bindings.target`)."""

    strategy: RoutingStrategy
    """How candidates are ranked."""

    stats: RouterStats
    """The statistics (shared by every call)."""

    breakers: BreakerBoard
    """The circuit breakers (shared by every call)."""

    budget: BudgetGuard | None
    """Budgets deployments are filtered by (``None``: none)."""

    fallbacks: bool
    """Try the next ranked candidate after a failure."""

    max_attempts: int | None
    """Most deployments called per request (``None``: every candidate once)."""

    max_retries: int
    """Retries on the same deployment for a retryable failure."""

    max_retry_wait_s: float
    """Longest wait before a retry."""

    timeout: float | None
    """Seconds for the whole call (``None``: no limit)."""

    probation_max_in_flight: int | None
    """Calls in flight a deployment on probation may have (``None``: no limit)."""

    mid_stream_fallback: bool
    """Restart a stream that broke after its first chunk on the next deployment."""

    context_overflow_fallback: Sequence[str] | None
    """Deployments to use after a context overflow (``None``: larger windows)."""

    content_policy_fallback: Sequence[str] | None
    """Deployments to use after a content-policy block (``None``: see the router)."""

    default_sensitivity: Sensitivity
    """The sensitivity of requests that state none."""

    default_tier: Tier | None
    """The tier required of requests that state none."""

    language_routes: Mapping[str, str]
    """Language → deployment tried first for it."""

    detect_language: bool
    """Detect the prompt's language when a request names none."""

    prefer_local: bool
    """Try local deployments before cloud ones."""

    max_latency_ms: float | None
    """Drop deployments whose measured (or typical) latency exceeds this."""

    temperature: float | None
    """``temperature`` passed when a call sets none."""

    max_tokens: int | None
    """``max_tokens`` passed when a call sets none."""

    stop: list[str] | None
    """Stop sequences used when a call gives none."""

    large_input_handler: LargeInputHandler | None
    """What answers a prompt larger than every window (``None``: an error)."""

    large_input_handler_local: bool
    """Whether the large-input handler only calls local models."""

    specialists: frozenset[str] = frozenset()
    """The deployments made for one language (:mod:`polyvox.router.languages`), by name;
    with none, the order needs no language check."""
