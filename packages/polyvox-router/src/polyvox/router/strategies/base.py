"""The strategy contract, the base of the built-in strategies, and user strategies.

A strategy orders the candidates the router's filters kept, best first; the router calls
them in that order until one answers. :class:`ScoredStrategy` is the base of the
built-in ones: it scores each candidate (higher is better), sorts, breaks exact ties by
:attr:`~polyvox.router.deployment.Deployment.priority` and then spreads the traffic among
the deployments still tied by their
:attr:`~polyvox.router.deployment.Deployment.weight`, with smooth weighted round-robin
(over many calls each tied deployment comes first in proportion to its weight, evenly
interleaved, with no randomness).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from polyvox.router.deployment import Deployment
    from polyvox.router.request import RouteRequest
    from polyvox.router.stats import RouterStats

__all__ = [
    "CallableStrategy",
    "Explanation",
    "RoutingStrategy",
    "ScoredStrategy",
    "StrategyFunction",
    "check_permutation",
    "score_table",
]

Value = float | int | str | bool | None
Explanation = dict[str, dict[str, Value]]
"""Deployment name → the figures a strategy scored it on (``score`` among them)."""

StrategyFunction = Callable[
    ["Sequence[Deployment]", "RouteRequest", "RouterStats"], "Sequence[Deployment]"
]
"""A user strategy as a function: ``fn(candidates, request, stats)`` → the ranked candidates."""

SortKey = tuple[float | int | bool, ...]


@runtime_checkable
class RoutingStrategy(Protocol):
    """Orders the candidates of one request, best first.

    Any object with a ``name`` and this :meth:`rank` method is a strategy. It may also
    offer ``scores(candidates, request, stats) -> list[float]`` (higher is better) and
    ``explain(candidates, request, stats) -> Explanation`` for ``Router.explain()``.
    """

    name: str
    """How the strategy is named in metadata and ``explain()``."""

    def rank(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[Deployment]:
        """Order the candidates, best first.

        Args:
            candidates: The deployments the filters kept (never empty).
            request: What the request asks for.
            stats: What the router has measured so far.

        Returns:
            A permutation of ``candidates``: every one exactly once, none added.
        """
        ...


class ScoredStrategy(ABC):
    """A strategy that scores each candidate and sorts by score (higher first).

    Ties (candidates whose sort keys are equal, see :meth:`_tied`) go by
    ``Deployment.priority`` (lower first); among those still tied, the one ranked first
    rotates by smooth weighted round-robin on ``Deployment.weight``.
    """

    name: str = "scored"
    """The strategy's name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: dict[str, float] = {}

    def __getstate__(self) -> dict[str, Any]:
        """The settings, for pickling: the lock and the round-robin position stay behind."""
        state = {k: v for k, v in self.__dict__.items() if k != "_lock"}
        state["_current"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @abstractmethod
    def scores(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[float]:
        """Score every candidate; higher is better.

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            One score per candidate, in the candidates' order.
        """

    def explain(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> Explanation:
        """The figures each candidate was scored on, for ``Router.explain()``.

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            Deployment name → figures (``score`` among them).
        """
        scores = self.scores(candidates, request, stats)
        return {d.name: {"score": s} for d, s in zip(candidates, scores, strict=True)}

    def _keys(
        self,
        candidates: Sequence[Deployment],
        scores: list[float],
        request: RouteRequest,
        stats: RouterStats,
    ) -> list[SortKey]:
        """Sort keys, ascending best first, each ending with ``priority, position``.

        Flat tuples sort fastest; subclasses put their own criteria before the last two.
        """
        return [
            (-s, d.priority, i) for i, (s, d) in enumerate(zip(scores, candidates, strict=True))
        ]

    def _tied(self, head: SortKey, other: SortKey) -> bool:
        """Whether a candidate with key ``other`` ties the best one (key ``head``).

        Both keys end with ``priority, position``, which never make a tie.
        """
        return head[:-2] == other[:-2]

    def _ordered(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> tuple[list[SortKey], list[float]]:
        """The sorted keys (best first; each ends with its candidate's position) and scores."""
        scores = self.scores(candidates, request, stats)
        keys = self._keys(candidates, scores, request, stats)
        keys.sort()
        return keys, scores

    def score_table(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[tuple[Deployment, float]]:
        """The candidates in ranked order with their scores, changing no state.

        The order is :meth:`rank`'s, except that the weighted rotation among tied
        candidates is not applied (nor advanced).

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            ``(deployment, score)`` pairs, best first.
        """
        keys, scores = self._ordered(candidates, request, stats)
        return [(candidates[i], scores[i]) for i in (int(k[-1]) for k in keys)]

    def rank(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[Deployment]:
        """Order the candidates, best first (see the class docs for ties).

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            A permutation of ``candidates``.
        """
        if len(candidates) < 2:
            return list(candidates)
        keys, _ = self._ordered(candidates, request, stats)
        order = [int(k[-1]) for k in keys]
        head = keys[0]
        size = 1
        while size < len(keys) and self._tied(head, keys[size]):
            size += 1
        if size > 1:
            self._spread(candidates, order, size)
        return [candidates[i] for i in order]

    def _spread(self, candidates: Sequence[Deployment], order: list[int], size: int) -> None:
        """Put the weighted round-robin's pick among the tied head of ``order`` first."""
        group = sorted(order[:size], key=lambda i: candidates[i].priority)
        top = candidates[group[0]].priority
        heads = [i for i in group if candidates[i].priority == top]
        if len(heads) > 1:
            pick = self._pick(candidates, heads)
            group.remove(pick)
            group.insert(0, pick)
        order[:size] = group

    def _pick(self, candidates: Sequence[Deployment], heads: list[int]) -> int:
        """Smooth weighted round-robin: raise each by its weight, take the highest, lower it."""
        with self._lock:
            current = self._current
            total = 0.0
            best, best_value = heads[0], float("-inf")
            for i in heads:
                deployment = candidates[i]
                weight = deployment.weight
                total += weight
                value = current.get(deployment.name, 0.0) + weight
                current[deployment.name] = value
                if value > best_value:
                    best, best_value = i, value
            if total > 0:
                current[candidates[best].name] = best_value - total
            return best

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CallableStrategy:
    """A user strategy given as a function, its result checked to be a permutation.

    Example:
        .. code-block:: python

            def prefer_eu(candidates, request, stats):
                return sorted(candidates, key=lambda d: "eu" not in d.tags)


            router = Router(deployments=[...], strategy=prefer_eu)
    """

    def __init__(self, fn: StrategyFunction, *, name: str | None = None) -> None:
        """Wrap a function.

        Args:
            fn: ``fn(candidates, request, stats)`` returning the candidates, best first.
            name: The strategy's name (the function's name when omitted).

        Raises:
            TypeError: When ``fn`` is not callable.
        """
        if not callable(fn):
            raise TypeError(f"a strategy function must be callable, got {type(fn).__name__}")
        self.fn = fn
        """The wrapped function."""
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__
        """The strategy's name."""

    def rank(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[Deployment]:
        """Call the function and check its answer.

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            The function's order.

        Raises:
            ValueError: When the function drops, adds or repeats a deployment.
        """
        ranked = list(self.fn(list(candidates), request, stats))
        check_permutation(candidates, ranked, self.name)
        return ranked

    def __repr__(self) -> str:
        return f"CallableStrategy({self.name!r})"


def check_permutation(
    candidates: Sequence[Deployment], ranked: Sequence[Any], strategy: str
) -> None:
    """Check that a strategy returned every candidate exactly once and nothing else.

    Args:
        candidates: What the strategy was given.
        ranked: What it returned.
        strategy: Its name (for the message).

    Raises:
        ValueError: Naming what was dropped, added or repeated.
    """
    given = {id(d): d for d in candidates}
    seen: set[int] = set()
    extra: list[str] = []
    repeated: list[str] = []
    for d in ranked:
        key = id(d)
        if key not in given:
            extra.append(getattr(d, "name", repr(d)))
        elif key in seen:
            repeated.append(d.name)
        seen.add(key)
    missing = [d.name for k, d in given.items() if k not in seen]
    if not (extra or repeated or missing):
        return
    problems = []
    if missing:
        problems.append(f"dropped {missing}")
    if extra:
        problems.append(f"added {extra}")
    if repeated:
        problems.append(f"repeated {repeated}")
    msg = f"strategy {strategy!r} must return a permutation of its candidates: " + "; ".join(
        problems
    )
    raise ValueError(msg)


def score_table(
    strategy: RoutingStrategy,
    candidates: Sequence[Deployment],
    request: RouteRequest,
    stats: RouterStats,
) -> list[tuple[Deployment, float]]:
    """Each candidate with its score, in ranked order, for ``Router.explain()``.

    Built-in strategies answer without changing any state (no round-robin step, no
    random draw). A strategy that has ``scores()`` but no ``score_table()`` is sorted
    by those scores; one with neither is ranked (so a user function is called) and
    scored by position: 1.0 for the first, down to ``1/n`` for the last.

    Args:
        strategy: The strategy.
        candidates: The deployments.
        request: The request.
        stats: The router's statistics.

    Returns:
        ``(deployment, score)`` pairs, best first; higher scores are better.
    """
    table = getattr(strategy, "score_table", None)
    if callable(table):
        return list(table(candidates, request, stats))
    scorer = getattr(strategy, "scores", None)
    if callable(scorer):
        values = list(scorer(candidates, request, stats))
        order = sorted(range(len(candidates)), key=lambda i: (-values[i], i))
        return [(candidates[i], float(values[i])) for i in order]
    ranked = strategy.rank(candidates, request, stats)
    n = len(ranked)
    return [(d, (n - i) / n) for i, d in enumerate(ranked)]
