"""The built-in ranking strategies: balanced, cost, latency, quality, local first, capability.

Cost and latency are scored relative to the best candidate (see
:mod:`~polyvox.router.strategies.measures`). An unpriced deployment scores 0 on cost
(never read as free); one whose latency is unknown scores 0 in the latency strategy and
:data:`~polyvox.router.strategies.measures.UNKNOWN_LATENCY_SCORE` in the balanced blend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from polyvox.router.strategies.base import Explanation, ScoredStrategy, SortKey
from polyvox.router.strategies.measures import (
    COST_FLOOR_USD,
    LATENCY_FLOOR_S,
    UNKNOWN_LATENCY_SCORE,
    LatencyMetric,
    costs,
    costs_and_latencies,
    latencies,
    relative,
)
from polyvox.router.strategies.profile import profile_of

_INF = float("inf")

if TYPE_CHECKING:
    from polyvox.router.deployment import Deployment
    from polyvox.router.request import RouteRequest
    from polyvox.router.stats import RouterStats

__all__ = [
    "BalancedStrategy",
    "CapabilityMatchStrategy",
    "CostOptimizedStrategy",
    "LatencyOptimizedStrategy",
    "LocalFirstStrategy",
    "QualityOptimizedStrategy",
]


class BalancedStrategy(ScoredStrategy):
    """A weighted blend of relative cost, relative latency and quality (the default).

    ``score = (wc * cost + wl * latency + wq * quality) / (wc + wl + wq)`` where cost
    and latency are scored relative to the best candidate and quality is
    ``Deployment.quality_score``. Deployments within ``tie_tolerance`` of the best score
    share the traffic by weight (smooth weighted round-robin).
    """

    name = "balanced"

    def __init__(
        self,
        cost_weight: float = 1.0,
        latency_weight: float = 1.0,
        quality_weight: float = 1.0,
        *,
        tie_tolerance: float = 0.02,
    ) -> None:
        """Create the strategy.

        Args:
            cost_weight: Weight of the cost score.
            latency_weight: Weight of the latency score.
            quality_weight: Weight of the quality score.
            tie_tolerance: Scores this close to the best count as tied with it.

        Raises:
            ValueError: For a negative weight or tolerance, or weights that are all 0.
        """
        super().__init__()
        weights = (cost_weight, latency_weight, quality_weight)
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"weights must be >= 0 and not all 0, got {weights}")
        if tie_tolerance < 0:
            raise ValueError(f"tie_tolerance must be >= 0, got {tie_tolerance}")
        total = sum(weights)
        self.cost_weight = cost_weight
        """Weight of the cost score."""
        self.latency_weight = latency_weight
        """Weight of the latency score."""
        self.quality_weight = quality_weight
        """Weight of the quality score."""
        self.tie_tolerance = tie_tolerance
        """Scores this close to the best count as tied with it."""
        self._w = (cost_weight / total, latency_weight / total, quality_weight / total)

    def _parts(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> tuple[list[float | None], list[float | None], list[float], list[float], list[float]]:
        cost, latency = costs_and_latencies(candidates, request, stats)
        cost_s = relative(cost, COST_FLOOR_USD, 0.0)
        latency_s = relative(latency, LATENCY_FLOOR_S, UNKNOWN_LATENCY_SCORE)
        quality = [d.quality_score for d in candidates]
        return cost, latency, cost_s, latency_s, quality

    def scores(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[float]:
        """The blended score of each candidate, in [0, 1].

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            One score per candidate.
        """
        return self._blend(candidates, request, stats)[1]

    def _ordered(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> tuple[list[SortKey], list[float]]:
        if type(self).scores is not BalancedStrategy.scores:  # a subclass scores its own way
            return super()._ordered(candidates, request, stats)
        keys, scores = self._blend(candidates, request, stats)
        keys.sort()
        return keys, scores

    def _blend(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> tuple[list[SortKey], list[float]]:
        """The sort keys (unsorted, as :meth:`_keys` makes them) and the scores.

        Ranking runs on every call, so this is :meth:`_parts` (which ``explain`` shows)
        and :meth:`_keys` in two passes, without their intermediate lists.
        """
        tokens_in, tokens_out = request.estimated_input_tokens, request.expected_output_tokens
        measured = stats.latency
        figures: list[tuple[float | None, float | None, float, int]] = []
        best_cost = best_latency = _INF
        for d in candidates:
            profile = profile_of(d)
            cost = profile.cost_usd(tokens_in, tokens_out)
            if cost is not None and cost < best_cost:
                best_cost = cost
            latency = measured(d.name)
            if latency is None:
                latency = profile.latency_s(tokens_out)
            if latency is not None and latency < best_latency:
                best_latency = latency
            figures.append((cost, latency, d.quality_score, d.priority))
        wc, wl, wq = self._w
        best_cost += COST_FLOOR_USD
        best_latency += LATENCY_FLOOR_S
        unknown = wl * UNKNOWN_LATENCY_SCORE
        scores: list[float] = []
        keys: list[SortKey] = []
        for i, (cost, latency, quality, priority) in enumerate(figures):
            score = (
                (wc * 0.0 if cost is None else wc * (best_cost / (cost + COST_FLOOR_USD)))
                + (
                    unknown
                    if latency is None
                    else wl * (best_latency / (latency + LATENCY_FLOOR_S))
                )
                + wq * quality
            )
            scores.append(score)
            keys.append((-score, priority, i))
        return keys, scores

    def explain(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> Explanation:
        """Each candidate's estimated cost and latency, their scores, quality and the blend.

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            Deployment name → figures.
        """
        cost, latency, cost_s, latency_s, quality = self._parts(candidates, request, stats)
        wc, wl, wq = self._w
        return {
            d.name: {
                "score": wc * cost_s[i] + wl * latency_s[i] + wq * quality[i],
                "cost_usd": cost[i],
                "cost_score": cost_s[i],
                "latency_s": latency[i],
                "latency_measured": stats.latency(d.name) is not None,
                "latency_score": latency_s[i],
                "quality": quality[i],
                "weight": d.weight,
            }
            for i, d in enumerate(candidates)
        }

    def _tied(self, head: SortKey, other: SortKey) -> bool:
        # Keys are (-score, priority, position): the priority is settled among the tied.
        return float(other[0]) - float(head[0]) <= self.tie_tolerance

    def __repr__(self) -> str:
        return (
            f"BalancedStrategy(cost_weight={self.cost_weight}, latency_weight="
            f"{self.latency_weight}, quality_weight={self.quality_weight})"
        )


class CostOptimizedStrategy(ScoredStrategy):
    """The cheapest estimated cost for this request first; unpriced deployments last.

    The score is relative to the cheapest candidate (1.0); local models cost 0, so they
    come first; an unpriced deployment scores 0. Equal costs go by priority, then weight.
    """

    name = "cost"

    def scores(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[float]:
        """Cost scores relative to the cheapest candidate (unpriced: 0).

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics (unused).

        Returns:
            One score per candidate.
        """
        return relative(costs(candidates, request), COST_FLOOR_USD, 0.0)

    def explain(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> Explanation:
        """Each candidate's estimated cost in USD and its score.

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            Deployment name → figures.
        """
        cost = costs(candidates, request)
        scores = relative(cost, COST_FLOOR_USD, 0.0)
        return {
            d.name: {"score": scores[i], "cost_usd": cost[i], "priced": cost[i] is not None}
            for i, d in enumerate(candidates)
        }


class LatencyOptimizedStrategy(ScoredStrategy):
    """The fastest first: measured latency (or time to first token), else the catalog's.

    Deployments with neither a measurement nor a catalog figure come last.
    """

    name = "latency"

    def __init__(self, metric: LatencyMetric = "latency") -> None:
        """Create the strategy.

        Args:
            metric: ``latency`` compares whole calls; ``ttft`` compares time to first token
                (what a streaming user feels).

        Raises:
            ValueError: For another metric.
        """
        super().__init__()
        if metric not in ("latency", "ttft"):
            raise ValueError(f"metric must be 'latency' or 'ttft', got {metric!r}")
        self.metric: LatencyMetric = metric
        """What is compared."""

    def scores(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[float]:
        """Latency scores relative to the fastest candidate (unknown: 0).

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            One score per candidate.
        """
        return relative(latencies(candidates, request, stats, self.metric), LATENCY_FLOOR_S, 0.0)

    def explain(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> Explanation:
        """Each candidate's expected latency, whether it was measured, and its score.

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            Deployment name → figures.
        """
        values = latencies(candidates, request, stats, self.metric)
        scores = relative(values, LATENCY_FLOOR_S, 0.0)
        measure = stats.ttft if self.metric == "ttft" else stats.latency
        return {
            d.name: {
                "score": scores[i],
                f"{self.metric}_s": values[i],
                "measured": measure(d.name) is not None,
            }
            for i, d in enumerate(candidates)
        }

    def __repr__(self) -> str:
        return f"LatencyOptimizedStrategy(metric={self.metric!r})"


class QualityOptimizedStrategy(ScoredStrategy):
    """The highest ``Deployment.quality_score`` first, then the stronger catalog tier."""

    name = "quality"

    def scores(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[float]:
        """Each candidate's quality score.

        Args:
            candidates: The deployments.
            request: The request (unused).
            stats: The router's statistics (unused).

        Returns:
            One score per candidate.
        """
        return [d.quality_score for d in candidates]

    def _keys(
        self,
        candidates: Sequence[Deployment],
        scores: list[float],
        request: RouteRequest,
        stats: RouterStats,
    ) -> list[SortKey]:
        return [
            (-s, -profile_of(d).tier_rank, d.priority, i)
            for i, (s, d) in enumerate(zip(scores, candidates, strict=True))
        ]

    def explain(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> Explanation:
        """Each candidate's quality score and tier.

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            Deployment name → figures.
        """
        return {d.name: {"score": d.quality_score, "tier": d.tier.value} for d in candidates}


class LocalFirstStrategy(ScoredStrategy):
    """Local deployments first, then the cloud ones, each group ranked by another strategy.

    Each group is scored among itself (by :class:`BalancedStrategy` unless told), so the
    cloud deployments keep the order they would have with no local one present.
    """

    name = "local_first"

    def __init__(self, then: ScoredStrategy | None = None) -> None:
        """Create the strategy.

        Args:
            then: How to rank within the local and within the cloud group
                (``BalancedStrategy()`` when omitted).
        """
        super().__init__()
        self.then = then if then is not None else BalancedStrategy()
        """The strategy that ranks each group."""

    @staticmethod
    def _groups(candidates: Sequence[Deployment]) -> tuple[list[int], list[int]]:
        local = [i for i, d in enumerate(candidates) if d.local]
        if not local or len(local) == len(candidates):
            return list(range(len(candidates))), []
        taken = set(local)
        return local, [i for i in range(len(candidates)) if i not in taken]

    def scores(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[float]:
        """The inner strategy's scores, each group scored among itself.

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            One score per candidate.
        """
        first, rest = self._groups(candidates)
        if not rest:
            return self.then.scores(candidates, request, stats)
        out = [0.0] * len(candidates)
        for group in (first, rest):
            values = self.then.scores([candidates[i] for i in group], request, stats)
            for i, value in zip(group, values, strict=True):
                out[i] = value
        return out

    def _keys(
        self,
        candidates: Sequence[Deployment],
        scores: list[float],
        request: RouteRequest,
        stats: RouterStats,
    ) -> list[SortKey]:
        inner = self.then._keys(candidates, scores, request, stats)
        return [(not d.local, *k) for d, k in zip(candidates, inner, strict=True)]

    def _tied(self, head: SortKey, other: SortKey) -> bool:
        return head[0] == other[0] and self.then._tied(head[1:], other[1:])

    def explain(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> Explanation:
        """The inner strategy's figures (each group among itself), with locality.

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            Deployment name → figures.
        """
        table: Explanation = {}
        for group in self._groups(candidates):
            if group:
                table.update(self.then.explain([candidates[i] for i in group], request, stats))
        for d in candidates:
            table[d.name]["local"] = d.local
        return table

    def __repr__(self) -> str:
        return f"LocalFirstStrategy(then={self.then!r})"


class CapabilityMatchStrategy(ScoredStrategy):
    """The deployment that fits the request most tightly first.

    The score is ``1 / (1 + extras)``, ``extras`` being the capabilities a deployment
    has that the request does not need (streaming aside); a deployment missing a
    required capability, or whose window is smaller than the request needs, scores 0.
    Equal scores go to the smallest sufficient context window, then the cheapest
    estimated cost (unpriced last).
    """

    name = "capability_match"

    def scores(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[float]:
        """Fit scores in [0, 1].

        Args:
            candidates: The deployments.
            request: The request (its capabilities and context need).
            stats: The router's statistics (unused).

        Returns:
            One score per candidate.
        """
        need, window = request.capabilities, request.min_context
        out = []
        for d in candidates:
            profile = profile_of(d)
            if not need <= profile.entry.capabilities or profile.entry.context_window < window:
                out.append(0.0)
            else:
                out.append(1.0 / (1 + len(profile.extras - need)))
        return out

    def _keys(
        self,
        candidates: Sequence[Deployment],
        scores: list[float],
        request: RouteRequest,
        stats: RouterStats,
    ) -> list[SortKey]:
        cost = costs(candidates, request)
        return [
            (-s, d.context_window, c is None, c or 0.0, d.priority, i)
            for i, (s, d, c) in enumerate(zip(scores, candidates, cost, strict=True))
        ]

    def explain(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> Explanation:
        """Each candidate's missing and extra capabilities, window, cost and score.

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            Deployment name → figures.
        """
        scores = self.scores(candidates, request, stats)
        cost = costs(candidates, request)
        need = request.capabilities
        out: Explanation = {}
        for i, d in enumerate(candidates):
            profile = profile_of(d)
            out[d.name] = {
                "score": scores[i],
                "missing": ",".join(sorted(need - profile.entry.capabilities)),
                "extras": ",".join(sorted(profile.extras - need)),
                "context_window": d.context_window,
                "cost_usd": cost[i],
            }
        return out
