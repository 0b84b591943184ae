"""Routing strategies: how the router orders the deployments that may serve a request.

Built in: :class:`BalancedStrategy` (the default), :class:`CostOptimizedStrategy`,
:class:`LatencyOptimizedStrategy`, :class:`QualityOptimizedStrategy`,
:class:`LocalFirstStrategy`, :class:`CapabilityMatchStrategy` and the
:class:`UCBStrategy` bandit; :class:`CallableStrategy` wraps a function of your own, and
:func:`get_strategy` builds any of them from a name. Every strategy returns a
permutation of its candidates, best first, and needs no network: it reads the catalog
entry of each deployment and what :class:`~polyvox.router.stats.RouterStats` measured.
"""

from polyvox.router.strategies.bandit import UCBStrategy
from polyvox.router.strategies.base import (
    CallableStrategy,
    Explanation,
    RoutingStrategy,
    ScoredStrategy,
    StrategyFunction,
    check_permutation,
    score_table,
)
from polyvox.router.strategies.builtin import (
    BalancedStrategy,
    CapabilityMatchStrategy,
    CostOptimizedStrategy,
    LatencyOptimizedStrategy,
    LocalFirstStrategy,
    QualityOptimizedStrategy,
)
from polyvox.router.strategies.measures import (
    COST_FLOOR_USD,
    LATENCY_FLOOR_S,
    UNKNOWN_LATENCY_SCORE,
    LatencyMetric,
)
from polyvox.router.strategies.profile import (
    DeploymentProfile,
    clear_profiles,
    estimate_cost_usd,
    estimate_latency_s,
    profile_of,
)
from polyvox.router.strategies.registry import STRATEGIES, get_strategy, strategy_names

__all__ = [
    "COST_FLOOR_USD",
    "LATENCY_FLOOR_S",
    "STRATEGIES",
    "UNKNOWN_LATENCY_SCORE",
    "BalancedStrategy",
    "CallableStrategy",
    "CapabilityMatchStrategy",
    "CostOptimizedStrategy",
    "DeploymentProfile",
    "Explanation",
    "LatencyMetric",
    "LatencyOptimizedStrategy",
    "LocalFirstStrategy",
    "QualityOptimizedStrategy",
    "RoutingStrategy",
    "ScoredStrategy",
    "StrategyFunction",
    "UCBStrategy",
    "check_permutation",
    "clear_profiles",
    "estimate_cost_usd",
    "estimate_latency_s",
    "get_strategy",
    "profile_of",
    "score_table",
    "strategy_names",
]
