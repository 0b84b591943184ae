"""Ready-made routers for common goals.

Each function takes the deployments (chat models, ``Deployment`` objects, or a
configuration as for :meth:`Router.from_config <polyvox.router.router.Router.from_config>`)
and returns a :class:`~polyvox.router.router.Router` set up for its goal; keyword
arguments override any router field.

- :func:`high_quality`: the best model first (quality strategy), powerful-tier only when
  any deployment is powerful, so a request is never silently downgraded;
- :func:`cost_optimized`: the cheapest estimate for each request first;
- :func:`fast`: the lowest measured latency first (catalog latency until measured),
  fast-tier only when any deployment is fast;
- :func:`local_only`: only local deployments, every request treated as restricted data, so
  nothing can reach a cloud API even when a call asks for less;
- :func:`code`: deployments tagged ``code`` first, then by quality.

Example:
    .. code-block:: python

        from polyvox.router.chains import cost_optimized

        router = cost_optimized([ChatOpenAI(model="gpt-4o-mini"), ChatOpenAI(model="gpt-4.1")])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from polyvox.costs.catalog import Tier
from polyvox.router.assembly import normalize
from polyvox.router.request import Sensitivity
from polyvox.router.router import Router
from polyvox.router.strategies import get_strategy, score_table

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from polyvox.router.deployment import Deployment
    from polyvox.router.request import RouteRequest
    from polyvox.router.stats import RouterStats
    from polyvox.router.strategies import RoutingStrategy

__all__ = [
    "TagFirstStrategy",
    "code",
    "cost_optimized",
    "fast",
    "high_quality",
    "local_only",
]

Source = Sequence["BaseChatModel | Deployment"] | str | os.PathLike[str] | Mapping[str, Any]
"""Deployments, or a configuration (YAML path or text, or a mapping)."""


class TagFirstStrategy:
    """Deployments carrying a tag first, each group in another strategy's order."""

    def __init__(self, tag: str, then: RoutingStrategy | str = "quality") -> None:
        """Create the strategy.

        Args:
            tag: The tag to prefer (``"code"``).
            then: The strategy ordering each group.
        """
        self.tag = tag
        """The preferred tag."""
        self.then = get_strategy(then)
        """The strategy within each group."""
        self.name = f"{tag}_first"
        """``<tag>_first``."""

    def rank(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[Deployment]:
        """Tagged deployments first, each group in :attr:`then`'s order.

        Args:
            candidates: The deployments the filters kept.
            request: The request.
            stats: The router's statistics.

        Returns:
            The candidates, best first.
        """
        ranked = self.then.rank(candidates, request, stats)
        return [d for d in ranked if self.tag in d.tags] + [
            d for d in ranked if self.tag not in d.tags
        ]

    def score_table(
        self, candidates: Sequence[Deployment], request: RouteRequest, stats: RouterStats
    ) -> list[tuple[Deployment, float]]:
        """The inner strategy's scores, tagged deployments first (for ``explain()``).

        Args:
            candidates: The deployments.
            request: The request.
            stats: The router's statistics.

        Returns:
            ``(deployment, score)`` pairs in ranked order.
        """
        table = score_table(self.then, candidates, request, stats)
        return [row for row in table if self.tag in row[0].tags] + [
            row for row in table if self.tag not in row[0].tags
        ]

    def __repr__(self) -> str:
        return f"TagFirstStrategy({self.tag!r}, then={self.then!r})"


def high_quality(
    source: Source, *, models: Mapping[str, Any] | None = None, **overrides: Any
) -> Router:
    """A router for the best answers: quality first, never a lower tier when a powerful one exists.

    Args:
        source: Deployments or a configuration.
        models: Chat models a configuration refers to by name.
        **overrides: Router fields.

    Returns:
        The router (strategy ``quality``; ``default_tier`` powerful when any deployment is).
    """
    kwargs = _base(source, models)
    tiers = {d.tier for d in kwargs["deployments"]}
    settings: dict[str, Any] = {"strategy": "quality"}
    if Tier.POWERFUL in tiers:
        settings["default_tier"] = Tier.POWERFUL
    return Router(**{**kwargs, **settings, **overrides})


def cost_optimized(
    source: Source, *, models: Mapping[str, Any] | None = None, **overrides: Any
) -> Router:
    """A router for the lowest cost: the cheapest estimate for each request first.

    Local deployments count as free; unpriced ones go last.

    Args:
        source: Deployments or a configuration.
        models: Chat models a configuration refers to by name.
        **overrides: Router fields.

    Returns:
        The router (strategy ``cost``).
    """
    return Router(**{**_base(source, models), "strategy": "cost", **overrides})


def fast(source: Source, *, models: Mapping[str, Any] | None = None, **overrides: Any) -> Router:
    """A router for speed: the lowest latency first, fast-tier only when any deployment is.

    Latency is what the router measured (catalog figures until it has measured).

    Args:
        source: Deployments or a configuration.
        models: Chat models a configuration refers to by name.
        **overrides: Router fields.

    Returns:
        The router (strategy ``latency``; ``default_tier`` fast when any deployment is).
    """
    kwargs = _base(source, models)
    settings: dict[str, Any] = {"strategy": "latency"}
    if Tier.FAST in {d.tier for d in kwargs["deployments"]}:
        settings["default_tier"] = Tier.FAST
    return Router(**{**kwargs, **settings, **overrides})


def local_only(
    source: Source, *, models: Mapping[str, Any] | None = None, **overrides: Any
) -> Router:
    """A router that never leaves the machine: local deployments only, data restricted.

    Cloud deployments in ``source`` are left out, and every request is treated as
    restricted (so even a call asking for ``sensitivity="public"`` finds no cloud
    deployment: there is none). Locality is :attr:`Deployment.local
    <polyvox.router.deployment.Deployment.local>`: a local model class on a loopback,
    private or link-local endpoint, or one marked ``local: true`` /
    ``Deployment.of(..., local=True)``; an Ollama model on a public host does not count.

    Args:
        source: Deployments or a configuration.
        models: Chat models a configuration refers to by name.
        **overrides: Router fields.

    Returns:
        The router (strategy ``local_first``, ``default_sensitivity`` restricted).

    Raises:
        ValueError: No deployment in ``source`` is local.
    """
    kwargs = _base(source, models)
    local = [d for d in kwargs["deployments"] if d.local]
    if not local:
        names = ", ".join(d.name for d in kwargs["deployments"])
        msg = (
            "local_only needs a local deployment (Ollama, llama.cpp, vLLM on a loopback or "
            f"private address, or one marked local=True); got {names}"
        )
        raise ValueError(msg)
    settings = {
        "deployments": local,
        "strategy": "local_first",
        "default_sensitivity": Sensitivity.RESTRICTED,
    }
    for key in ("context_overflow_fallback", "content_policy_fallback"):
        if kwargs.get(key):
            settings[key] = [n for n in kwargs[key] if n in {d.name for d in local}]
    return Router(**{**kwargs, **settings, **overrides})


def code(source: Source, *, models: Mapping[str, Any] | None = None, **overrides: Any) -> Router:
    """A router for programming work: deployments tagged ``code`` first, then by quality.

    Tag code-specialised deployments with ``tags={"code"}`` (``tags: [code]`` in a
    configuration); the others remain as fallbacks.

    Args:
        source: Deployments or a configuration.
        models: Chat models a configuration refers to by name.
        **overrides: Router fields.

    Returns:
        The router (strategy :class:`TagFirstStrategy` for ``code``).
    """
    strategy = TagFirstStrategy("code", then="quality")
    return Router(**{**_base(source, models), "strategy": strategy, **overrides})


def _base(source: Source, models: Mapping[str, Any] | None) -> dict[str, Any]:
    if isinstance(source, str | os.PathLike | Mapping):
        from polyvox.router.config import router_kwargs

        kwargs = router_kwargs(source, models=models)
        if "deployments" not in kwargs:
            raise ValueError("the configuration has no deployments")
    else:
        kwargs = {"deployments": list(source)}
    return normalize(kwargs)
