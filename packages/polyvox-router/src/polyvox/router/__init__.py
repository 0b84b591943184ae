"""polyvox.router: one LangChain chat model that chooses, falls back and heals across models.

``Router`` is a ``BaseChatModel`` over deployments (any chat models, each with its catalog
entry): it filters them by the request's constraints (data sensitivity, capabilities,
context, tier, cost, budget, language), orders them with a strategy, and tries them in
that order with retries, typed fallbacks and per-deployment circuit breakers. Ready-made
routers are in :mod:`polyvox.router.chains`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.router.attempts import Attempt
    from polyvox.router.breaker import (
        BreakerBoard,
        BreakerConfig,
        BreakerState,
        BreakerStatus,
        BreakerStore,
        MemoryBreakerStore,
    )
    from polyvox.router.config import RouterConfigError
    from polyvox.router.deployment import Deployment
    from polyvox.router.errors import (
        AllDeploymentsFailedError,
        NoDeploymentError,
        RouterContextOverflowError,
        RouterError,
        StreamInterruptedError,
    )
    from polyvox.router.explain import CandidateTrace, RouteDecision
    from polyvox.router.health import HealthChecker, HealthResult
    from polyvox.router.redis_state import RedisBreakerStore
    from polyvox.router.request import RouteRequest, Sensitivity
    from polyvox.router.router import LargeInputHandler, Router
    from polyvox.router.stats import DeploymentStats, RouterStats
    from polyvox.router.strategies import (
        BalancedStrategy,
        CallableStrategy,
        CapabilityMatchStrategy,
        CostOptimizedStrategy,
        LatencyOptimizedStrategy,
        LocalFirstStrategy,
        QualityOptimizedStrategy,
        RoutingStrategy,
        UCBStrategy,
        get_strategy,
        score_table,
        strategy_names,
    )

_STRATEGIES = "polyvox.router.strategies"
_BREAKER = "polyvox.router.breaker"
_ERRORS = "polyvox.router.errors"

_EXPORTS = {
    "AllDeploymentsFailedError": _ERRORS,
    "Attempt": "polyvox.router.attempts",
    "BalancedStrategy": _STRATEGIES,
    "BreakerBoard": _BREAKER,
    "BreakerConfig": _BREAKER,
    "BreakerState": _BREAKER,
    "BreakerStatus": _BREAKER,
    "BreakerStore": _BREAKER,
    "CallableStrategy": _STRATEGIES,
    "CandidateTrace": "polyvox.router.explain",
    "CapabilityMatchStrategy": _STRATEGIES,
    "CostOptimizedStrategy": _STRATEGIES,
    "Deployment": "polyvox.router.deployment",
    "DeploymentStats": "polyvox.router.stats",
    "HealthChecker": "polyvox.router.health",
    "HealthResult": "polyvox.router.health",
    "LargeInputHandler": "polyvox.router.router",
    "LatencyOptimizedStrategy": _STRATEGIES,
    "LocalFirstStrategy": _STRATEGIES,
    "MemoryBreakerStore": _BREAKER,
    "NoDeploymentError": _ERRORS,
    "QualityOptimizedStrategy": _STRATEGIES,
    "RedisBreakerStore": "polyvox.router.redis_state",
    "RouteDecision": "polyvox.router.explain",
    "RouteRequest": "polyvox.router.request",
    "Router": "polyvox.router.router",
    "RouterConfigError": "polyvox.router.config",
    "RouterContextOverflowError": _ERRORS,
    "RouterError": _ERRORS,
    "RouterStats": "polyvox.router.stats",
    "RoutingStrategy": _STRATEGIES,
    "Sensitivity": "polyvox.router.request",
    "StreamInterruptedError": _ERRORS,
    "UCBStrategy": _STRATEGIES,
    "get_strategy": _STRATEGIES,
    "score_table": _STRATEGIES,
    "strategy_names": _STRATEGIES,
}

__all__ = [
    "AllDeploymentsFailedError",
    "Attempt",
    "BalancedStrategy",
    "BreakerBoard",
    "BreakerConfig",
    "BreakerState",
    "BreakerStatus",
    "BreakerStore",
    "CallableStrategy",
    "CandidateTrace",
    "CapabilityMatchStrategy",
    "CostOptimizedStrategy",
    "Deployment",
    "DeploymentStats",
    "HealthChecker",
    "HealthResult",
    "LargeInputHandler",
    "LatencyOptimizedStrategy",
    "LocalFirstStrategy",
    "MemoryBreakerStore",
    "NoDeploymentError",
    "QualityOptimizedStrategy",
    "RedisBreakerStore",
    "RouteDecision",
    "RouteRequest",
    "Router",
    "RouterConfigError",
    "RouterContextOverflowError",
    "RouterError",
    "RouterStats",
    "RoutingStrategy",
    "Sensitivity",
    "StreamInterruptedError",
    "UCBStrategy",
    "get_strategy",
    "score_table",
    "strategy_names",
]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
