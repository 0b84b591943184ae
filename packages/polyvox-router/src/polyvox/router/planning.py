"""From a call to a plan: read the request, filter, rank, and start the attempt loop.

These functions are the router's routing decision, shared by the four generation methods
and by ``explain()``. The sync and async forms differ only where I/O may happen: the
remaining budget (the ledger's database) and breaker state kept in Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable

from polyvox.router.attempts import AttemptLoop, Plan
from polyvox.router.constraints import CallSpec, FilterResult, filter_candidates, read_call
from polyvox.router.errors import NoDeploymentError, RouterContextOverflowError
from polyvox.router.request import RouteRequest

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

    from polyvox.router.deployment import Deployment
    from polyvox.router.router import Router

__all__ = [
    "aavailability",
    "alarge_input",
    "aprepare",
    "arequest",
    "arrange",
    "candidates",
    "large_input",
    "prepare",
    "refuse_large_input",
    "request_of",
    "start",
]


def request_of(
    router: Router,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    metadata: Mapping[str, Any] | None,
) -> tuple[RouteRequest, CallSpec]:
    """Read a call's request (remaining budget included) and what its deployment receives.

    Args:
        router: The router (its defaults).
        messages: The prompt.
        stop: The call's stop sequences.
        kwargs: The call's keyword arguments (constraint keys are removed).
        metadata: The run's metadata.

    Returns:
        The request and the call.

    Raises:
        NoDeploymentError: The request pins a deployment the router does not have.
    """
    request, spec = _read(router, messages, stop, kwargs, metadata)
    if router.budget is not None and (request.workspace or request.agent):
        request = _with_budget(request, _remaining(router, request))
    return request, spec


async def arequest(
    router: Router,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    metadata: Mapping[str, Any] | None,
) -> tuple[RouteRequest, CallSpec]:
    """Async :func:`request_of` (the budget read off the event loop).

    Args:
        router: The router.
        messages: The prompt.
        stop: The call's stop sequences.
        kwargs: The call's keyword arguments.
        metadata: The run's metadata.

    Returns:
        The request and the call.
    """
    request, spec = _read(router, messages, stop, kwargs, metadata)
    if router.budget is not None and (request.workspace or request.agent):
        # The ledger's database layer is synchronous SQLAlchemy (as BudgetGuard.areserve
        # says): one short query, run off the event loop.
        remaining = await asyncio.to_thread(_remaining, router, request)
        request = _with_budget(request, remaining)
    return request, spec


def _read(
    router: Router,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    metadata: Mapping[str, Any] | None,
) -> tuple[RouteRequest, CallSpec]:
    if router.temperature is not None:
        kwargs.setdefault("temperature", router.temperature)
    request, spec = read_call(
        messages,
        kwargs,
        metadata,
        stop=stop if stop is not None else router.stop,
        default_sensitivity=router.default_sensitivity,
        default_tier=router.default_tier,
        default_max_tokens=router.max_tokens,
        detect=_detector() if router.detect_language else None,
    )
    if request.deployment is not None and request.deployment not in router._by_name:
        msg = (
            f"the request pins deployment {request.deployment!r}, which this router does not "
            f"have; its deployments are {sorted(router._by_name)}"
        )
        raise NoDeploymentError({}, request, message=msg)
    return request, spec


def candidates(
    router: Router, request: RouteRequest, spec: CallSpec, available: Callable[[str], bool]
) -> FilterResult:
    """Filter the router's deployments for a request.

    Args:
        router: The router.
        request: The request.
        spec: The call (its own latency limit).
        available: Whether a deployment's breaker lets calls through.

    Returns:
        What the filters kept and dropped.
    """
    limit = spec.max_latency_ms if spec.max_latency_ms is not None else router.max_latency_ms
    return filter_candidates(
        router.deployments,
        router._facts,
        request,
        stats=router.stats,
        available=available,
        max_latency_ms=limit,
        structured=spec.structured,
    )


def availability(router: Router) -> Callable[[str], bool]:
    """Breaker availability for the filters: a shared store's state read in one round trip.

    Args:
        router: The router.

    Returns:
        ``name -> whether its breaker lets calls through``.
    """
    board = router.breakers
    if not board.store.batch_reads:
        return board.available  # in memory: a dictionary lookup per deployment
    return board.available_many(list(router._by_name)).__getitem__


async def aavailability(router: Router) -> Callable[[str], bool]:
    """Async :func:`availability`: a shared store's state read natively, in one round trip.

    Args:
        router: The router.

    Returns:
        ``name -> whether its breaker lets calls through``.
    """
    board = router.breakers
    if not board.store.batch_reads:
        return board.available  # in memory: nothing to await
    return (await board.aavailable_many(list(router._by_name))).__getitem__


def arrange(router: Router, request: RouteRequest, order: list[Deployment]) -> list[Deployment]:
    """Apply ``prefer_local`` and the language routes to the strategy's order.

    Args:
        router: The router.
        request: The request (its language).
        order: The strategy's order.

    Returns:
        The order to try.
    """
    if router.prefer_local and len(order) > 1:
        facts = router._facts
        order = [d for d in order if facts[d.name].local] + [
            d for d in order if not facts[d.name].local
        ]
    if request.language is not None and router.language_routes:
        routed = router.language_routes.get(request.language)
        if routed is not None:
            for i, deployment in enumerate(order):
                if deployment.name == routed:
                    if i:
                        order = [deployment, *order[:i], *order[i + 1 :]]
                    break
    return order


def start(router: Router, request: RouteRequest, result: FilterResult) -> AttemptLoop:
    """Rank what the filters kept and start the call's attempt loop.

    Args:
        router: The router.
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
            if router.large_input_handler is None:
                raise _overflow_error(router, request, result)
            refuse_large_input(router, request, {n: d.reason for n, d in result.dropped.items()})
            loop = AttemptLoop(router, Plan(request, [], frozenset()))
            loop.overflowed = True
            return loop
        raise _no_deployment(request, result)
    ranked = list(router.strategy.rank(kept, request, router.stats)) if len(kept) > 1 else kept
    order = arrange(router, request, ranked)
    return AttemptLoop(router, Plan(request, order, frozenset(d.name for d in kept)))


def prepare(
    router: Router,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    metadata: Mapping[str, Any] | None,
) -> tuple[AttemptLoop, CallSpec]:
    """Everything before the first call: request, filters, ranking (sync).

    Args:
        router: The router.
        messages: The prompt.
        stop: The call's stop sequences.
        kwargs: The call's keyword arguments.
        metadata: The run's metadata.

    Returns:
        The attempt loop and the call.
    """
    request, spec = request_of(router, messages, stop, kwargs, metadata)
    result = candidates(router, request, spec, availability(router))
    return start(router, request, result), spec


async def aprepare(
    router: Router,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    metadata: Mapping[str, Any] | None,
) -> tuple[AttemptLoop, CallSpec]:
    """Async :func:`prepare`.

    Args:
        router: The router.
        messages: The prompt.
        stop: The call's stop sequences.
        kwargs: The call's keyword arguments.
        metadata: The run's metadata.

    Returns:
        The attempt loop and the call.
    """
    request, spec = await arequest(router, messages, stop, kwargs, metadata)
    result = candidates(router, request, spec, await aavailability(router))
    return start(router, request, result), spec


def large_input(
    router: Router,
    messages: list[BaseMessage],
    request: RouteRequest,
    config: RunnableConfig | None,
) -> AIMessage:
    """Hand a prompt larger than every window to the router's large-input handler.

    Args:
        router: The router.
        messages: The prompt.
        request: The request.
        config: The child run's config.

    Returns:
        The handler's answer.
    """
    handler = router.large_input_handler
    assert handler is not None
    refuse_large_input(router, request)
    if isinstance(handler, Runnable):
        return _as_message(handler.invoke(messages, _handler_config(config, request)))
    return _as_message(handler(messages, request))


async def alarge_input(
    router: Router,
    messages: list[BaseMessage],
    request: RouteRequest,
    config: RunnableConfig | None,
) -> AIMessage:
    """Async :func:`large_input` (a handler function may return an awaitable).

    Args:
        router: The router.
        messages: The prompt.
        request: The request.
        config: The child run's config.

    Returns:
        The handler's answer.
    """
    handler = router.large_input_handler
    assert handler is not None
    refuse_large_input(router, request)
    if isinstance(handler, Runnable):
        return _as_message(await handler.ainvoke(messages, _handler_config(config, request)))
    answer = handler(messages, request)
    if asyncio.iscoroutine(answer) or isinstance(answer, asyncio.Future):
        answer = await answer
    return _as_message(answer)


def refuse_large_input(
    router: Router, request: RouteRequest, reasons: Mapping[str, str] | None = None
) -> None:
    """Refuse to hand data that must stay local to a large-input handler not known to be local.

    The handler (typically an RLM) may call any model, a cloud one included, so
    confidential and restricted prompts reach it only when the router sets
    ``large_input_handler_local=True``.

    Args:
        router: The router.
        request: The request (its sensitivity).
        reasons: Deployment name → why it was dropped, for the error's message.

    Raises:
        NoDeploymentError: The request's data may only go to local models and the handler is
            not declared local.
    """
    if not request.sensitivity.local_only or router.large_input_handler_local:
        return
    lead = (
        f"refusing to hand {request.sensitivity.value} data to the large-input handler: the "
        "prompt fits no local deployment's window, and the handler may call cloud models "
        "(set large_input_handler_local=True on the router if it runs only local models)"
    )
    raise NoDeploymentError(reasons or {}, request, message=lead)


def _handler_config(config: RunnableConfig | None, request: RouteRequest) -> RunnableConfig:
    """The config a Runnable handler gets: the run's, its metadata naming the sensitivity."""
    given: RunnableConfig = config if config is not None else {}
    metadata = {**given.get("metadata", {}), "sensitivity": request.sensitivity.value}
    return {**given, "metadata": metadata}


def _remaining(router: Router, request: RouteRequest) -> Decimal | None:
    guard = router.budget
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
    router: Router, request: RouteRequest, result: FilterResult
) -> RouterContextOverflowError:
    sized = [name for name, drop in result.dropped.items() if drop.kind == "context"]
    largest = max(sized, key=lambda name: router._facts[name].window)
    return RouterContextOverflowError(request.min_context, router._facts[largest].window, largest)


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


def _as_message(answer: Any) -> AIMessage:
    if isinstance(answer, AIMessage):
        return answer
    if isinstance(answer, str):
        return AIMessage(content=answer)
    if isinstance(answer, BaseMessage):
        return AIMessage(content=answer.content)
    msg = f"large_input_handler returned {type(answer).__name__}; expected an AIMessage or text"
    raise TypeError(msg)
