"""From a call to a plan: read the request, filter, rank, and start the attempt loop.

These functions are the router's routing decision, shared by the four generation methods
and by ``explain()``; they read the router as plain data
(:class:`~polyvox.router.routing.Routing`). The sync and async forms differ only where I/O
may happen: the remaining budget (the ledger's database) and breaker state kept in Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from polyvox.router.attempt_loop import AttemptLoop, Plan
from polyvox.router.constraints import CallSpec, FilterResult, filter_candidates, read_call
from polyvox.router.errors import NoDeploymentError, RouterContextOverflowError
from polyvox.router.languages import specialists_last
from polyvox.router.large_input import refuse_large_input
from polyvox.router.request import RouteRequest

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from polyvox.router.deployment import Deployment
    from polyvox.router.routing import Routing

__all__ = [
    "aavailability",
    "aprepare",
    "arequest",
    "arrange",
    "availability",
    "candidates",
    "prepare",
    "request_of",
    "start",
]


def request_of(
    routing: Routing,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    metadata: Mapping[str, Any] | None,
) -> tuple[RouteRequest, CallSpec]:
    """Read a call's request (remaining budget included) and what its deployment receives.

    Args:
        routing: The router's settings and state (its defaults).
        messages: The prompt.
        stop: The call's stop sequences.
        kwargs: The call's keyword arguments (constraint keys are removed).
        metadata: The run's metadata.

    Returns:
        The request and the call.

    Raises:
        NoDeploymentError: The request pins a deployment the router does not have.
    """
    request, spec = _read(routing, messages, stop, kwargs, metadata)
    if routing.budget is not None and (request.workspace or request.agent):
        request = _with_budget(request, _remaining(routing, request))
    return request, spec


async def arequest(
    routing: Routing,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    metadata: Mapping[str, Any] | None,
) -> tuple[RouteRequest, CallSpec]:
    """Async :func:`request_of` (the budget read off the event loop).

    Args:
        routing: The router's settings and state.
        messages: The prompt.
        stop: The call's stop sequences.
        kwargs: The call's keyword arguments.
        metadata: The run's metadata.

    Returns:
        The request and the call.
    """
    request, spec = _read(routing, messages, stop, kwargs, metadata)
    if routing.budget is not None and (request.workspace or request.agent):
        # The ledger's database layer is synchronous SQLAlchemy (as BudgetGuard.areserve
        # says): one short query, run off the event loop.
        remaining = await asyncio.to_thread(_remaining, routing, request)
        request = _with_budget(request, remaining)
    return request, spec


def _read(
    routing: Routing,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    metadata: Mapping[str, Any] | None,
) -> tuple[RouteRequest, CallSpec]:
    if routing.temperature is not None:
        kwargs.setdefault("temperature", routing.temperature)
    request, spec = read_call(
        messages,
        kwargs,
        metadata,
        stop=stop if stop is not None else routing.stop,
        default_sensitivity=routing.default_sensitivity,
        default_tier=routing.default_tier,
        default_max_tokens=routing.max_tokens,
        detect=_detector() if routing.detect_language else None,
    )
    if request.deployment is not None and request.deployment not in routing.by_name:
        msg = (
            f"the request pins deployment {request.deployment!r}, which this router does not "
            f"have; its deployments are {sorted(routing.by_name)}"
        )
        raise NoDeploymentError({}, request, message=msg)
    return request, spec


def candidates(
    routing: Routing, request: RouteRequest, spec: CallSpec, available: Callable[[str], bool]
) -> FilterResult:
    """Filter the router's deployments for a request.

    Args:
        routing: The router's settings and state.
        request: The request.
        spec: The call (its own latency limit).
        available: Whether a deployment's breaker lets calls through.

    Returns:
        What the filters kept and dropped.
    """
    limit = spec.max_latency_ms if spec.max_latency_ms is not None else routing.max_latency_ms
    return filter_candidates(
        routing.deployments,
        routing.facts,
        request,
        stats=routing.stats,
        available=available,
        max_latency_ms=limit,
        structured=spec.structured,
    )


def availability(routing: Routing) -> Callable[[str], bool]:
    """Breaker availability for the filters: a shared store's state read in one round trip.

    Args:
        routing: The router's settings and state.

    Returns:
        ``name -> whether its breaker lets calls through``.
    """
    board = routing.breakers
    if not board.store.batch_reads:
        return board.available  # in memory: a dictionary lookup per deployment
    return board.available_many(list(routing.by_name)).__getitem__


async def aavailability(routing: Routing) -> Callable[[str], bool]:
    """Async :func:`availability`: a shared store's state read natively, in one round trip.

    Args:
        routing: The router's settings and state.

    Returns:
        ``name -> whether its breaker lets calls through``.
    """
    board = routing.breakers
    if not board.store.batch_reads:
        return board.available  # in memory: nothing to await
    return (await board.aavailable_many(list(routing.by_name))).__getitem__


def arrange(routing: Routing, request: RouteRequest, order: list[Deployment]) -> list[Deployment]:
    """Apply language specialists, ``prefer_local`` and the language routes to the order.

    A language specialist not made for the request's language goes after the other
    candidates (:mod:`polyvox.router.languages`).

    Args:
        routing: The router's settings and state.
        request: The request (its language).
        order: The strategy's order.

    Returns:
        The order to try.
    """
    if routing.specialists and len(order) > 1:
        by_locality = routing.strategy.name == "local_first"
        order = specialists_last(order, request.language, by_locality=by_locality)
    if routing.prefer_local and len(order) > 1:
        facts = routing.facts
        order = [d for d in order if facts[d.name].local] + [
            d for d in order if not facts[d.name].local
        ]
    if request.language is not None and routing.language_routes:
        routed = routing.language_routes.get(request.language)
        if routed is not None:
            for i, deployment in enumerate(order):
                if deployment.name == routed:
                    if i:
                        order = [deployment, *order[:i], *order[i + 1 :]]
                    break
    return order


def start(routing: Routing, request: RouteRequest, result: FilterResult) -> AttemptLoop:
    """Rank what the filters kept and start the call's attempt loop.

    Args:
        routing: The router's settings and state.
        request: The request.
        result: The filter result.

    Returns:
        The attempt loop (with nothing to try and ``overflowed`` set when the large-input
        handler is to answer).

    Raises:
        RouterContextOverflowError: The prompt fits no eligible window and no large-input
            handler is set.
        NoDeploymentError: Nothing may take the request; lists every deployment and why. Also
            raised when only the large-input handler could answer, the data may only go to
            local models, and the router is not told the handler is local.
    """
    kept = result.kept
    if not kept:
        if result.large_input:
            if routing.large_input_handler is None:
                raise _overflow_error(routing, request, result)
            reasons = {n: d.reason for n, d in result.dropped.items()}
            refuse_large_input(routing.large_input_handler_local, request, reasons)
            loop = AttemptLoop(routing, Plan(request, [], frozenset()))
            loop.overflowed = True
            return loop
        raise _no_deployment(request, result)
    ranked = list(routing.strategy.rank(kept, request, routing.stats)) if len(kept) > 1 else kept
    order = arrange(routing, request, ranked)
    return AttemptLoop(routing, Plan(request, order, frozenset(d.name for d in kept)))


def prepare(
    routing: Routing,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    metadata: Mapping[str, Any] | None,
) -> tuple[AttemptLoop, CallSpec]:
    """Everything before the first call: request, filters, ranking (sync).

    Args:
        routing: The router's settings and state.
        messages: The prompt.
        stop: The call's stop sequences.
        kwargs: The call's keyword arguments.
        metadata: The run's metadata.

    Returns:
        The attempt loop and the call.
    """
    request, spec = request_of(routing, messages, stop, kwargs, metadata)
    result = candidates(routing, request, spec, availability(routing))
    return start(routing, request, result), spec


async def aprepare(
    routing: Routing,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    metadata: Mapping[str, Any] | None,
) -> tuple[AttemptLoop, CallSpec]:
    """Async :func:`prepare`.

    Args:
        routing: The router's settings and state.
        messages: The prompt.
        stop: The call's stop sequences.
        kwargs: The call's keyword arguments.
        metadata: The run's metadata.

    Returns:
        The attempt loop and the call.
    """
    request, spec = await arequest(routing, messages, stop, kwargs, metadata)
    result = candidates(routing, request, spec, await aavailability(routing))
    return start(routing, request, result), spec


def _remaining(routing: Routing, request: RouteRequest) -> Decimal | None:
    guard = routing.budget
    assert guard is not None
    attribution = {
        key: value
        for key, value in (("workspace_id", request.workspace), ("agent_id", request.agent))
        if value is not None
    }
    budgets = guard.applicable(attribution, "USD")
    if not budgets:
        return None
    left = [status.remaining for status in guard.status() if status.budget in budgets]
    return min(left) if left else None


def _with_budget(request: RouteRequest, remaining: Decimal | None) -> RouteRequest:
    return request if remaining is None else replace(request, remaining_budget=remaining)


def _detector() -> Callable[[str], str | None]:
    from polyvox.language.detection import detect_language

    return detect_language


def _overflow_error(
    routing: Routing, request: RouteRequest, result: FilterResult
) -> RouterContextOverflowError:
    sized = [name for name, drop in result.dropped.items() if drop.kind == "context"]
    largest = max(sized, key=lambda name: routing.facts[name].window)
    return RouterContextOverflowError(request.min_context, routing.facts[largest].window, largest)


def _no_deployment(request: RouteRequest, result: FilterResult) -> NoDeploymentError:
    reasons = {name: drop.reason for name, drop in result.dropped.items()}
    kinds = {drop.kind for drop in result.dropped.values()}
    if request.sensitivity.local_only and "sensitivity" in kinds:
        lead = (
            f"refusing to route {request.sensitivity.value} data: it may only go to local "
            "deployments, and none of them can take this request"
        )
    else:
        lead = "no deployment can take this request"
    return NoDeploymentError(reasons, request, message=lead)
