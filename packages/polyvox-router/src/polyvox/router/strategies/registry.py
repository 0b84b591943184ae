"""Strategies by name, for ``Router(strategy="cost")``, configuration files and the environment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polyvox.router.strategies.bandit import UCBStrategy
from polyvox.router.strategies.base import CallableStrategy, RoutingStrategy, StrategyFunction
from polyvox.router.strategies.builtin import (
    BalancedStrategy,
    CapabilityMatchStrategy,
    CostOptimizedStrategy,
    LatencyOptimizedStrategy,
    LocalFirstStrategy,
    QualityOptimizedStrategy,
)

__all__ = ["STRATEGIES", "get_strategy", "strategy_names"]

STRATEGIES: dict[str, Callable[..., RoutingStrategy]] = {
    "balanced": BalancedStrategy,
    "cost": CostOptimizedStrategy,
    "cost_optimized": CostOptimizedStrategy,
    "latency": LatencyOptimizedStrategy,
    "latency_optimized": LatencyOptimizedStrategy,
    "quality": QualityOptimizedStrategy,
    "quality_optimized": QualityOptimizedStrategy,
    "local_first": LocalFirstStrategy,
    "capability": CapabilityMatchStrategy,
    "capability_match": CapabilityMatchStrategy,
    "ucb": UCBStrategy,
    "bandit": UCBStrategy,
}
"""Strategy name → the class that builds it (spellings with ``-`` or ``optimised`` work too)."""


def strategy_names() -> list[str]:
    """The names :func:`get_strategy` accepts."""
    return list(STRATEGIES)


def get_strategy(spec: str | RoutingStrategy | StrategyFunction, **options: Any) -> RoutingStrategy:
    """A strategy from a name, a strategy object or a function.

    Args:
        spec: A name (``"balanced"``, ``"cost"``, ``"ucb"``, ... case-insensitive), a
            strategy (returned as is), or a function ``fn(candidates, request, stats)``
            returning the candidates ranked (wrapped in :class:`CallableStrategy`).
        **options: Arguments for a named strategy's constructor
            (``get_strategy("ucb", exploration=1.0)``).

    Returns:
        The strategy (a new instance for a name: bandits and round-robins keep state).

    Raises:
        ValueError: For an unknown name (listing the known ones), or options given with
            a strategy object or function.
        TypeError: For anything else, or options the strategy does not take.
    """
    if isinstance(spec, str):
        key = spec.strip().lower().replace("-", "_").replace(" ", "_")
        key = key.replace("optimised", "optimized")
        factory = STRATEGIES.get(key)
        if factory is None:
            known = ", ".join(STRATEGIES)
            raise ValueError(f"unknown routing strategy {spec!r}; use one of: {known}")
        return factory(**options)
    if options:
        raise ValueError("options apply only to a strategy given by name")
    if isinstance(spec, RoutingStrategy):
        return spec
    if callable(spec):
        return CallableStrategy(spec)
    raise TypeError(
        "a routing strategy must be a name, an object with name and rank(), or a function "
        f"fn(candidates, request, stats); got {type(spec).__name__}"
    )
