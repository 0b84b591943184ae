"""Injected faults end in the right fallback or a clear error, with every attempt recorded."""

from __future__ import annotations

import time
from typing import Any

import pytest
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelRateLimitError,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk

from polyvox.ollama import ChatOllama
from polyvox.router.breaker import BreakerBoard, BreakerConfig, BreakerState
from polyvox.router.deployment import Deployment
from polyvox.router.errors import (
    AllDeploymentsFailedError,
    RouterContextOverflowError,
    StreamInterruptedError,
)
from polyvox.router.router import Router
from polyvox.testing import Emulator, Fault, Reply, ToolCall
from tests.router.conftest import OpenAIFactory, called, outcomes

MINI = "openai/gpt-4o-mini"
BIG = "openai/gpt-4.1"
OVERFLOW = Fault(
    status=400,
    code="context_length_exceeded",
    message="This model's maximum context length is 128000 tokens. However, your messages "
    "resulted in 130412 tokens. Please reduce the length of the messages.",
)
FILTERED = Fault(
    status=400,
    code="content_filter",
    message="The response was filtered due to the prompt triggering Azure OpenAI's content "
    "management policy.",
)


@pytest.fixture
def pair(openai_model: OpenAIFactory) -> Router:
    """gpt-4o-mini first (cheapest), gpt-4.1 second."""
    return Router([openai_model("gpt-4o-mini"), openai_model("gpt-4.1")], strategy="cost")


def _merge(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return merged


# ---- rate limits and Retry-After --------------------------------------------------------------


def test_429_retry_after_is_honoured_on_the_same_deployment(
    pair: Router, emulator: Emulator
) -> None:
    emulator.fail(Fault.rate_limit(retry_after=0.2), times=1, model="gpt-4o-mini")
    start = time.perf_counter()
    answer = pair.invoke("hi")
    elapsed = time.perf_counter() - start
    assert elapsed >= 0.2  # waited what the provider asked
    assert called(emulator) == ["gpt-4o-mini", "gpt-4o-mini"]
    assert outcomes(answer) == [(MINI, "rate_limit"), (MINI, "ok")]
    assert answer.response_metadata["router"]["attempts"][0]["retry_after"] == 0.2


def test_429_asking_longer_than_the_cap_falls_back_at_once(
    pair: Router, emulator: Emulator
) -> None:
    emulator.fail(Fault.rate_limit(retry_after=30), times=None, model="gpt-4o-mini")
    start = time.perf_counter()
    answer = pair.invoke("hi")
    assert time.perf_counter() - start < 5  # did not wait 30 s (nor the 5 s cap)
    assert outcomes(answer) == [(MINI, "rate_limit"), (BIG, "ok")]
    assert answer.response_metadata["router"]["attempts"][0]["retry_after"] == 30


async def test_429_everywhere_raises_a_rate_limit_error_with_attempts(
    pair: Router, emulator: Emulator
) -> None:
    emulator.fail(Fault.rate_limit(retry_after_ms=10, retry_after=None), times=None)
    with pytest.raises(AllDeploymentsFailedError) as info:
        await pair.ainvoke("hi")
    error = info.value
    assert isinstance(error, ModelRateLimitError)  # catchable as LangChain's class
    assert [(a.deployment, a.outcome) for a in error.attempts] == [
        (MINI, "rate_limit"),
        (MINI, "rate_limit"),
        (BIG, "rate_limit"),
        (BIG, "rate_limit"),
    ]
    assert error.attempts[0].retry_after == pytest.approx(0.01)
    assert isinstance(error.last_error, ModelRateLimitError)
    assert "all 4 attempts failed" in str(error)


# ---- server errors and timeouts -------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_retries_then_falls_back(
    pair: Router, emulator: Emulator, status: int
) -> None:
    emulator.fail(Fault.server_error(status), times=None, model="gpt-4o-mini")
    answer = pair.invoke("hi")
    assert answer.text == "You said: hi"
    assert outcomes(answer) == [(MINI, "api"), (MINI, "api"), (BIG, "ok")]
    assert called(emulator) == ["gpt-4o-mini", "gpt-4o-mini", "gpt-4.1"]


async def test_503_async_falls_back(pair: Router, emulator: Emulator) -> None:
    emulator.fail(Fault.server_error(503), times=None, model="gpt-4o-mini")
    answer = await pair.ainvoke("hi")
    assert outcomes(answer)[-1] == (BIG, "ok")


def test_timeout_falls_back(openai_model: OpenAIFactory, emulator: Emulator) -> None:
    router = Router(
        [openai_model("gpt-4o-mini", timeout=0.2), openai_model("gpt-4.1")],
        strategy="cost",
        max_retries=0,
    )
    emulator.fail(Fault.slow(1.0), times=None, model="gpt-4o-mini")
    answer = router.invoke("hi")
    assert outcomes(answer) == [(MINI, "timeout"), (BIG, "ok")]
    assert answer.response_metadata["router"]["attempts"][0]["latency_s"] >= 0.2


def test_max_attempts_and_fallbacks_off(openai_model: OpenAIFactory, emulator: Emulator) -> None:
    models = [openai_model("gpt-4o-mini"), openai_model("gpt-4o"), openai_model("gpt-4.1")]
    emulator.fail(Fault.server_error(500), times=None)
    order = _fixed([MINI, "openai/gpt-4o", BIG])
    with pytest.raises(AllDeploymentsFailedError) as info:
        Router(models, strategy=order, max_retries=0, max_attempts=2).invoke("hi")
    assert [a.deployment for a in info.value.attempts] == [MINI, "openai/gpt-4o"]
    assert isinstance(info.value, ModelAPIError)
    emulator.requests.clear()
    with pytest.raises(AllDeploymentsFailedError) as info:
        Router(models, strategy=order, max_retries=1, fallbacks=False).invoke("hi")
    assert [a.deployment for a in info.value.attempts] == [MINI, MINI]


def test_a_request_one_provider_rejects_goes_to_the_next(pair: Router, emulator: Emulator) -> None:
    emulator.fail(Fault(status=400, message="unsupported parameter"), times=1, model="gpt-4o-mini")
    answer = pair.invoke("hi")
    assert outcomes(answer) == [(MINI, "invalid_request"), (BIG, "ok")]
    emulator.fail(Fault(status=400, message="bad input"), times=None)
    with pytest.raises(AllDeploymentsFailedError) as info:
        pair.invoke("hi")
    assert isinstance(info.value, ModelInvalidRequestError)
    assert [a.outcome for a in info.value.attempts] == ["invalid_request", "invalid_request"]


# ---- streams --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault", [Fault.broken_stream(after=1), Fault.stream_error(after=1), Fault.server_error(502)]
)
def test_stream_failing_before_the_first_chunk_falls_back(
    pair: Router, emulator: Emulator, fault: Fault
) -> None:
    emulator.fail(fault, times=None, model="gpt-4o-mini")
    chunks = list(pair.stream("fall back please"))
    merged = _merge(chunks)
    assert merged.text == "You said: fall back please"  # nothing of the broken stream
    assert merged.response_metadata["router"]["deployment"] == BIG
    assert outcomes(merged)[-1] == (BIG, "ok")
    assert {d for d, o in outcomes(merged) if o != "ok"} == {MINI}


async def test_astream_failing_before_the_first_chunk_falls_back(
    pair: Router, emulator: Emulator
) -> None:
    emulator.fail(Fault.broken_stream(after=1), times=None, model="gpt-4o-mini")
    chunks = [c async for c in pair.astream("async fallback")]
    assert "".join(c.text for c in chunks) == "You said: async fallback"
    assert chunks[-1].response_metadata["router"]["deployment"] == BIG


def test_stream_broken_after_the_first_chunk_raises(pair: Router, emulator: Emulator) -> None:
    emulator.fail(Fault.broken_stream(after=4), times=None, model="gpt-4o-mini")
    seen: list[AIMessageChunk] = []
    with pytest.raises(StreamInterruptedError) as info:
        seen.extend(pair.stream("a long answer that will break midway"))
    assert "".join(c.text for c in seen)  # some text had been delivered
    error = info.value
    assert isinstance(error, ModelConnectionError)
    assert isinstance(error, AllDeploymentsFailedError)
    assert [(a.deployment, a.outcome) for a in error.attempts] == [(MINI, "interrupted")]
    assert "mid_stream_fallback" in str(error)
    assert called(emulator) == ["gpt-4o-mini"]  # no fallback after delivery


async def test_astream_error_event_after_the_first_chunk_raises(
    pair: Router, emulator: Emulator
) -> None:
    emulator.fail(Fault.stream_error(after=4), times=None, model="gpt-4o-mini")
    with pytest.raises(StreamInterruptedError) as info:
        [c async for c in pair.astream("a long answer that will break midway")]
    assert isinstance(info.value, ModelAPIError)


def test_mid_stream_fallback_restarts_and_says_so(pair: Router, emulator: Emulator) -> None:
    router = pair.model_copy(update={"mid_stream_fallback": True})
    emulator.fail(Fault.broken_stream(after=4), times=None, model="gpt-4o-mini")
    chunks = list(router.stream("restart me"))
    merged = _merge(chunks)
    meta = merged.response_metadata["router"]
    assert meta["deployment"] == BIG
    (restart,) = meta["restarts"]
    assert restart["from"] == MINI
    assert restart["to"] == BIG
    assert restart["after_chunks"] >= 1
    assert outcomes(merged) == [(MINI, "interrupted"), (BIG, "ok")]
    # Documented: the caller gets the first deployment's partial text, then the restarted
    # answer; every chunk of the restarted stream is marked so it can drop the partial.
    partial = [c for c in chunks if not c.response_metadata.get("router_restart")]
    restarted = [c for c in chunks if c.response_metadata.get("router_restart")]
    assert chunks == [*partial, *restarted]  # unmarked first, then marked
    assert len(partial) == restart["after_chunks"]
    assert "".join(c.text for c in restarted) == "You said: restart me"
    assert "You said: restart me".startswith("".join(c.text for c in partial))
    assert merged.text == "".join(c.text for c in partial) + "You said: restart me"
    assert merged.response_metadata["router_restart"] is True


async def test_mid_stream_fallback_never_restarts_after_a_tool_call_chunk(
    pair: Router, emulator: Emulator
) -> None:
    def lookup(query: str) -> str:
        """Look something up."""
        return query

    router = pair.model_copy(update={"mid_stream_fallback": True}).bind_tools([lookup])
    emulator.script(Reply(tool_calls=[ToolCall("lookup", {"query": "alpha beta gamma"})]))
    emulator.fail(Fault.broken_stream(after=3), times=None, model="gpt-4o-mini")
    seen: list[Any] = []

    async def consume() -> None:
        async for chunk in router.astream("look it up"):
            seen.append(chunk)

    with pytest.raises(StreamInterruptedError, match="Part of a tool call was delivered") as info:
        await consume()
    assert any(c.tool_call_chunks for c in seen)
    assert [(a.deployment, a.outcome) for a in info.value.attempts] == [(MINI, "interrupted")]
    assert called(emulator) == ["gpt-4o-mini"]


async def _drain(chunks: Any) -> list[Any]:
    return [c async for c in chunks]


class _CompleteThenBroken(BaseChatModel):
    """Streams a whole answer (its last chunk marked last), then raises."""

    @property
    def _llm_type(self) -> str:
        return "complete-then-broken"

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
        raise NotImplementedError

    def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
        from langchain_core.outputs import ChatGenerationChunk

        yield ChatGenerationChunk(message=AIMessageChunk(content="whole "))
        yield ChatGenerationChunk(message=AIMessageChunk(content="answer", chunk_position="last"))
        raise ModelConnectionError("connection reset after the end")


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_stream_failing_after_its_last_chunk_is_complete(
    openai_model: OpenAIFactory, emulator: Emulator, asynchronous: bool
) -> None:
    router = Router(
        [Deployment.of(_CompleteThenBroken(), name="done"), openai_model("gpt-4.1")],
        strategy=_fixed(["done", BIG]),
        mid_stream_fallback=True,
    )
    chunks = [c async for c in router.astream("hi")] if asynchronous else list(router.stream("hi"))
    merged = _merge(chunks)
    assert merged.text == "whole answer"
    assert outcomes(merged) == [("done", "ok")]
    assert "restarts" not in merged.response_metadata["router"]
    assert called(emulator) == []  # no restart
    assert router.breakers.status("done").failures == 0


async def test_router_timeout_bounds_astream_until_the_first_chunk(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    from langchain_core.exceptions import ModelTimeoutError

    router = Router(
        [openai_model("gpt-4o-mini")],
        timeout=0.3,
        breakers=BreakerBoard(BreakerConfig(failure_threshold=1)),
    )
    emulator.fail(Fault.slow(1.5), times=None)
    for streaming in (True, False):
        start = time.perf_counter()
        call = _drain(router.astream("hi")) if streaming else router.ainvoke("hi")
        with pytest.raises(AllDeploymentsFailedError) as info:
            await call
        assert time.perf_counter() - start < 1.0
        assert isinstance(info.value, ModelTimeoutError)
        ((deployment, outcome, error),) = [
            (a.deployment, a.outcome, a.error) for a in info.value.attempts
        ]
        assert (deployment, outcome) == (MINI, "timeout")
        assert error == "cut by the router's timeout of 0.3 s"
        # the router's own deadline says nothing about the deployment's health
        assert router.breakers.state(MINI) is BreakerState.CLOSED
        assert router.breakers.status(MINI).failures == 0


async def test_router_timeout_does_not_cut_a_flowing_stream(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    router = Router([openai_model("gpt-4o-mini")], timeout=0.3)
    emulator.fail(Fault(chunk_delay=0.05), times=None)
    start = time.perf_counter()
    chunks = [c async for c in router.astream("a stream slower than the router's timeout")]
    assert time.perf_counter() - start > 0.3
    assert _merge(chunks).text == "You said: a stream slower than the router's timeout"


# ---- content policy ---------------------------------------------------------------------------


def test_blocked_answer_without_fallback_is_returned_marked(
    pair: Router, emulator: Emulator
) -> None:
    emulator.fail(Fault.content_policy(), times=1, model="gpt-4o-mini")
    answer = pair.invoke("something the filter dislikes")
    assert answer.response_metadata["blocked"] is True
    assert outcomes(answer) == [(MINI, "blocked")]
    assert called(emulator) == ["gpt-4o-mini"]


def test_blocked_answer_goes_to_the_content_policy_fallback(
    openai_model: OpenAIFactory, ollama: ChatOllama, emulator: Emulator
) -> None:
    router = Router(
        [openai_model("gpt-4o-mini"), openai_model("gpt-4.1"), ollama],
        strategy=_fixed([MINI, BIG, "ollama/llama3.2"]),
        content_policy_fallback=["ollama/llama3.2"],
    )
    emulator.fail(Fault.content_policy(), times=None, model="gpt-4o-mini")
    answer = router.invoke("blocked upstream")
    assert answer.text == "You said: blocked upstream"
    assert answer.response_metadata["blocked"] is False
    assert outcomes(answer) == [(MINI, "blocked"), ("ollama/llama3.2", "ok")]
    assert called(emulator) == ["gpt-4o-mini", "llama3.2"]  # not gpt-4.1


def test_content_filter_error_goes_to_the_content_policy_fallback(
    openai_model: OpenAIFactory, ollama: ChatOllama, emulator: Emulator
) -> None:
    router = Router(
        [openai_model("gpt-4o-mini"), openai_model("gpt-4.1"), ollama],
        strategy=_fixed([MINI, BIG, "ollama/llama3.2"]),
        content_policy_fallback=["ollama/llama3.2"],
    )
    emulator.fail(FILTERED, times=None, model="gpt-4o-mini")
    answer = router.invoke("filtered prompt")
    assert outcomes(answer) == [(MINI, "content_filter"), ("ollama/llama3.2", "ok")]


def test_content_filter_error_without_fallback_goes_on_in_order(
    pair: Router, emulator: Emulator
) -> None:
    emulator.fail(FILTERED, times=None, model="gpt-4o-mini")
    answer = pair.invoke("filtered prompt")
    assert outcomes(answer) == [(MINI, "content_filter"), (BIG, "ok")]


def test_blocked_stream_with_nothing_delivered_falls_back(pair: Router, emulator: Emulator) -> None:
    router = pair.model_copy(update={"content_policy_fallback": [BIG]})
    emulator.fail(Fault.content_policy(), times=None, model="gpt-4o-mini")
    merged = _merge(list(router.stream("blocked stream")))
    assert merged.text == "You said: blocked stream"
    assert outcomes(merged) == [(MINI, "blocked"), (BIG, "ok")]


def test_every_answer_blocked_returns_the_last_blocked_one(
    pair: Router, emulator: Emulator
) -> None:
    router = pair.model_copy(update={"content_policy_fallback": [BIG]})
    emulator.fail(Fault.content_policy(), times=None)
    answer = router.invoke("blocked everywhere")
    assert answer.response_metadata["blocked"] is True
    assert outcomes(answer) == [(MINI, "blocked"), (BIG, "blocked")]
    assert answer.response_metadata["router"]["deployment"] == BIG


# ---- context overflow -----------------------------------------------------------------------


def test_context_overflow_falls_back_to_a_larger_window(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    router = Router(
        [openai_model("gpt-4o-mini"), openai_model("gpt-4o"), openai_model("gpt-4.1")],
        strategy=_fixed([MINI, "openai/gpt-4o", BIG]),
    )
    emulator.fail(OVERFLOW, times=None, model="gpt-4o-mini")
    answer = router.invoke("long input")
    # gpt-4o has the same 128K window as gpt-4o-mini: skipped for gpt-4.1's 1M
    assert outcomes(answer) == [(MINI, "context_overflow"), (BIG, "ok")]
    assert called(emulator) == ["gpt-4o-mini", "gpt-4.1"]


def test_context_overflow_uses_the_typed_fallback(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    router = Router(
        [openai_model("gpt-4o-mini"), openai_model("gpt-4o"), openai_model("gpt-4.1")],
        strategy=_fixed([MINI, BIG, "openai/gpt-4o"]),
        context_overflow_fallback=["openai/gpt-4o"],
    )
    emulator.fail(OVERFLOW, times=None, model="gpt-4o-mini")
    answer = router.invoke("long input")
    assert outcomes(answer) == [(MINI, "context_overflow"), ("openai/gpt-4o", "ok")]


def test_context_overflow_with_no_larger_window_raises_overflow(
    pair: Router, emulator: Emulator
) -> None:
    emulator.fail(OVERFLOW, times=None)
    with pytest.raises(AllDeploymentsFailedError) as info:
        pair.invoke("long input")
    assert isinstance(info.value, ContextOverflowError)
    assert [(a.deployment, a.outcome) for a in info.value.attempts] == [
        (MINI, "context_overflow"),
        (BIG, "context_overflow"),
    ]


def test_prompt_larger_than_a_small_window_skips_it(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    router = Router(
        [openai_model("gpt-3.5-turbo"), openai_model("gpt-4o-mini")],
        strategy=_fixed(["openai/gpt-3.5-turbo", MINI]),
    )
    answer = router.invoke("word " * 30_000)  # ~50K tokens estimated: more than 16K
    assert answer.response_metadata["router"]["deployment"] == MINI
    assert called(emulator) == ["gpt-4o-mini"]
    assert "window 16385 tokens" in router.explain("word " * 30_000).dropped["openai/gpt-3.5-turbo"]


def test_prompt_larger_than_every_window_raises_naming_the_largest(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    router = Router([openai_model("gpt-3.5-turbo"), openai_model("gpt-4o-mini")])
    with pytest.raises(RouterContextOverflowError) as info:
        router.invoke("word " * 100_000)
    error = info.value
    assert isinstance(error, ContextOverflowError)
    assert error.largest_window == 128000
    assert "128000 (openai/gpt-4o-mini)" in str(error)
    assert "large_input_handler" in str(error)
    assert called(emulator) == []


def test_runtime_overflow_without_larger_window_uses_the_large_input_handler(
    pair: Router, emulator: Emulator
) -> None:
    router = pair.model_copy(update={"large_input_handler": lambda messages, request: "rlm"})
    emulator.fail(OVERFLOW, times=None)
    answer = router.invoke("long input")
    assert answer.text == "rlm"
    meta = answer.response_metadata["router"]
    assert meta["large_input"] is True
    assert [a["outcome"] for a in meta["attempts"]] == ["context_overflow", "context_overflow"]


def _fixed(order: list[str]) -> Any:
    """A strategy function that ranks deployments in a fixed order of names."""

    def rank(candidates: Any, request: Any, stats: Any) -> list[Any]:
        return sorted(candidates, key=lambda d: order.index(d.name))

    return rank


# ---- the router's own timeout -----------------------------------------------------------------


async def test_router_timeout_cancels_async_attempts(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    from langchain_core.exceptions import ModelTimeoutError

    router = Router(
        [openai_model("gpt-4o-mini"), openai_model("gpt-4.1")], strategy="cost", timeout=0.3
    )
    emulator.fail(Fault.slow(2.0), times=None)
    start = time.perf_counter()
    with pytest.raises(AllDeploymentsFailedError) as info:
        await router.ainvoke("hi")
    assert time.perf_counter() - start < 1.5
    assert isinstance(info.value, ModelTimeoutError)
    assert "timeout of 0.3 s ran out after 1 attempts" in str(info.value)
    assert [(a.deployment, a.outcome) for a in info.value.attempts] == [(MINI, "timeout")]


def test_router_timeout_stops_fallback_when_spent(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    from langchain_core.exceptions import ModelTimeoutError

    router = Router(
        [openai_model("gpt-4o-mini", timeout=0.3), openai_model("gpt-4.1")],
        strategy="cost",
        timeout=0.15,
    )
    emulator.fail(Fault.slow(1.0), times=None, model="gpt-4o-mini")
    with pytest.raises(AllDeploymentsFailedError) as info:
        router.invoke("hi")
    assert isinstance(info.value, ModelTimeoutError)
    assert called(emulator) == ["gpt-4o-mini"]  # no retry, no fallback after the deadline


# ---- programming errors -------------------------------------------------------------------------


class _Buggy(BaseChatModel):
    """A third-party model whose integration has a bug: every call raises ``error``."""

    error: Exception
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "buggy"

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        TypeError("got an unexpected keyword argument 'parallel_tool_calls'"),
        KeyError("choices"),
        AttributeError("'NoneType' object has no attribute 'content'"),
        ValueError("bad value"),
    ],
)
async def test_programming_errors_fall_back_without_retry_or_breaker(
    openai_model: OpenAIFactory, emulator: Emulator, error: Exception
) -> None:
    buggy = _Buggy(error=error)
    router = Router(
        [Deployment.of(buggy, name="buggy"), openai_model("gpt-4.1")],
        strategy=_fixed(["buggy", BIG]),
        max_retries=2,
        breakers=BreakerBoard(BreakerConfig(failure_threshold=2)),
    )
    for call in range(3):
        answer = router.invoke("hi") if call % 2 else await router.ainvoke("hi")
        assert outcomes(answer) == [("buggy", "programming_error"), (BIG, "ok")]
    chunks = list(router.stream("hi"))
    assert outcomes(_merge(chunks))[0] == ("buggy", "programming_error")
    assert buggy.calls == 4  # once per call: no retry
    assert router.breakers.state("buggy") is BreakerState.CLOSED
    assert router.stats.get("buggy").failures == 4


def test_a_provider_value_error_with_a_status_is_still_a_provider_error() -> None:
    from polyvox.router.errors import is_programming_error

    class HTTPError(ValueError):
        status_code = 503

    assert not is_programming_error(HTTPError("unavailable"))
    assert not is_programming_error(ModelAPIError("boom"))
    assert is_programming_error(TypeError("x"))


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_no_retry_once_the_breaker_opened(
    openai_model: OpenAIFactory, emulator: Emulator, asynchronous: bool
) -> None:
    router = Router(
        [openai_model("gpt-4o-mini"), openai_model("gpt-4.1")],
        strategy="cost",
        max_retries=2,
        breakers=BreakerBoard(BreakerConfig(failure_threshold=1)),
    )
    emulator.fail(Fault.server_error(500), times=None, model="gpt-4o-mini")
    answer = await router.ainvoke("hi") if asynchronous else router.invoke("hi")
    assert outcomes(answer) == [(MINI, "api"), (BIG, "ok")]
    assert called(emulator) == ["gpt-4o-mini", "gpt-4.1"]
    assert router.breakers.state(MINI) is BreakerState.OPEN


def test_a_malformed_ollama_answer_counts_against_the_deployment(
    emulator: Emulator, openai_model: Any, ollama: ChatOllama
) -> None:
    """A 200 that is not an Ollama response is the deployment's failure, not a bug."""
    emulator.fail(Fault.malformed_body(), times=None, model="llama3.2")
    board = BreakerBoard(BreakerConfig(failure_threshold=3))

    def local_first(candidates: Any, request: Any, stats: Any) -> list[Any]:
        return sorted(candidates, key=lambda d: not d.local)

    router = Router(
        [openai_model("gpt-4o-mini"), ollama], strategy=local_first, max_retries=0, breakers=board
    )
    for _ in range(10):
        assert router.invoke("hi").response_metadata["model_name"] == "gpt-4o-mini"
    broken = sum(1 for r in emulator.requests if r.path == "/api/chat")
    assert broken == 3, "the breaker opened after 3 failures"
    assert board.state(ollama_name(router)) is BreakerState.OPEN


def ollama_name(router: Router) -> str:
    return next(d.name for d in router.deployments if d.local)
