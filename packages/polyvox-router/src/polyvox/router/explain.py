"""``Router.explain()``: the routing decision for an input, traced, without calling a model.

A :class:`RouteDecision` holds the request the router read, every deployment with whether
the filters kept it (and why not), the strategy's scores, each breaker's state and the
order the router would try; ``str(decision)`` prints it as a table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from polyvox.router import planning
from polyvox.router.request import RouteRequest
from polyvox.router.strategies import score_table

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from polyvox.router.breaker import BreakerStatus
    from polyvox.router.constraints import FilterResult
    from polyvox.router.routing import Routing

__all__ = ["CandidateTrace", "RouteDecision", "aexplain", "decide", "explain"]


@dataclass(frozen=True, slots=True)
class CandidateTrace:
    """One deployment in a routing decision."""

    name: str
    """The deployment's name."""

    provider: str
    """Its provider."""

    model: str
    """Its model."""

    local: bool
    """Whether it runs locally."""

    tier: str
    """Its tier."""

    context_window: int
    """Its context window."""

    kept: bool
    """Whether it passed every filter."""

    reason: str | None
    """Why it was dropped (``None`` when kept)."""

    filter: str | None
    """The filter that dropped it (``sensitivity``, ``capability``, ..., ``None`` when kept)."""

    score: float | None
    """The strategy's score (higher is better; ``None`` when dropped or not scored)."""

    rank: int | None
    """Its place in the order to try (0 first; ``None`` when dropped)."""

    breaker: str
    """Its circuit breaker's state (``closed``, ``open``, ``half_open``)."""

    estimated_cost_usd: float | None
    """A high estimate of this request's cost on it (``None``: unpriced)."""


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """What the router would do with a request, and why."""

    request: RouteRequest
    """The constraints read from the input, keyword arguments and config."""

    strategy: str
    """The strategy's name."""

    candidates: tuple[CandidateTrace, ...]
    """Every deployment, in the router's order, kept or dropped."""

    order: tuple[str, ...]
    """Names of the deployments the router would try, first to last, ordered by the
    strategy's scores. For a stateful strategy (the UCB bandit's round-robin of untried
    deployments, the balanced strategy's weighted spreading of ties) the next call ranks
    with the state it finds then, so it may pick another of the equally scored
    deployments; explain() never changes that state."""

    large_input: bool = False
    """Whether the prompt fits no eligible window (the large-input handler would run)."""

    @property
    def chosen(self) -> str | None:
        """The deployment tried first (``None`` when nothing may take the request)."""
        return self.order[0] if self.order else None

    @property
    def dropped(self) -> dict[str, str]:
        """Deployment name → why it was dropped."""
        return {c.name: c.reason or "" for c in self.candidates if not c.kept}

    def to_dict(self) -> dict[str, Any]:
        """The decision as plain data (for logs and JSON)."""
        data = asdict(self)
        data["request"] = {
            **asdict(self.request),
            "sensitivity": self.request.sensitivity.value,
            "tier": self.request.tier.value if self.request.tier else None,
            "capabilities": sorted(c.value for c in self.request.capabilities),
            "max_cost": str(self.request.max_cost) if self.request.max_cost is not None else None,
            "remaining_budget": (
                str(self.request.remaining_budget)
                if self.request.remaining_budget is not None
                else None
            ),
        }
        data["chosen"] = self.chosen
        return data

    def __str__(self) -> str:
        req = self.request
        needs = ", ".join(sorted(c.value for c in req.capabilities)) or "none"
        head = [
            f"route decision ({self.strategy} strategy)",
            f"  request: ~{req.estimated_input_tokens} prompt + {req.expected_output_tokens} "
            f"output tokens; sensitivity {req.sensitivity.value}; tier {_or_any(req.tier)}; "
            f"capabilities {needs}; language {req.language or '-'}",
        ]
        if req.max_cost is not None or req.remaining_budget is not None:
            head.append(
                f"  cost limit: {_or_any(req.max_cost)}; remaining budget "
                f"{_or_any(req.remaining_budget)}"
            )
        if req.deployment:
            head.append(f"  pinned: {req.deployment}")
        rows = [("#", "deployment", "where", "tier", "window", "score", "est. $", "breaker", "")]
        ordered = sorted(self.candidates, key=lambda c: (c.rank is None, c.rank or 0))
        for c in ordered:
            rows.append(
                (
                    "-" if c.rank is None else str(c.rank + 1),
                    c.name,
                    "local" if c.local else "cloud",
                    c.tier,
                    str(c.context_window),
                    "-" if c.score is None else f"{c.score:.3f}",
                    "?" if c.estimated_cost_usd is None else f"{c.estimated_cost_usd:.6f}",
                    c.breaker,
                    "" if c.kept else f"dropped: {c.reason}",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        lines = [
            "  "
            + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
            + ("  " + row[-1] if row[-1] else "")
            for row in rows
        ]
        if self.order:
            tail = f"  order: {' -> '.join(self.order)}"
        elif self.large_input:
            tail = "  order: none; the prompt fits no eligible window (large-input handling)"
        else:
            tail = "  order: none; no deployment may take this request"
        return "\n".join([*head, *(line.rstrip() for line in lines), tail])


def _or_any(value: Any) -> str:
    if value is None:
        return "any"
    return str(getattr(value, "value", value))


def decide(
    routing: Routing,
    request: RouteRequest,
    result: FilterResult,
    breakers: Mapping[str, BreakerStatus],
) -> RouteDecision:
    """Assemble the decision trace from a filter result (no model call, no strategy state).

    The order comes from the strategy's score table (which built-in strategies compute
    without advancing their round-robin or bandit state), then ``prefer_local`` and the
    language routes, as for a call.

    Args:
        routing: The router's settings and state.
        request: The request.
        result: What the filters kept and dropped.
        breakers: Breaker status by deployment name.

    Returns:
        The decision.
    """
    kept = result.kept
    table = score_table(routing.strategy, kept, request, routing.stats) if kept else []
    scores = {deployment.name: score for deployment, score in table}
    order = planning.arrange(routing, request, [deployment for deployment, _ in table])
    rank = {deployment.name: i for i, deployment in enumerate(order)}
    facts = routing.facts
    traces = []
    for deployment in routing.deployments:
        name = deployment.name
        fact = facts[name]
        drop = result.dropped.get(name)
        status = breakers.get(name)
        traces.append(
            CandidateTrace(
                name=name,
                provider=deployment.provider,
                model=deployment.entry.model,
                local=fact.local,
                tier=fact.tier.value,
                context_window=fact.window,
                kept=drop is None,
                reason=drop.reason if drop else None,
                filter=drop.kind if drop else None,
                score=scores.get(name),
                rank=rank.get(name),
                breaker=status.state.value if status is not None else "closed",
                estimated_cost_usd=fact.estimated_cost(
                    request.estimated_input_tokens, request.expected_output_tokens
                ),
            )
        )
    return RouteDecision(
        request=request,
        strategy=routing.strategy.name,
        candidates=tuple(traces),
        order=tuple(d.name for d in order),
        large_input=result.large_input,
    )


def explain(
    routing: Routing,
    messages: list[BaseMessage],
    metadata: Mapping[str, Any] | None,
    kwargs: dict[str, Any],
) -> RouteDecision:
    """The routing decision for a prompt (``Router.explain``).

    Args:
        routing: The router's settings and state.
        messages: What would be sent.
        metadata: The run's metadata (it may carry constraints).
        kwargs: Constraints and call keyword arguments.

    Returns:
        The decision.
    """
    request, spec = planning.request_of(routing, messages, None, dict(kwargs), metadata)
    result = planning.candidates(routing, request, spec, planning.availability(routing))
    return decide(routing, request, result, routing.breakers.snapshot(routing.by_name))


async def aexplain(
    routing: Routing,
    messages: list[BaseMessage],
    metadata: Mapping[str, Any] | None,
    kwargs: dict[str, Any],
) -> RouteDecision:
    """Async :func:`explain` (budget and shared breaker state read without blocking).

    Args:
        routing: The router's settings and state.
        messages: What would be sent.
        metadata: The run's metadata (it may carry constraints).
        kwargs: Constraints and call keyword arguments.

    Returns:
        The decision.
    """
    request, spec = await planning.arequest(routing, messages, None, dict(kwargs), metadata)
    result = planning.candidates(routing, request, spec, await planning.aavailability(routing))
    return decide(routing, request, result, await routing.breakers.asnapshot(routing.by_name))
