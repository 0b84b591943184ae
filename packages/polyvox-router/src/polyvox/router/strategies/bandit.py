"""A UCB1 bandit: learn which deployment serves best from what the router recorded.

Each deployment is an arm. Its mean reward, in [0, 1], blends its success rate, its
latency relative to the fastest candidate and its cost relative to the cheapest (as in
:mod:`~polyvox.router.strategies.measures`), all read from
:class:`~polyvox.router.stats.RouterStats`: the measured latency average and the mean
recorded cost per call, falling back to the catalog before anything was recorded.
The UCB1 index adds an exploration bonus that shrinks as an arm is tried::

    index = reward + exploration * sqrt(ln(N) / n)

where ``n`` is the arm's calls (those under way included, so concurrent requests spread)
and ``N`` all the candidates' calls. Deployments with
fewer than ``min_trials`` calls come first, fewest calls first (round-robin), so every
arm is measured before the bandit starts to exploit.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from polyvox.router.strategies.base import Explanation, ScoredStrategy, SortKey
from polyvox.router.strategies.measures import (
    COST_FLOOR_USD,
    LATENCY_FLOOR_S,
    UNKNOWN_LATENCY_SCORE,
    relative,
)
from polyvox.router.strategies.profile import profile_of

if TYPE_CHECKING:
    from polyvox.router.deployment import Deployment
    from polyvox.router.request import RouteRequest
    from polyvox.router.stats import RouterStats

__all__ = ["UCBStrategy"]

_INF = math.inf


class UCBStrategy(ScoredStrategy):
    """UCB1 over the candidates, rewarding success, speed and low cost.

    The scores are the UCB indexes (``inf`` for a deployment still under ``min_trials``).
    Rank it once per call and record every outcome in the router's
    :class:`~polyvox.router.stats.RouterStats`: that is what it learns from.

    Example:
        .. code-block:: python

            router = Router(deployments=[...], strategy=UCBStrategy(exploration=1.0))
    """

    name = "ucb"

    def __init__(
        self,
        exploration: float = 1.4,
        min_trials: int = 3,
        *,
        success_weight: float = 0.5,
        latency_weight: float = 0.3,
        cost_weight: float = 0.2,
        seed: int | None = None,
    ) -> None:
        """Create the strategy.

        Args:
            exploration: The exploration factor ``c`` of the bonus (0: pure exploitation;
                ``sqrt(2)`` is classic UCB1).
            min_trials: Calls each deployment gets before its index counts.
            success_weight: Weight of the success rate in the reward.
            latency_weight: Weight of the relative latency score.
            cost_weight: Weight of the relative cost score.
            seed: Breaks ties between equally placed deployments (the order in which
                untried ones are tried) by a fixed pseudo-random order per seed;
                ``None`` breaks them by candidate order.

        Raises:
            ValueError: For a negative exploration, ``min_trials`` or weight, or weights
                that are all 0.
        """
        super().__init__()
        weights = (success_weight, latency_weight, cost_weight)
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"reward weights must be >= 0 and not all 0, got {weights}")
        if exploration < 0:
            raise ValueError(f"exploration must be >= 0, got {exploration}")
        if min_trials < 0:
            raise ValueError(f"min_trials must be >= 0, got {min_trials}")
        total = sum(weights)
        self.exploration = exploration
        """The exploration factor."""
        self.min_trials = min_trials
        """Calls each deployment gets before its index counts."""
        self.success_weight = success_weight
        """Weight of the success rate."""
        self.latency_weight = latency_weight
        """Weight of the latency score."""
        self.cost_weight = cost_weight
        """Weight of the cost score."""
        self.seed = seed
        """The tie-breaking seed (``None``: candidate order)."""
        self._w = (success_weight / total, latency_weight / total, cost_weight / total)
        self._jitter: dict[str, float] = {}

    def rewards(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[float]:
        """Each candidate's mean reward in [0, 1], from what ``stats`` recorded.

        Args:
            candidates: The deployments.
            request: The request (for the catalog's estimates).
            stats: The router's statistics.

        Returns:
            One reward per candidate (a deployment never called counts as successful).
        """
        return self._parts(candidates, request, stats)[0]

    def _parts(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> tuple[list[float], list[float | None], list[float | None], list[float], list[int]]:
        tokens_in, tokens_out = request.estimated_input_tokens, request.expected_output_tokens
        cost: list[float | None] = []
        latency: list[float | None] = []
        success: list[float] = []
        calls: list[int] = []
        for d in candidates:
            name = d.name
            profile = profile_of(d)
            calls.append(stats.pulls(name))  # calls under way count: no herding
            rate = stats.success_rate(name)
            success.append(1.0 if rate is None else rate)
            spent = stats.mean_cost(name)
            cost.append(profile.cost_usd(tokens_in, tokens_out) if spent is None else spent)
            took = stats.latency(name)
            latency.append(profile.latency_s(tokens_out) if took is None else took)
        latency_s = relative(latency, LATENCY_FLOOR_S, UNKNOWN_LATENCY_SCORE)
        cost_s = relative(cost, COST_FLOOR_USD, 0.0)
        ws, wl, wc = self._w
        reward = [
            ws * s + wl * t + wc * c for s, t, c in zip(success, latency_s, cost_s, strict=True)
        ]
        return reward, latency, cost, success, calls

    def _indexes(self, reward: list[float], calls: list[int]) -> tuple[list[float], list[float]]:
        total = sum(calls)
        log_total = math.log(total) if total > 1 else 0.0
        c, least = self.exploration, self.min_trials
        scores: list[float] = []
        bonus: list[float] = []
        for r, n in zip(reward, calls, strict=True):
            if n < least or n == 0:
                scores.append(_INF)
                bonus.append(_INF)
            else:
                b = c * math.sqrt(log_total / n)
                scores.append(r + b)
                bonus.append(b)
        return scores, bonus

    def scores(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[float]:
        """The UCB index of each candidate (``inf`` below ``min_trials`` calls).

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            One index per candidate.
        """
        reward, *_, calls = self._parts(candidates, request, stats)
        return self._indexes(reward, calls)[0]

    def _keys(
        self,
        candidates: Sequence[Deployment],
        scores: list[float],
        request: RouteRequest,
        stats: RouterStats,
    ) -> list[SortKey]:
        calls = stats.pulls
        if self.seed is None:
            return [
                (-s, calls(d.name), d.priority, i)
                for i, (s, d) in enumerate(zip(scores, candidates, strict=True))
            ]
        return [
            (-s, calls(d.name), self._tiebreak(d.name), d.priority, i)
            for i, (s, d) in enumerate(zip(scores, candidates, strict=True))
        ]

    def _tied(self, head: SortKey, other: SortKey) -> bool:
        return False  # the index decides; equal ones go by calls and the seeded order

    def _tiebreak(self, name: str) -> float:
        value = self._jitter.get(name)
        if value is None:
            # The same value for a name and seed in every process and call.
            value = self._jitter[name] = random.Random(f"{self.seed}:{name}").random()
        return value

    def explain(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> Explanation:
        """Each candidate's calls, success rate, latency, cost, reward, bonus and index.

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            Deployment name → figures (index and bonus are ``inf`` while exploring).
        """
        reward, latency, cost, success, calls = self._parts(candidates, request, stats)
        scores, bonus = self._indexes(reward, calls)
        return {
            d.name: {
                "score": scores[i],
                "reward": reward[i],
                "bonus": bonus[i],
                "calls": calls[i],
                "exploring": calls[i] < self.min_trials or calls[i] == 0,
                "success_rate": success[i],
                "latency_s": latency[i],
                "cost_usd": cost[i],
            }
            for i, d in enumerate(candidates)
        }

    def __repr__(self) -> str:
        return (
            f"UCBStrategy(exploration={self.exploration}, min_trials={self.min_trials}, "
            f"seed={self.seed})"
        )
