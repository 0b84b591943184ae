"""Confidential and restricted data never reach a cloud deployment, whatever happens."""

from __future__ import annotations

from typing import Any

import pytest

from polyvox.ollama import ChatOllama
from polyvox.openai import ChatLlamaCpp
from polyvox.router import chains
from polyvox.router.deployment import Deployment
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


BIG = "x " * 600_000  # larger than any catalog window


@pytest.mark.parametrize("how", ["invoke", "ainvoke", "stream", "metadata"])
async def test_large_input_handler_never_gets_local_only_data(
    openai_model: OpenAIFactory, ollama: ChatOllama, emulator: Emulator, how: str
) -> None:
    from langchain_core.runnables import RunnableLambda

    seen: list[int] = []
    handler = RunnableLambda(lambda messages: seen.append(len(messages)) or "handled")
    router = Router([openai_model("gpt-4.1"), ollama], large_input_handler=handler)

    async def call() -> None:
        if how == "invoke":
            router.invoke(BIG, sensitivity="restricted")
        elif how == "ainvoke":
            await router.ainvoke(BIG, sensitivity="confidential")
        elif how == "stream":
            list(router.stream(BIG, sensitivity="restricted"))
        else:
            await router.ainvoke(BIG, config={"metadata": {"sensitivity": "restricted"}})

    with pytest.raises(NoDeploymentError) as info:
        await call()
    assert "refusing to hand" in str(info.value)
    assert "large_input_handler_local=True" in str(info.value)
    assert seen == []
    assert emulator.requests == []


def test_large_input_handler_declared_local_gets_the_sensitivity(
    openai_model: OpenAIFactory, ollama: ChatOllama, emulator: Emulator
) -> None:
    from langchain_core.runnables import RunnableConfig, RunnableLambda

    seen: list[Any] = []

    def handle(messages: list[Any], config: RunnableConfig) -> str:
        seen.append(config.get("metadata", {}).get("sensitivity"))
        return "handled locally"

    router = Router(
        [openai_model("gpt-4.1"), ollama],
        large_input_handler=RunnableLambda(handle),
        large_input_handler_local=True,
    )
    answer = router.invoke(BIG, sensitivity="restricted")
    assert answer.text == "handled locally"
    assert answer.response_metadata["router"]["large_input"] is True
    assert seen == ["restricted"]
    assert emulator.requests == []


def test_runtime_overflow_of_local_data_is_not_handed_over(
    mixed: list[Any], emulator: Emulator
) -> None:
    seen: list[Any] = []
    router = Router(
        mixed, max_retries=0, large_input_handler=lambda messages, request: seen.append(request)
    )
    emulator.fail(OVERFLOW, times=None, model="llama3.2")
    emulator.fail(OVERFLOW, times=None, model="qwen2.5")
    with pytest.raises(NoDeploymentError, match="refusing to hand restricted data"):
        router.invoke("a secret that overflows at run time", sensitivity="restricted")
    assert seen == []
    _never_cloud(emulator)


REMOTE_OLLAMA = [
    ("gpt-oss:120b-cloud", "https://ollama.com"),
    ("llama3.2", "http://gpu-box.example.com:11434"),
    ("llama3.2", "http://8.8.8.8:11434"),
]


def test_a_local_model_class_on_a_public_host_is_cloud(
    caplog: pytest.LogCaptureFixture,
) -> None:
    models = [ChatOllama(model=m, base_url=url, max_retries=0) for m, url in REMOTE_OLLAMA]
    with caplog.at_level("INFO", logger="polyvox.router.deployment"):
        deployments = [Deployment.of(m, name=f"remote{i}") for i, m in enumerate(models)]
        Deployment.of(models[0], name="remote0")  # the same endpoint is reported once
    assert [d.local for d in deployments] == [False, False, False]
    assert sum("remote0 talks to https://ollama.com" in r.message for r in caplog.records) == 1
    router = Router(deployments)
    with pytest.raises(NoDeploymentError, match="refusing to route restricted data"):
        router.invoke("board minutes", sensitivity="restricted")
    with pytest.raises(ValueError, match="local_only needs a local deployment"):
        chains.local_only(models)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:11434",
        "http://localhost:11434",
        "http://[::1]:11434",
        "http://10.1.2.3:11434",
        "http://192.168.0.7:11434",
        "http://169.254.1.1:11434",
        "http://gpu-box.local:11434",
    ],
)
def test_a_local_model_class_on_a_private_host_is_local(url: str) -> None:
    assert Deployment.of(ChatOllama(model="llama3.2", base_url=url)).local


def test_explicit_locality_wins(emulator: Emulator, openai_model: OpenAIFactory) -> None:
    remote = ChatOllama(model="llama3.2", base_url="https://gpu.example.com", max_retries=0)
    assert Deployment.of(remote, local=True).local
    here = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=0)
    assert not Deployment.of(here, local=False).local
    config = {
        "deployments": [
            {"provider": "ollama", "model": "llama3.2", "base_url": "https://a.example.com"},
            {
                "provider": "ollama",
                "model": "qwen2.5",
                "base_url": "https://b.example.com",
                "local": True,
            },
            {"ref": "near", "name": "near", "local": False},
        ]
    }
    router = Router.from_config(config, models={"near": here})
    assert [d.local for d in router.deployments] == [False, True, False]
    assert Router([openai_model("gpt-4o-mini"), Deployment.of(here)]).deployments[1].local


@pytest.mark.parametrize(
    ("default", "metadata", "kwarg", "expected"),
    [
        ("public", "restricted", "public", Sensitivity.RESTRICTED),
        ("public", "internal", "confidential", Sensitivity.CONFIDENTIAL),
        ("confidential", None, "public", Sensitivity.CONFIDENTIAL),
        ("confidential", "public", None, Sensitivity.CONFIDENTIAL),
        ("public", None, "internal", Sensitivity.INTERNAL),
        ("internal", None, None, Sensitivity.INTERNAL),
    ],
)
def test_a_call_can_raise_sensitivity_but_never_lower_it(
    mixed: list[Any], default: str, metadata: str | None, kwarg: str | None, expected: Any
) -> None:
    router = Router(mixed, default_sensitivity=default)
    config = {"metadata": {"sensitivity": metadata}} if metadata else None
    kwargs = {"sensitivity": kwarg} if kwarg else {}
    decision = router.explain("secret", config, **kwargs)
    assert decision.request.sensitivity is expected


async def test_a_nested_public_call_in_a_restricted_chain_stays_local(
    mixed: list[Any], emulator: Emulator
) -> None:
    router = Router(mixed, strategy="quality")
    config = {"metadata": {"sensitivity": "restricted"}}
    answer = await router.ainvoke("board minutes", config, sensitivity="public")
    assert answer.response_metadata["router"]["deployment"] in LOCAL
    _never_cloud(emulator)
