"""The Router chat model: choosing, calling, metadata, statistics, callbacks (emulator)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.outputs import LLMResult

from polyvox.ollama import ChatOllama
from polyvox.router.breaker import BreakerBoard, BreakerConfig
from polyvox.router.deployment import Deployment
from polyvox.router.errors import NoDeploymentError
from polyvox.router.router import Router
from polyvox.testing import Emulator, Reply, Usage
from tests.router.conftest import OpenAIFactory, called


@pytest.fixture
def router(openai_model: OpenAIFactory) -> Router:
    return Router([openai_model("gpt-4o-mini"), openai_model("gpt-4.1")], strategy="cost")


def test_invoke_answers_from_the_ranked_first_and_says_so(
    router: Router, emulator: Emulator
) -> None:
    answer = router.invoke("What is routing?")
    assert answer.text == "You said: What is routing?"
    assert called(emulator) == ["gpt-4o-mini"]  # the cheaper of the two
    meta = answer.response_metadata
    assert meta["model_name"] == "gpt-4o-mini"  # the deployment's own metadata is kept
    assert meta["model_provider"] == "openai"
    assert meta["router"]["deployment"] == "openai/gpt-4o-mini"
    assert meta["router"]["strategy"] == "cost"
    (attempt,) = meta["router"]["attempts"]
    assert attempt["outcome"] == "ok"
    assert attempt["latency_s"] > 0
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["total_tokens"] > 0


async def test_ainvoke(router: Router, emulator: Emulator) -> None:
    answer = await router.ainvoke([HumanMessage("async hello")])
    assert answer.text == "You said: async hello"
    assert answer.response_metadata["router"]["deployment"] == "openai/gpt-4o-mini"
    assert called(emulator) == ["gpt-4o-mini"]


def test_stream_puts_router_metadata_on_the_last_chunk(router: Router, emulator: Emulator) -> None:
    chunks = list(router.stream("stream these words please"))
    assert len(chunks) > 3
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert merged.text == "You said: stream these words please"
    assert merged.response_metadata["router"]["deployment"] == "openai/gpt-4o-mini"
    assert merged.response_metadata["model_name"] == "gpt-4o-mini"
    assert [a["outcome"] for a in merged.response_metadata["router"]["attempts"]] == ["ok"]
    assert merged.usage_metadata is not None
    body = emulator.requests[-1].json
    assert body["stream"] is True


async def test_astream(router: Router) -> None:
    chunks = [c async for c in router.astream("async stream")]
    text = "".join(c.text for c in chunks)
    assert text == "You said: async stream"
    assert chunks[-1].response_metadata["router"]["deployment"] == "openai/gpt-4o-mini"


def test_streaming_field_streams_from_the_deployment_on_invoke(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    router = Router([openai_model("gpt-4o-mini")], streaming=True)
    answer = router.invoke("streamed inside")
    assert answer.text == "You said: streamed inside"
    assert answer.response_metadata["router"]["deployment"] == "openai/gpt-4o-mini"
    assert emulator.requests[-1].json["stream"] is True


def test_batch_routes_each_input(router: Router, emulator: Emulator) -> None:
    answers = router.batch(["one", "two", "three"])
    assert sorted(a.text for a in answers) == ["You said: one", "You said: three", "You said: two"]
    assert called(emulator) == ["gpt-4o-mini"] * 3


def test_strategy_decides_the_order(openai_model: OpenAIFactory, emulator: Emulator) -> None:
    models = [openai_model("gpt-4o-mini"), openai_model("gpt-4.1")]
    assert Router(models, strategy="quality").invoke("q").response_metadata["model_name"] == (
        "gpt-4.1"
    )
    assert Router(models, strategy="cost").invoke("q").response_metadata["model_name"] == (
        "gpt-4o-mini"
    )
    assert called(emulator) == ["gpt-4.1", "gpt-4o-mini"]


def test_a_user_strategy_function(openai_model: OpenAIFactory, emulator: Emulator) -> None:
    def last_first(candidates: Any, request: Any, stats: Any) -> list[Any]:
        return list(reversed(candidates))

    router = Router([openai_model("gpt-4o-mini"), openai_model("gpt-4o")], strategy=last_first)
    router.invoke("hi")
    assert called(emulator) == ["gpt-4o"]


def test_pinned_deployment_by_kwarg_and_by_metadata(router: Router, emulator: Emulator) -> None:
    router.invoke("a", deployment="openai/gpt-4.1")
    router.invoke("b", config={"metadata": {"deployment": "openai/gpt-4.1"}})
    assert called(emulator) == ["gpt-4.1", "gpt-4.1"]
    with pytest.raises(NoDeploymentError, match="pins deployment 'nope'"):
        router.invoke("c", deployment="nope")


def test_tier_constraint(router: Router, emulator: Emulator) -> None:
    answer = router.invoke("hard question", tier="powerful")
    assert answer.response_metadata["router"]["deployment"] == "openai/gpt-4.1"
    with pytest.raises(ValueError, match="unknown tier 'huge'"):
        router.invoke("x", tier="huge")


def test_constraint_keys_never_reach_the_provider(router: Router, emulator: Emulator) -> None:
    router.invoke("x", tier="fast", sensitivity="internal", max_cost=1, agent_id="a1")
    body = emulator.requests[-1].json
    for key in ("tier", "sensitivity", "max_cost", "agent_id"):
        assert key not in body
        assert key not in (body.get("extra_body") or {})


def test_router_defaults_reach_the_deployment(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    router = Router([openai_model("gpt-4o-mini")], max_tokens=50, temperature=0.3, stop=["END"])
    router.invoke("x")
    body = emulator.requests[-1].json
    assert body["max_completion_tokens"] == 50
    assert body["temperature"] == 0.3
    assert body["stop"] == ["END"]
    router.invoke("y", max_tokens=7, stop=["STOP"])
    body = emulator.requests[-1].json
    assert body["max_completion_tokens"] == 7
    assert body["stop"] == ["STOP"]


def test_breaker_open_deployment_is_skipped(router: Router, emulator: Emulator) -> None:
    board = BreakerBoard(BreakerConfig(failure_threshold=1, reset_timeout_s=60))
    router = router.model_copy(update={"breakers": board})
    board.record_failure("openai/gpt-4o-mini")
    answer = router.invoke("x")
    assert answer.response_metadata["router"]["deployment"] == "openai/gpt-4.1"
    assert called(emulator) == ["gpt-4.1"]
    decision = router.explain("x")
    assert decision.dropped == {"openai/gpt-4o-mini": "circuit breaker open"}
    board.record_failure("openai/gpt-4.1")
    with pytest.raises(NoDeploymentError) as info:
        router.invoke("x")
    assert info.value.reasons == {
        "openai/gpt-4o-mini": "circuit breaker open",
        "openai/gpt-4.1": "circuit breaker open",
    }


def test_failures_open_the_breaker_and_success_is_recorded(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    from polyvox.testing import Fault

    board = BreakerBoard(BreakerConfig(failure_threshold=2, reset_timeout_s=60))
    router = Router(
        [openai_model("gpt-4o-mini"), openai_model("gpt-4.1")],
        strategy="cost",
        breakers=board,
        max_retries=0,
    )
    emulator.fail(Fault.server_error(500), times=None, model="gpt-4o-mini")
    for _ in range(2):
        assert router.invoke("x").response_metadata["model_name"] == "gpt-4.1"
    assert board.state("openai/gpt-4o-mini").value == "open"
    router.invoke("x")  # no longer tried
    assert called(emulator) == ["gpt-4o-mini", "gpt-4.1", "gpt-4o-mini", "gpt-4.1", "gpt-4.1"]


def test_stats_per_deployment_and_agent(router: Router, emulator: Emulator) -> None:
    emulator.script(Reply("a", usage=Usage(prompt_tokens=1000, completion_tokens=500)))
    router.invoke("x", config={"metadata": {"agent_id": "planner"}})
    router.invoke("y", agent_id="critic")
    stats = router.stats.get("openai/gpt-4o-mini")
    assert stats.calls == 2
    assert stats.successes == 2
    assert stats.input_tokens >= 1000
    # gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output
    assert stats.total_cost_usd >= Decimal("0.00015") + Decimal("0.0003")
    agents = router.stats.by_agent()
    assert set(agents) == {"planner", "critic"}
    assert agents["planner"]["openai/gpt-4o-mini"].calls == 1


def test_deployments_accept_models_mappings_and_deployment_objects(
    openai_model: OpenAIFactory, ollama: ChatOllama
) -> None:
    router = Router(
        deployments=[
            openai_model("gpt-4o-mini"),
            {"model": openai_model("gpt-4o"), "name": "main", "weight": 2.0, "tags": {"eu"}},
            Deployment.of(ollama, name="local"),
        ]
    )
    names = [d.name for d in router.deployments]
    assert names == ["openai/gpt-4o-mini", "main", "local"]
    assert router.deployments[1].weight == 2.0
    assert router.deployments[2].local
    assert router.profile is not None
    assert router.profile["max_input_tokens"] == 131072
    assert router.profile["tool_calling"] is True


def test_constructor_errors_name_the_problem(openai_model: OpenAIFactory) -> None:
    model = openai_model("gpt-4o-mini")
    with pytest.raises(ValueError, match="two deployments are named 'openai/gpt-4o-mini'"):
        Router([model, openai_model("gpt-4o-mini")])
    with pytest.raises(ValueError, match="content_policy_fallback names unknown deployments"):
        Router([model], content_policy_fallback=["ghost"])
    with pytest.raises(ValueError, match="language_routes names unknown"):
        Router([model], language_routes={"pl": "bielik"})
    with pytest.raises(ValueError, match="unknown routing strategy 'fastest'"):
        Router([model], strategy="fastest")
    with pytest.raises(ValueError, match="unknown data sensitivity"):
        Router([model], default_sensitivity="secret")
    with pytest.raises(TypeError, match="each deployment must be a chat model"):
        Router(["gpt-4o"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="extra"):
        Router([model], not_a_field=1)


class _Recorder(BaseCallbackHandler):
    """Records every chat model run: its provider, model, parent and tags."""

    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []
        self.ends: list[UUID] = []
        self.tokens: dict[UUID, int] = {}

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        meta = metadata or {}
        self.starts.append(
            {
                "run_id": run_id,
                "parent": parent_run_id,
                "provider": meta.get("ls_provider"),
                "model": meta.get("ls_model_name"),
                "tags": tags or [],
                "agent": meta.get("agent_id"),
            }
        )

    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.tokens[run_id] = self.tokens.get(run_id, 0) + 1

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        self.ends.append(run_id)


def _assert_nested(recorder: _Recorder) -> tuple[dict[str, Any], dict[str, Any]]:
    router_run, child = recorder.starts
    assert router_run["provider"] == "polyvox-router"
    assert child["provider"] == "openai"
    assert child["model"] == "gpt-4o-mini"
    assert child["parent"] == router_run["run_id"]
    assert "nostream" in child["tags"]
    assert set(recorder.ends) == {router_run["run_id"], child["run_id"]}
    return router_run, child


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_deployment_runs_as_a_child_run(router: Router, mode: str) -> None:
    recorder = _Recorder()
    config: Any = {"callbacks": [recorder], "metadata": {"agent_id": "a7"}}
    if mode == "invoke":
        router.invoke("x", config=config)
    else:
        list(router.stream("x", config=config))
    router_run, child = _assert_nested(recorder)
    assert child["agent"] == "a7"  # metadata is inherited by the deployment's run
    if mode == "stream":
        assert recorder.tokens[router_run["run_id"]] > 1


@pytest.mark.parametrize("mode", ["ainvoke", "astream"])
async def test_deployment_runs_as_a_child_run_async(router: Router, mode: str) -> None:
    recorder = _Recorder()
    config: Any = {"callbacks": [recorder]}
    if mode == "ainvoke":
        await router.ainvoke("x", config=config)
    else:
        [c async for c in router.astream("x", config=config)]
    _assert_nested(recorder)


def test_streaming_handler_on_invoke_still_nests_the_child(router: Router) -> None:
    """invoke() with a streaming handler goes through _stream; the child must stay nested."""
    from langchain_core.tracers._streaming import _StreamingCallbackHandler

    class StreamingRecorder(_Recorder, _StreamingCallbackHandler):  # type: ignore[type-arg]
        def tap_output_iter(self, run_id: UUID, output: Any) -> Any:
            return output

        def tap_output_aiter(self, run_id: UUID, output: Any) -> Any:
            return output

    recorder = StreamingRecorder()
    answer = router.invoke("streamed invoke", config={"callbacks": [recorder]})
    assert answer.text == "You said: streamed invoke"
    assert answer.response_metadata["router"]["deployment"] == "openai/gpt-4o-mini"
    _assert_nested(recorder)


def test_large_input_handler(openai_model: OpenAIFactory, emulator: Emulator) -> None:
    seen: list[int] = []

    def handler(messages: list[Any], request: Any) -> str:
        seen.append(request.estimated_input_tokens)
        return "summarised elsewhere"

    small = openai_model("gpt-3.5-turbo")  # a 16K window
    router = Router([small], large_input_handler=handler)
    answer = router.invoke("word " * 40_000)
    assert answer.text == "summarised elsewhere"
    assert answer.response_metadata["router"]["large_input"] is True
    assert answer.response_metadata["router"]["deployment"] is None
    assert len(seen) == 1
    assert seen[0] > 16_385
    assert called(emulator) == []


async def test_large_input_runnable_handler_async(openai_model: OpenAIFactory) -> None:
    from langchain_core.runnables import RunnableLambda

    async def answer(messages: list[Any]) -> AIMessage:
        return AIMessage(f"{len(messages)} message(s) handled")

    router = Router([openai_model("gpt-3.5-turbo")], large_input_handler=RunnableLambda(answer))
    result = await router.ainvoke("word " * 40_000)
    assert result.text == "1 message(s) handled"
    chunks = [c async for c in router.astream("word " * 40_000)]
    assert "".join(c.text for c in chunks) == "1 message(s) handled"


@pytest.mark.redis
async def test_breakers_shared_through_redis(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    """Two routers (as in two processes) share breaker state; the async path reads it natively."""
    import os
    import uuid

    import redis

    from polyvox.testing import Fault

    url = os.environ.get("POLYVOX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"polyvox-test:router:{uuid.uuid4().hex}:"
    config = BreakerConfig(failure_threshold=1, reset_timeout_s=60)
    models = [openai_model("gpt-4o-mini"), openai_model("gpt-4.1")]
    first = Router(
        models,
        strategy="cost",
        max_retries=0,
        breakers=BreakerBoard.redis(url, prefix=prefix, config=config),
    )
    second = Router(
        models,
        strategy="cost",
        max_retries=0,
        breakers=BreakerBoard.redis(url, prefix=prefix, config=config),
    )
    try:
        emulator.fail(Fault.server_error(500), times=1, model="gpt-4o-mini")
        assert (await first.ainvoke("x")).response_metadata["model_name"] == "gpt-4.1"
        decision = await second.aexplain("x")
        assert decision.dropped == {"openai/gpt-4o-mini": "circuit breaker open"}
        assert {c.name: c.breaker for c in decision.candidates}["openai/gpt-4o-mini"] == "open"
        assert (await second.ainvoke("y")).response_metadata["model_name"] == "gpt-4.1"
        assert called(emulator) == ["gpt-4o-mini", "gpt-4.1", "gpt-4.1"]
    finally:
        client = redis.Redis.from_url(url)
        if keys := list(client.scan_iter(match=prefix + "*")):
            client.delete(*keys)
        client.close()


def test_deployments_are_fixed_once_built(openai_model: OpenAIFactory, emulator: Emulator) -> None:
    router = Router([openai_model("gpt-4o-mini"), openai_model("gpt-4.1")], strategy="cost")
    assert isinstance(router.deployments, tuple)
    with pytest.raises(AttributeError):
        router.deployments.append(Deployment.of(openai_model("gpt-4o")))  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="model_copy"):
        router.deployments = [openai_model("gpt-4o")]  # type: ignore[assignment]
    with pytest.raises(AttributeError, match="language_routes is fixed"):
        router.language_routes = {"pl": "openai/gpt-4.1"}
    router.max_retries = 0  # other fields may still change
    assert [d.name for d in router.deployments] == ["openai/gpt-4o-mini", "openai/gpt-4.1"]


def test_model_copy_reindexes_new_deployments(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    router = Router([openai_model("gpt-4o-mini")], strategy="cost")
    bound = router.bind_tools([_lookup])
    assert bound.invoke("look it up").response_metadata["router"]["deployment"] == (
        "openai/gpt-4o-mini"
    )
    update = {"deployments": [openai_model("gpt-4.1")], "language_routes": {"PL": "openai/gpt-4.1"}}
    bigger = router.model_copy(update=update)
    assert [d.name for d in bigger.deployments] == ["openai/gpt-4.1"]  # the model was wrapped
    assert bigger.language_routes == {"pl": "openai/gpt-4.1"}
    assert bigger.explain("hi").order == ("openai/gpt-4.1",)
    answer = bigger.bind_tools([_lookup]).invoke("look it up")
    assert answer.response_metadata["router"]["deployment"] == "openai/gpt-4.1"
    assert called(emulator) == ["gpt-4o-mini", "gpt-4.1"]
    assert [d.name for d in router.deployments] == ["openai/gpt-4o-mini"]  # untouched
    with pytest.raises(ValueError, match="two deployments are named"):
        router.model_copy(update={"deployments": [openai_model("gpt-4.1")] * 2})
    assert router.model_copy(update={"strategy": "quality"}).strategy.name == "quality"


def _lookup(query: str) -> str:
    """Look something up."""
    return query
