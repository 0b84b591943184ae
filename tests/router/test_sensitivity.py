"""Confidential and restricted data never reach a cloud deployment, whatever happens."""

from __future__ import annotations

from typing import Any

import pytest

from polyvox.ollama import ChatOllama
from polyvox.openai import ChatLlamaCpp
from polyvox.router.errors import AllDeploymentsFailedError, NoDeploymentError
from polyvox.router.request import Sensitivity
from polyvox.router.router import Router
from polyvox.router.strategies import strategy_names
from polyvox.testing import Emulator, Fault
from tests.router.conftest import OpenAIFactory, called

CLOUD_MODELS = {"gpt-4o-mini", "gpt-4.1"}
LOCAL = ["ollama/llama3.2", "llamacpp/qwen2.5"]
OVERFLOW = Fault(status=400, code="context_length_exceeded", message="maximum context length")
FILTERED = Fault(status=400, code="content_filter", message="content management policy")


@pytest.fixture
def mixed(openai_model: OpenAIFactory, ollama: ChatOllama, llamacpp: ChatLlamaCpp) -> list[Any]:
    """Two cloud deployments (cheap and strong) and two local ones."""
    return [openai_model("gpt-4o-mini"), openai_model("gpt-4.1"), ollama, llamacpp]


def _never_cloud(emulator: Emulator) -> None:
    assert not CLOUD_MODELS & set(called(emulator))


@pytest.mark.parametrize("level", ["confidential", "restricted"])
@pytest.mark.parametrize("strategy", strategy_names())
def test_local_only_levels_stay_local_with_every_strategy(
    mixed: list[Any], emulator: Emulator, strategy: str, level: str
) -> None:
    router = Router(mixed, strategy=strategy)
    for _ in range(3):  # bandits and round-robins move between calls
        answer = router.invoke("salary review notes", sensitivity=level)
        assert answer.response_metadata["router"]["deployment"] in LOCAL
    _never_cloud(emulator)
    assert called(emulator)  # local deployments did answer


@pytest.mark.parametrize("strategy", strategy_names())
async def test_local_failures_never_fall_back_to_cloud(
    mixed: list[Any], emulator: Emulator, strategy: str
) -> None:
    router = Router(mixed, strategy=strategy, max_retries=0)
    emulator.fail(Fault.server_error(500), times=None, model="llama3.2")
    emulator.fail(Fault.server_error(500), times=None, model="qwen2.5")
    with pytest.raises(AllDeploymentsFailedError) as info:
        await router.ainvoke("patient record", config={"metadata": {"sensitivity": "restricted"}})
    assert sorted(a.deployment for a in info.value.attempts) == sorted(LOCAL)
    _never_cloud(emulator)


def test_public_data_may_use_the_cloud(mixed: list[Any], emulator: Emulator) -> None:
    router = Router(mixed, strategy="quality")
    answer = router.invoke("public question", sensitivity="public")
    assert answer.response_metadata["router"]["deployment"] == "openai/gpt-4.1"


def test_refuses_when_no_local_deployment_exists(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    router = Router([openai_model("gpt-4o-mini"), openai_model("gpt-4.1")])
    with pytest.raises(NoDeploymentError) as info:
        router.invoke("secret", sensitivity=Sensitivity.RESTRICTED)
    message = str(info.value)
    assert message.startswith("refusing to route restricted data")
    assert "openai/gpt-4o-mini: restricted data may only go to local deployments" in message
    assert set(info.value.reasons) == {"openai/gpt-4o-mini", "openai/gpt-4.1"}
    assert emulator.requests == []


def test_router_default_sensitivity_applies(mixed: list[Any], emulator: Emulator) -> None:
    router = Router(mixed, default_sensitivity="confidential", strategy="quality")
    assert router.invoke("x").response_metadata["router"]["deployment"] in LOCAL
    _never_cloud(emulator)


def test_typed_fallbacks_never_lead_to_the_cloud(mixed: list[Any], emulator: Emulator) -> None:
    router = Router(
        mixed,
        strategy="local_first",
        max_retries=0,
        content_policy_fallback=["openai/gpt-4.1"],
        context_overflow_fallback=["openai/gpt-4.1"],
    )
    emulator.fail(FILTERED, times=None, model="llama3.2")
    emulator.fail(FILTERED, times=None, model="qwen2.5")
    with pytest.raises(AllDeploymentsFailedError):
        router.invoke("filtered secret", sensitivity="restricted")
    emulator.reset()
    emulator.fail(OVERFLOW, times=None, model="llama3.2")
    emulator.fail(OVERFLOW, times=None, model="qwen2.5")
    with pytest.raises(AllDeploymentsFailedError):
        router.invoke("long secret", sensitivity="restricted")
    _never_cloud(emulator)


def test_mid_stream_restart_stays_local(mixed: list[Any], emulator: Emulator) -> None:
    router = Router(mixed, strategy="local_first", mid_stream_fallback=True)
    order = router.explain("x", sensitivity="restricted").order
    assert set(order) == set(LOCAL)
    first_model = "llama3.2" if order[0] == "ollama/llama3.2" else "qwen2.5"
    emulator.fail(Fault.broken_stream(after=4), times=None, model=first_model)
    emulator.fail(Fault.broken_stream(after=4), times=None, model="qwen2.5")
    emulator.fail(Fault.broken_stream(after=4), times=None, model="llama3.2")
    with pytest.raises(AllDeploymentsFailedError):
        list(router.stream("a long secret answer to stream", sensitivity="restricted"))
    _never_cloud(emulator)


def test_explain_shows_why_cloud_was_dropped(mixed: list[Any]) -> None:
    decision = Router(mixed).explain("x", sensitivity="restricted")
    assert set(decision.order) == set(LOCAL)
    assert decision.dropped == {
        "openai/gpt-4o-mini": "restricted data may only go to local deployments; this one is "
        "a cloud API",
        "openai/gpt-4.1": "restricted data may only go to local deployments; this one is "
        "a cloud API",
    }
    assert {c.filter for c in decision.candidates if not c.kept} == {"sensitivity"}
