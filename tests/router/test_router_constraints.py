"""Per-request constraints: capabilities, cost, budget, latency, language, and explain()."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import BaseModel

from polyvox.costs.catalog import Capability, Tier
from polyvox.costs.ledger import Budget, BudgetGuard, CallRecord, Ledger
from polyvox.ollama import ChatBielik, ChatOllama
from polyvox.router.deployment import Deployment, lookup_entry
from polyvox.router.errors import NoDeploymentError
from polyvox.router.router import Router
from polyvox.testing import Emulator
from tests.router.conftest import BIELIK, OpenAIFactory, called

TINY_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAh"
    "KmMIQAAAABJRU5ErkJggg=="
)


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class Answer(BaseModel):
    """An answer."""

    text: str


# ---- capabilities -------------------------------------------------------------------------------


def test_bound_tools_require_tools(
    openai_model: OpenAIFactory, bielik: ChatBielik, emulator: Emulator
) -> None:
    router = Router([bielik, openai_model("gpt-4o-mini")], strategy="local_first")
    assert router.invoke("plain").response_metadata["router"]["deployment"] == BIELIK
    answer = router.bind_tools([add]).invoke("add 2 and 3")
    assert answer.response_metadata["router"]["deployment"] == "openai/gpt-4o-mini"
    assert emulator.requests[-1].json["tools"][0]["function"]["name"] == "add"
    decision = router.explain("x", tools=[{"type": "function", "function": {"name": "f"}}])
    assert decision.request.capabilities == frozenset({Capability.TOOLS})
    assert decision.dropped == {BIELIK: "lacks tools"}


def test_images_require_vision(
    openai_model: OpenAIFactory, ollama: ChatOllama, emulator: Emulator
) -> None:
    router = Router([ollama, openai_model("gpt-4o-mini")], strategy="local_first")
    picture = HumanMessage(
        content=[
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image", "base64": TINY_PNG, "mime_type": "image/png"},
        ]
    )
    decision = router.explain([picture])
    assert Capability.VISION in decision.request.capabilities
    assert decision.request.estimated_input_tokens < 2000  # the base64 is not counted as text
    answer = router.invoke([picture])
    assert answer.response_metadata["router"]["deployment"] == "openai/gpt-4o-mini"
    assert called(emulator) == ["gpt-4o-mini"]


def test_structured_output_requires_the_method_capability(
    openai_model: OpenAIFactory, bielik: ChatBielik
) -> None:
    router = Router([bielik, openai_model("gpt-4o-mini")], strategy="local_first")
    spec = router.with_structured_output(Answer).first  # type: ignore[attr-defined]
    kwargs = spec.kwargs
    assert router.explain("x", **kwargs).order[0] == BIELIK  # Bielik has structured output
    calling = router.with_structured_output(Answer, method="function_calling").first  # type: ignore[attr-defined]
    assert router.explain("x", **calling.kwargs).order == ("openai/gpt-4o-mini",)


class _ToolsOnly(BaseChatModel):
    """A third-party model: answers a forced tool call with the arguments it was given."""

    reply: dict[str, Any] = {}
    seen: list[Any] = []

    @property
    def _llm_type(self) -> str:
        return "tools-only"

    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> Any:
        return self.bind(tools=tools, tool_choice=tool_choice, **kwargs)

    def _generate(  # type: ignore[override]
        self,
        messages: Any,
        stop: Any = None,
        run_manager: Any = None,
        *,
        tools: Any = None,
        tool_choice: Any = None,
    ) -> ChatResult:
        self.seen.append(tool_choice)
        call = {"name": tool_choice, "args": self.reply, "id": "call-1", "type": "tool_call"}
        message = AIMessage("", tool_calls=[call])
        return ChatResult(generations=[ChatGeneration(message=message)])


def _third_party(name: str, *capabilities: Capability) -> Deployment:
    entry = replace(lookup_entry("custom", name), capabilities=frozenset(capabilities))
    return Deployment(name=name, model=_ToolsOnly(reply={"text": "forty-two"}), entry=entry)


@pytest.mark.parametrize("method", ["json_schema", "json_mode", "function_calling"])
def test_structured_output_needs_tools_of_a_third_party_model(
    method: str, openai_model: OpenAIFactory, bielik: ChatBielik
) -> None:
    with_tools = _third_party("with-tools", Capability.TOOLS)
    # catalog flags without tools: such a model would be sent a forced tool call all the same
    without = _third_party("without-tools", Capability.STRUCTURED_OUTPUT, Capability.JSON_MODE)
    router = Router([without, with_tools, bielik], strategy="local_first", max_retries=0)
    structured = router.with_structured_output(Answer, method=method)
    decision = router.explain("x", **structured.first.kwargs)  # type: ignore[attr-defined]
    assert decision.dropped["without-tools"] == f"lacks tools (for {method} output)"
    assert "with-tools" in decision.order
    assert Capability.STRUCTURED_OUTPUT not in decision.request.capabilities  # per deployment
    if method == "function_calling":
        assert decision.dropped[BIELIK] == "lacks tools (for function_calling output)"
    else:  # a polyvox model is asked natively, with the capability of the method
        assert BIELIK in decision.order
    answer = structured.invoke("What is the answer?", deployment="with-tools")
    assert answer == Answer(text="forty-two")
    model = with_tools.model
    assert isinstance(model, _ToolsOnly)
    assert model.seen[-1] == "Answer"  # a forced call of the schema's tool


def test_explicit_capability_nobody_has(openai_model: OpenAIFactory) -> None:
    router = Router([openai_model("gpt-4o-mini")])
    with pytest.raises(NoDeploymentError, match="lacks reasoning"):
        router.invoke("think hard", capabilities=["reasoning"])
    with pytest.raises(ValueError, match="unknown capability 'telepathy'"):
        router.invoke("x", capabilities="telepathy")


# ---- cost, budget, latency ---------------------------------------------------------------------


def test_max_cost_drops_expensive_and_unpriced_cloud(
    openai_model: OpenAIFactory, ollama: ChatOllama
) -> None:
    router = Router(
        [openai_model("gpt-4.1"), openai_model("gpt-4o-mini"), openai_model("mystery-1"), ollama],
        strategy="quality",
    )
    decision = router.explain("short question", max_cost=0.0005, max_tokens=100)
    assert decision.order[0] == "openai/gpt-4o-mini"  # gpt-4.1 would cost more
    assert set(decision.order) == {"openai/gpt-4o-mini", "ollama/llama3.2"}  # local costs 0
    assert decision.dropped["openai/gpt-4.1"].startswith("estimated $")
    assert decision.dropped["openai/mystery-1"] == "unpriced, so it cannot be held to a cost limit"
    with pytest.raises(ValueError, match="max_cost must not be negative"):
        router.invoke("x", max_cost=-1)


def _spend(ledger: Ledger, cost: str) -> None:
    ledger.record(
        CallRecord(
            provider="openai",
            model="gpt-4.1",
            cost=Decimal(cost),
            currency="USD",
            time=datetime.now(UTC),
            workspace_id="w1",
        )
    )


async def test_remaining_budget_filters_deployments(
    openai_model: OpenAIFactory, ledger: Ledger, emulator: Emulator
) -> None:
    guard = BudgetGuard(ledger, [Budget("workspace", "w1", Decimal("0.02"))])
    router = Router(
        [openai_model("gpt-4.1"), openai_model("gpt-4o-mini")], strategy="quality", budget=guard
    )
    # gpt-4.1 estimates 1024 output tokens x $8/1M = $0.0082 (+ input): fits $0.02
    assert router.invoke("x", workspace_id="w1").response_metadata["model_name"] == "gpt-4.1"
    _spend(ledger, "0.015")
    decision = router.explain("x", config={"metadata": {"workspace_id": "w1"}})
    assert decision.request.remaining_budget == Decimal("0.005")
    assert decision.dropped["openai/gpt-4.1"].endswith("> remaining budget $0.005000")
    answer = await router.ainvoke("x", config={"metadata": {"workspace_id": "w1"}})
    assert answer.response_metadata["model_name"] == "gpt-4o-mini"
    _spend(ledger, "0.005")
    with pytest.raises(NoDeploymentError) as info:
        router.invoke("x", workspace_id="w1")
    assert {"budget"} == {c.filter for c in router.explain("x", workspace_id="w1").candidates}
    assert "remaining budget $0.000000" in str(info.value)
    # another workspace has no budget: not filtered
    assert router.invoke("x", workspace_id="w2").response_metadata["model_name"] == "gpt-4.1"


def test_latency_limit_uses_measured_then_typical_latency(openai_model: OpenAIFactory) -> None:
    router = Router(
        [openai_model("gpt-4.1"), openai_model("gpt-4o-mini")],
        strategy="quality",
        max_latency_ms=500,
    )
    # typical latency from the catalog: gpt-4.1 550 ms, gpt-4o-mini 450 ms
    decision = router.explain("x")
    assert decision.order == ("openai/gpt-4o-mini",)
    assert decision.dropped["openai/gpt-4.1"] == "typical latency 550 ms > 500 ms"
    router.stats.record("openai/gpt-4.1", ok=True, latency_s=0.05)
    assert router.explain("x").order[0] == "openai/gpt-4.1"  # measured: fast enough now
    with pytest.raises(NoDeploymentError, match="latency"):
        router.invoke("x", max_latency_ms=10)


def test_default_tier(openai_model: OpenAIFactory) -> None:
    router = Router([openai_model("gpt-4.1"), openai_model("gpt-4o-mini")], default_tier=Tier.FAST)
    assert router.explain("x").order == ("openai/gpt-4o-mini",)
    assert router.explain("x", tier="powerful").order == ("openai/gpt-4.1",)


def test_prefer_local(openai_model: OpenAIFactory, ollama: ChatOllama) -> None:
    models = [openai_model("gpt-4.1"), ollama]
    assert Router(models, strategy="quality").explain("x").order[0] == "openai/gpt-4.1"
    assert Router(models, strategy="quality", prefer_local=True).explain("x").order == (
        "ollama/llama3.2",
        "openai/gpt-4.1",
    )


# ---- language ---------------------------------------------------------------------------------


def test_polish_goes_to_bielik(
    openai_model: OpenAIFactory, bielik: ChatBielik, emulator: Emulator
) -> None:
    router = Router(
        [openai_model("gpt-4.1"), bielik],
        strategy="quality",
        detect_language=True,
        language_routes={"pl": BIELIK},
    )
    polish = router.invoke("Jaka jest stolica Polski i ile ma mieszkańców?")
    assert polish.response_metadata["router"]["deployment"] == BIELIK
    english = router.invoke("What is the capital of Poland?")
    assert english.response_metadata["router"]["deployment"] == "openai/gpt-4.1"
    assert called(emulator) == ["SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M", "gpt-4.1"]
    assert router.explain("Dzień dobry, jak się masz?").request.language == "pl"


def test_the_default_router_does_not_answer_english_with_bielik(
    openai_model: OpenAIFactory, ollama: ChatOllama, bielik: ChatBielik, emulator: Emulator
) -> None:
    # Local and free, Bielik tops the default (balanced) ranking; made for Polish, it must
    # not be favoured for another language, nor for a prompt whose language is not known.
    models = [openai_model("gpt-4o-mini"), openai_model("gpt-4.1"), ollama, bielik]
    router = Router(models)
    answer = router.invoke("What is the capital of France?")
    assert answer.response_metadata["router"]["deployment"] == "ollama/llama3.2"
    assert router.explain("What is the capital of France?", language="en").order[-1] == BIELIK
    polish_order = router.explain("Jaka jest stolica Francji?", language="pl").order
    assert BIELIK in polish_order[:2]  # for Polish the strategy's order stands (tied with llama)
    # with detection and a route, English goes elsewhere and Polish to Bielik
    routed = Router(models, detect_language=True, language_routes={"pl": BIELIK})
    english = routed.invoke("What is the capital of France, and how many people live there?")
    assert english.response_metadata["router"]["deployment"] != BIELIK
    polish = routed.invoke("Jaka jest stolica Francji i ilu ma mieszkańców?")
    assert polish.response_metadata["router"]["deployment"] == BIELIK
    # asked to keep data local, a specialist still goes ahead of the cloud, after llama
    local = Router(models, strategy="local_first").explain("hello").order
    assert local[:2] == ("ollama/llama3.2", BIELIK)
    assert Router([openai_model("gpt-4o-mini"), bielik], prefer_local=True).explain(
        "hello"
    ).order == (BIELIK, "openai/gpt-4o-mini")


def test_language_given_by_the_caller_needs_no_detection(
    openai_model: OpenAIFactory, bielik: ChatBielik
) -> None:
    router = Router(
        [openai_model("gpt-4.1"), bielik], strategy="quality", language_routes={"pl": BIELIK}
    )
    assert router.explain("hello").request.language is None  # detection is off
    assert router.explain("hello", language="PL").order[0] == BIELIK
    meta: Any = {"metadata": {"language": "pl"}}
    assert router.invoke("hello", config=meta).response_metadata["router"]["deployment"] == BIELIK


def test_a_route_the_request_cannot_use_is_ignored(
    openai_model: OpenAIFactory, bielik: ChatBielik
) -> None:
    router = Router(
        [openai_model("gpt-4.1"), bielik], strategy="quality", language_routes={"pl": BIELIK}
    )
    decision = router.explain("x", language="pl", tools=[{"type": "function", "function": {}}])
    assert decision.order == ("openai/gpt-4.1",)  # Bielik has no tools


# ---- explain ------------------------------------------------------------------------------------


def test_explain_calls_nothing_and_reads_well(
    openai_model: OpenAIFactory, ollama: ChatOllama, emulator: Emulator
) -> None:
    router = Router(
        [openai_model("gpt-4.1"), openai_model("gpt-4o-mini"), ollama], strategy="balanced"
    )
    decision = router.explain("Explain routing", tier="fast", max_cost=0.01)
    assert emulator.requests == []
    assert decision.strategy == "balanced"
    assert decision.chosen == decision.order[0]
    assert set(decision.order) == {"openai/gpt-4o-mini", "ollama/llama3.2"}
    kept = [c for c in decision.candidates if c.kept]
    assert all(c.score is not None and c.rank is not None for c in kept)
    dropped = next(c for c in decision.candidates if not c.kept)
    assert dropped.name == "openai/gpt-4.1"
    assert dropped.filter == "tier"
    assert dropped.reason == "tier powerful, the request asks fast"
    text = str(decision)
    assert text.startswith("route decision (balanced strategy)")
    assert "dropped: tier powerful, the request asks fast" in text
    assert "cost limit: 0.01" in text
    assert f"order: {' -> '.join(decision.order)}" in text
    data = decision.to_dict()
    assert json.loads(json.dumps(data))["request"]["tier"] == "fast"
    assert data["chosen"] == decision.chosen


async def test_aexplain_matches_explain(openai_model: OpenAIFactory) -> None:
    router = Router([openai_model("gpt-4.1"), openai_model("gpt-4o-mini")], strategy="cost")
    sync = router.explain("x", sensitivity="internal")
    assert (await router.aexplain("x", sensitivity="internal")) == sync


def test_explain_does_not_move_round_robin(openai_model: OpenAIFactory) -> None:
    from polyvox.router.deployment import Deployment

    same = [
        Deployment.of(openai_model("gpt-4o-mini"), name="a"),
        Deployment.of(openai_model("gpt-4o-mini"), name="b"),
    ]
    router = Router(same, strategy="balanced")
    orders = {router.explain("x").order for _ in range(5)}
    assert len(orders) == 1
    (order,) = orders
    assert router.invoke("x").response_metadata["router"]["deployment"] == order[0]


def test_explain_of_a_large_input(openai_model: OpenAIFactory) -> None:
    router = Router([openai_model("gpt-3.5-turbo")])
    decision = router.explain("word " * 40_000)
    assert decision.large_input
    assert decision.order == ()
    assert "large-input handling" in str(decision)


def test_a_model_documenting_english_first_is_no_specialist() -> None:
    from polyvox.router.constraints import primary_language
    from polyvox.router.languages import _focus

    assert _focus(("pl", "en")) == frozenset({"pl"})
    assert _focus(("en", "zh")) == frozenset()  # DeepSeek: a general model
    assert _focus(("en",)) == frozenset()
    assert _focus(("ru", "en", "kk")) == frozenset()
    assert [primary_language(v) for v in ("pl-PL", "pl_PL", " PL ", "ru")] == ["pl"] * 3 + ["ru"]


def test_a_bielik_the_catalog_does_not_list_is_still_polish() -> None:
    from polyvox.ollama import ChatBielik
    from polyvox.router.deployment import Deployment
    from polyvox.router.languages import specialist_languages

    unlisted = ChatBielik(model="hf.co/speakleash/Bielik-11B-v2.6-Instruct-GGUF:Q4_K_M")
    deployment = Deployment.of(unlisted)
    assert deployment.languages == ("pl", "en")
    assert specialist_languages(deployment) == frozenset({"pl"})
