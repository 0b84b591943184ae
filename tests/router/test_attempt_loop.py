"""The attempt loop as a state machine: fed outcomes, it yields the actions it decides.

No model is called and nothing waits: each test plays the driver, sending the loop what a
call, a breaker or a wait would have answered, and checks what it asks next (call this
deployment, wait this long, tell the breaker) and how it ends (an answer or an error).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.messages import AIMessage

from polyvox.costs.catalog import ModelEntry
from polyvox.costs.ledger.errors import LedgerUnavailableError
from polyvox.router.actions import (
    Allow,
    Answered,
    Available,
    Call,
    Failed,
    Flow,
    LargeInput,
    Record,
    Release,
    Reply,
    Streamed,
    Wait,
)
from polyvox.router.attempt_loop import AttemptLoop, Plan
from polyvox.router.breaker import BreakerBoard
from polyvox.router.deployment import Deployment
from polyvox.router.errors import AllDeploymentsFailedError, StreamInterruptedError
from polyvox.router.facts import compute_facts
from polyvox.router.request import RouteRequest, Sensitivity
from polyvox.router.routing import Routing
from polyvox.router.stats import RouterStats
from polyvox.router.strategies import get_strategy


def _deployment(name: str, window: int = 8192) -> Deployment:
    entry = ModelEntry("test", name, context_window=window, price_source="none")
    return Deployment(name=name, model=cast("Any", None), entry=entry)  # never called


A, B, C = _deployment("a"), _deployment("b"), _deployment("c")
REQUEST = RouteRequest(estimated_input_tokens=10, expected_output_tokens=10, agent="agent-1")


def _no_target(deployment: Deployment, spec: Any) -> Any:
    raise AssertionError("the loop never calls a model")


def _routing(*deployments: Deployment, **settings: Any) -> Routing:
    values: dict[str, Any] = {
        "deployments": deployments,
        "by_name": {d.name: d for d in deployments},
        "facts": {d.name: compute_facts(d) for d in deployments},
        "target": _no_target,
        "strategy": get_strategy("balanced"),
        "stats": RouterStats(),
        "breakers": BreakerBoard(),
        "budget": None,
        "fallbacks": True,
        "max_attempts": None,
        "max_retries": 1,
        "max_retry_wait_s": 5.0,
        "timeout": None,
        "probation_max_in_flight": 2,
        "mid_stream_fallback": False,
        "context_overflow_fallback": None,
        "content_policy_fallback": None,
        "default_sensitivity": Sensitivity.PUBLIC,
        "default_tier": None,
        "language_routes": {},
        "detect_language": False,
        "prefer_local": False,
        "max_latency_ms": None,
        "temperature": None,
        "max_tokens": None,
        "stop": None,
        "large_input_handler": None,
        "large_input_handler_local": False,
    }
    values.update(settings)
    return Routing(**values)


def _loop(*order: Deployment, routing: Routing | None = None, **settings: Any) -> AttemptLoop:
    routing = routing or _routing(A, B, C, **settings)
    return AttemptLoop(routing, Plan(REQUEST, list(order), frozenset(d.name for d in order)))


def _answer(text: str = "hello", **metadata: Any) -> AIMessage:
    usage = {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12}
    return AIMessage(content=text, response_metadata=metadata, usage_metadata=usage)


def _rate_limited(retry_after: float | None = None) -> ModelRateLimitError:
    error = ModelRateLimitError("429 slow down")
    error.retry_after = retry_after  # type: ignore[attr-defined]
    return error


def _ends(flow: Flow, reply: Reply) -> AIMessage | None:
    """Send the last reply; the loop must return (its return value is the answer)."""
    with pytest.raises(StopIteration) as stop:
        flow.send(reply)
    answer: AIMessage | None = stop.value.value
    return answer


def _outcomes(answer: AIMessage | None) -> list[tuple[str, str]]:
    assert answer is not None
    meta = answer.response_metadata["router"]
    return [(a["deployment"], a["outcome"]) for a in meta["attempts"]]


# ---- answers ----------------------------------------------------------------------------------


def test_an_answer_is_recorded_on_the_breaker_and_returned_with_the_metadata() -> None:
    loop = _loop(A, B)
    flow = loop.run()
    assert next(flow) == Allow("a")
    assert flow.send(True) == Call(A)
    message = _answer()
    assert flow.send(Answered(message, 0.2)) == Record("a", failure=False)
    answer = _ends(flow, None)
    assert answer is message
    assert answer.response_metadata["router"]["deployment"] == "a"
    assert answer.response_metadata["router"]["strategy"] == "balanced"
    assert _outcomes(answer) == [("a", "ok")]
    stats = loop.routing.stats.get("a")
    assert (stats.successes, stats.failures) == (1, 0)


def test_a_stream_that_reached_the_caller_ends_the_loop_without_an_answer() -> None:
    flow = _loop(A).run()
    assert next(flow) == Allow("a")
    assert flow.send(True) == Call(A)
    assert flow.send(Streamed(0.3)) == Record("a", failure=False)
    assert _ends(flow, None) is None


def test_the_deadline_rides_on_the_call() -> None:
    loop = _loop(A, timeout=30.0)
    flow = loop.run()
    next(flow)
    call = flow.send(True)
    assert isinstance(call, Call)
    assert call.deadline == loop.deadline
    remaining = call.remaining()
    assert remaining is not None
    assert 29.0 < remaining <= 30.0


# ---- retries and waits ----------------------------------------------------------------------


def test_a_rate_limit_is_retried_after_the_wait_the_provider_asked() -> None:
    flow = _loop(A, B).run()
    next(flow)
    assert flow.send(True) == Call(A)
    failure = Failed(_rate_limited(retry_after=0.25), 0.01)
    assert flow.send(failure) == Record("a", failure=True)
    assert flow.send(None) == Available("a")
    assert flow.send(True) == Wait(0.25)
    assert flow.send(None) == Call(A)
    assert flow.send(Answered(_answer(), 0.2)) == Record("a", failure=False)
    assert _outcomes(_ends(flow, None)) == [("a", "rate_limit"), ("a", "ok")]


def test_without_retry_after_the_wait_is_a_short_backoff() -> None:
    flow = _loop(A).run()
    next(flow)
    flow.send(True)
    flow.send(Failed(_rate_limited(), 0.01))
    flow.send(None)
    wait = flow.send(True)
    assert isinstance(wait, Wait)
    assert 0.025 <= wait.seconds <= 0.05


def test_a_wait_longer_than_allowed_falls_back_at_once() -> None:
    flow = _loop(A, B, max_retry_wait_s=1.0).run()
    next(flow)
    flow.send(True)
    assert flow.send(Failed(_rate_limited(retry_after=30.0), 0.01)) == Record("a", failure=True)
    assert flow.send(None) == Allow("b")  # no Available, no Wait


def test_no_retry_once_the_breaker_opened() -> None:
    flow = _loop(A, B).run()
    next(flow)
    flow.send(True)
    flow.send(Failed(_rate_limited(retry_after=0.1), 0.01))
    assert flow.send(None) == Available("a")
    assert flow.send(False) == Allow("b")


def test_retries_stop_at_max_retries() -> None:
    flow = _loop(A, B, max_retries=1).run()
    next(flow)
    flow.send(True)
    flow.send(Failed(_rate_limited(retry_after=0.0), 0.01))
    flow.send(None)
    flow.send(True)
    assert flow.send(None) == Call(A)  # the one retry
    assert flow.send(Failed(_rate_limited(retry_after=0.0), 0.01)) == Record("a", failure=True)
    assert flow.send(None) == Allow("b")


# ---- fallback -----------------------------------------------------------------------------


def test_a_breaker_that_refuses_is_skipped_and_noted() -> None:
    flow = _loop(A, B).run()
    assert next(flow) == Allow("a")
    assert flow.send(False) == Allow("b")
    assert flow.send(True) == Call(B)
    flow.send(Answered(_answer(), 0.1))
    assert _outcomes(_ends(flow, None)) == [("a", "breaker_open"), ("b", "ok")]


def test_every_failure_raises_one_error_carrying_the_attempts() -> None:
    flow = _loop(A, B, max_retries=0).run()
    next(flow)
    flow.send(True)
    assert flow.send(Failed(ModelAPIError("500"), 0.01)) == Record("a", failure=True)
    assert flow.send(None) == Allow("b")
    flow.send(True)
    flow.send(Failed(ModelAPIError("502"), 0.01))
    with pytest.raises(AllDeploymentsFailedError) as raised:
        flow.send(None)
    assert isinstance(raised.value, ModelAPIError)  # the last failure's LangChain class
    assert [(a.deployment, a.outcome) for a in raised.value.attempts] == [
        ("a", "api"),
        ("b", "api"),
    ]


def test_max_attempts_ends_the_chain() -> None:
    flow = _loop(A, B, max_retries=0, max_attempts=1).run()
    next(flow)
    flow.send(True)
    flow.send(Failed(ModelAPIError("500"), 0.01))
    with pytest.raises(AllDeploymentsFailedError):
        flow.send(None)


def test_a_programming_error_is_neither_retried_nor_counted_on_the_breaker() -> None:
    flow = _loop(A, B).run()
    next(flow)
    flow.send(True)
    assert flow.send(Failed(TypeError("unexpected keyword"), 0.01)) == Allow("b")


def test_a_call_cut_by_the_router_s_timeout_is_not_counted_on_the_breaker() -> None:
    flow = _loop(A, B, timeout=30.0).run()
    next(flow)
    flow.send(True)
    assert flow.send(Failed(TimeoutError(), 0.01, cut=True)) == Allow("b")


def test_a_context_overflow_falls_back_to_a_larger_window_only() -> None:
    small, other, large = _deployment("s", 4096), _deployment("o", 4096), _deployment("l", 32768)
    routing = _routing(small, other, large)
    flow = _loop(small, other, large, routing=routing).run()
    next(flow)
    flow.send(True)
    overflow = Failed(ContextOverflowError("too long"), 0.01)
    assert flow.send(overflow) == Record("s", failure=False)  # it answered: healthy
    assert flow.send(None) == Allow("l")


def test_a_blocked_answer_goes_to_the_content_policy_fallback() -> None:
    flow = _loop(A, B, C, content_policy_fallback=["c"]).run()
    next(flow)
    flow.send(True)
    assert flow.send(Answered(_answer(blocked=True), 0.1)) == Record("a", failure=False)
    assert flow.send(None) == Allow("c")
    flow.send(True)
    flow.send(Answered(_answer(), 0.1))
    assert _outcomes(_ends(flow, None)) == [("a", "blocked"), ("c", "ok")]


def test_a_deployment_on_probation_at_its_limit_waits_behind_the_others() -> None:
    routing = _routing(A, B)
    routing.stats.record("a", ok=False, latency_s=0.1, unhealthy=True)
    routing.stats.started("a")
    routing.stats.started("a")  # probation_max_in_flight=2 calls already out
    flow = _loop(A, B, routing=routing).run()
    assert next(flow) == Allow("b")
    flow.send(True)
    flow.send(Answered(_answer(), 0.1))
    assert _outcomes(_ends(flow, None)) == [("a", "held_back"), ("b", "ok")]


# ---- what is raised at once ---------------------------------------------------------------------


def test_a_caller_s_refusal_gives_the_probe_back_and_is_raised_as_itself() -> None:
    loop = _loop(A, B)
    flow = loop.run()
    next(flow)
    flow.send(True)
    refusal = LedgerUnavailableError("the ledger is down: the budget check fails closed")
    assert loop.routing.stats.in_flight("a") == 1
    assert flow.send(Failed(refusal, 0.01)) == Release("a")
    with pytest.raises(LedgerUnavailableError) as raised:
        flow.send(None)
    assert raised.value is refusal
    assert loop.routing.stats.in_flight("a") == 0  # no outcome recorded, not in flight


def test_a_cancellation_is_raised_at_once() -> None:
    loop = _loop(A, B)
    flow = loop.run()
    next(flow)
    flow.send(True)
    with pytest.raises(asyncio.CancelledError):
        flow.send(Failed(asyncio.CancelledError(), 0.01))
    assert loop.routing.stats.in_flight("a") == 0


# ---- streams --------------------------------------------------------------------------------


def test_a_stream_broken_after_delivery_raises_without_mid_stream_fallback() -> None:
    flow = _loop(A, B).run()
    next(flow)
    flow.send(True)
    broken = Failed(ModelAPIError("connection reset"), 0.2, delivered=3)
    assert flow.send(broken) == Record("a", failure=True)
    with pytest.raises(StreamInterruptedError) as raised:
        flow.send(None)
    assert [(a.deployment, a.outcome) for a in raised.value.attempts] == [("a", "interrupted")]


def test_a_stream_broken_after_delivery_restarts_on_the_next_with_mid_stream_fallback() -> None:
    flow = _loop(A, B, mid_stream_fallback=True).run()
    next(flow)
    flow.send(True)
    flow.send(Failed(ModelAPIError("connection reset"), 0.2, delivered=3))
    assert flow.send(None) == Allow("b")
    assert flow.send(True) == Call(B, restarted=True)


def test_a_stream_that_delivered_part_of_a_tool_call_is_never_restarted() -> None:
    flow = _loop(A, B, mid_stream_fallback=True).run()
    next(flow)
    flow.send(True)
    flow.send(Failed(ModelAPIError("reset"), 0.2, delivered=2, tools=True))
    with pytest.raises(StreamInterruptedError):
        flow.send(None)


def test_a_stream_that_failed_after_its_last_chunk_is_complete() -> None:
    flow = _loop(A, B).run()
    next(flow)
    flow.send(True)
    done = Failed(ModelAPIError("late"), 0.2, delivered=4, complete=True)
    assert flow.send(done) == Record("a", failure=False)
    assert _ends(flow, None) is None


# ---- large inputs -------------------------------------------------------------------------


def test_a_prompt_larger_than_every_window_goes_to_the_large_input_handler() -> None:
    routing = _routing(A, large_input_handler=lambda messages, request: "handled")
    loop = AttemptLoop(routing, Plan(REQUEST, [], frozenset()))
    loop.overflowed = True
    flow = loop.run()
    assert next(flow) == LargeInput(REQUEST)
    answer = _ends(flow, AIMessage(content="handled"))
    assert answer is not None
    assert answer.response_metadata["router"]["large_input"] is True
    assert answer.response_metadata["router"]["deployment"] is None


def test_without_a_timeout_the_call_carries_no_deadline() -> None:
    flow = _loop(A).run()
    next(flow)
    call = flow.send(True)
    assert isinstance(call, Call)
    assert call.remaining() is None


def test_the_router_timeout_running_out_raises_a_timeout_error() -> None:
    loop = _loop(A, B, timeout=30.0)
    flow = loop.run()
    next(flow)
    flow.send(True)
    loop.deadline = 0.0  # the clock has passed it: no further attempt starts
    with pytest.raises(AllDeploymentsFailedError) as raised:
        flow.send(Failed(TimeoutError(), 0.01, cut=True))
    assert isinstance(raised.value, ModelTimeoutError)
    assert [(a.deployment, a.outcome) for a in raised.value.attempts] == [("a", "timeout")]
