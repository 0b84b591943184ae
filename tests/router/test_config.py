"""Routers from YAML, mappings and the environment; the ready-made chains."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from polyvox.costs.catalog import Tier
from polyvox.ollama import ChatBielik, ChatOllama
from polyvox.openai import ChatOpenAI, ChatOpenRouter
from polyvox.router import chains
from polyvox.router.breaker import BreakerBoard
from polyvox.router.config import RouterConfigError
from polyvox.router.deployment import Deployment
from polyvox.router.request import Sensitivity
from polyvox.router.router import Router
from polyvox.testing import Emulator
from tests.router.conftest import BIELIK, OpenAIFactory, called


def _yaml(emulator: Emulator) -> str:
    return f"""
router:
  strategy: {{name: ucb, exploration: 0.5, min_trials: 2}}
  fallbacks: true
  max_retries: 0
  max_retry_wait_s: 2.5
  prefer_local: false
  max_latency_ms: 5000
  default_sensitivity: internal
  detect_language: false
  language_routes: {{pl: bielik}}
  context_overflow_fallback: [strong]
  content_policy_fallback: [bielik]
  mid_stream_fallback: true
  breaker: {{failure_threshold: 2, window_s: 10, reset_timeout_s: 1, half_open_max_calls: 1}}
  deployments:
    - name: cheap
      provider: openai
      model: gpt-4o-mini
      base_url: {emulator.openai_base_url}
      api_key_env: ROUTER_TEST_KEY
      params: {{max_retries: 0, temperature: 0}}
      weight: 2
      priority: 1
      quality: 0.6
      tags: [cheap, eu]
    - name: strong
      provider: openrouter
      model: openai/gpt-4.1
      base_url: {emulator.openai_base_url}
      api_key_env: ROUTER_TEST_KEY
    - name: bielik
      provider: bielik
      base_url: {emulator.url}
    - name: mine
      ref: my_model
"""


def test_from_yaml_file(
    tmp_path: Path,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    openai_model: OpenAIFactory,
) -> None:
    monkeypatch.setenv("ROUTER_TEST_KEY", "sk-from-env")
    path = tmp_path / "router.yaml"
    path.write_text(_yaml(emulator), encoding="utf-8")
    mine = openai_model("gpt-4o")
    router = Router.from_config(path, models={"my_model": mine})
    assert [d.name for d in router.deployments] == ["cheap", "strong", "bielik", "mine"]
    cheap, strong, bielik, own = router.deployments
    assert isinstance(cheap.model, ChatOpenAI)
    assert cheap.model.api_key is not None
    assert cheap.model.api_key.get_secret_value() == "sk-from-env"
    assert cheap.model.temperature == 0
    assert (cheap.weight, cheap.priority, cheap.quality, cheap.tags) == (
        2,
        1,
        0.6,
        frozenset({"cheap", "eu"}),
    )
    assert isinstance(strong.model, ChatOpenRouter)
    assert strong.provider == "openrouter"
    assert isinstance(bielik.model, ChatBielik)
    assert bielik.local
    assert own.model is mine
    assert router.strategy.name == "ucb"
    assert router.max_retries == 0
    assert router.max_retry_wait_s == 2.5
    assert router.default_sensitivity is Sensitivity.INTERNAL
    assert router.language_routes == {"pl": "bielik"}
    assert router.mid_stream_fallback is True
    assert router.breakers.config.failure_threshold == 2
    answer = router.invoke("hi", deployment="cheap")
    assert answer.text == "You said: hi"
    assert emulator.requests[-1].headers["authorization"] == "Bearer sk-from-env"


def test_from_yaml_text_and_mapping(emulator: Emulator) -> None:
    text = f"""
strategy: cost
deployments:
  - {{provider: ollama, model: llama3.2, base_url: "{emulator.url}"}}
  - {{provider: vllm, model: qwen2.5, base_url: "{emulator.openai_base_url}"}}
"""
    router = Router.from_config(text)
    assert [d.name for d in router.deployments] == ["ollama/llama3.2", "vllm/qwen2.5"]
    assert all(d.local for d in router.deployments)
    mapping = {
        "deployments": [{"provider": "ollama", "model": "llama3.2", "base_url": emulator.url}],
        "prefer_local": True,
    }
    assert Router.from_config(mapping).prefer_local is True
    assert Router.from_config(mapping, prefer_local=False).prefer_local is False


def test_a_custom_class(emulator: Emulator) -> None:
    router = Router.from_config(
        {
            "deployments": [
                {
                    "class": "polyvox.ollama:ChatOllama",
                    "model": "qwen3",
                    "params": {"base_url": emulator.url},
                }
            ]
        }
    )
    assert isinstance(router.deployments[0].model, ChatOllama)


@pytest.mark.parametrize(
    ("config", "key", "problem"),
    [
        ({"deployments": []}, "deployments", "non-empty list"),
        ({"strategi": "cost", "deployments": [{}]}, "strategi", "unknown key"),
        ({"fallbacks": "yes", "deployments": [{}]}, "fallbacks", "expected a boolean"),
        ({"max_retries": 1.5}, "max_retries", "expected a whole number"),
        ({"strategy": "fastest"}, "strategy", "unknown routing strategy"),
        ({"strategy": {"exploration": 1}}, "strategy.name", "missing"),
        ({"breaker": {"threshold": 3}}, "breaker.threshold", "unknown key"),
        ({"breaker": {"failure_threshold": 0}}, "breaker", "failure_threshold must be >= 1"),
        (
            {"deployments": [{"provider": "acme", "model": "x"}]},
            "deployments[0].provider",
            "unknown provider 'acme'",
        ),
        (
            {"deployments": [{"provider": "openai", "modle": "x"}]},
            "deployments[0].modle",
            "unknown key",
        ),
        ({"deployments": [{"ref": "nope"}]}, "deployments[0].ref", "no model 'nope'"),
        (
            {"deployments": [{"provider": "openai", "model": "x", "api_key_env": "NOT_SET_123"}]},
            "deployments[0].api_key_env",
            "NOT_SET_123 is not set",
        ),
        (
            {"deployments": [{"class": "no.such.module:Chat", "model": "x"}]},
            "deployments[0].class",
            "cannot import",
        ),
        (
            {"deployments": [{"provider": "openai", "model": "x", "weight": "heavy"}]},
            "deployments[0].weight",
            "expected a number",
        ),
        (
            {"deployments": [{"provider": "openai", "model": "x", "params": {"bogus": 1}}]},
            "deployments[0]",
            "ChatOpenAI rejected its arguments",
        ),
        ({"language_routes": ["pl"]}, "language_routes", "expected a mapping"),
        ("strategy: [unclosed", "<yaml>", "not valid YAML"),
        ("missing.yaml", "<file>", "no such file"),
    ],
)
def test_malformed_config_names_the_key(config: Any, key: str, problem: str) -> None:
    with pytest.raises(RouterConfigError) as info:
        Router.from_config(config)
    assert info.value.key == key
    assert problem in str(info.value)
    assert str(info.value).startswith(f"router config: {key}: ")


def test_from_env(emulator: Emulator) -> None:
    environ = {
        "POLYVOX_ROUTER_MODELS": "llama3.2, vllm:qwen2.5",
        "POLYVOX_ROUTER_DEFAULT_PROVIDER": "ollama",
        "POLYVOX_ROUTER_STRATEGY": "latency",
        "POLYVOX_ROUTER_FALLBACKS": "off",
        "POLYVOX_ROUTER_PREFER_LOCAL": "1",
        "POLYVOX_ROUTER_MAX_LATENCY_MS": "1500",
    }
    router = Router.from_env(environ=environ)
    assert [d.name for d in router.deployments] == ["ollama/llama3.2", "vllm/qwen2.5"]
    assert router.strategy.name == "latency"
    assert router.fallbacks is False
    assert router.prefer_local is True
    assert router.max_latency_ms == 1500.0


def test_from_env_with_given_deployments_and_a_config_file(
    tmp_path: Path, emulator: Emulator, openai_model: OpenAIFactory
) -> None:
    path = tmp_path / "r.yml"
    path.write_text("strategy: quality\nmax_retries: 3\n", encoding="utf-8")
    router = Router.from_env(
        [openai_model("gpt-4o-mini")],
        environ={"POLYVOX_ROUTER_CONFIG": str(path), "POLYVOX_ROUTER_FALLBACKS": "true"},
    )
    assert router.strategy.name == "quality"
    assert router.max_retries == 3
    assert router.fallbacks is True
    # an Ollama tag with a colon is a model name, not a provider
    tagged = Router.from_env(
        environ={
            "POLYVOX_ROUTER_MODELS": "llama3.2:3b",
            "POLYVOX_ROUTER_DEFAULT_PROVIDER": "ollama",
        }
    )
    assert tagged.deployments[0].entry.model == "llama3.2"  # the catalog resolves the family


def test_a_misspelt_provider_prefix_is_refused_not_sent_to_the_cloud(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "olama:llama3.2" once became an OpenAI model called "olama:llama3.2"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with pytest.raises(RouterConfigError) as info:
        Router.from_env(environ={"POLYVOX_ROUTER_MODELS": "gpt-4o-mini, olama:llama3.2"})
    assert info.value.key == "POLYVOX_ROUTER_MODELS[olama:llama3.2]"
    message = str(info.value)
    assert "unknown provider 'olama'; did you mean 'ollama'?" in message
    assert "known: openai, openrouter, cloudru, llamacpp, vllm, together, ollama, bielik" in (
        message
    )
    # the YAML config says the same for the same mistake (one error, one wording)
    with pytest.raises(RouterConfigError, match="did you mean 'ollama'"):
        Router.from_config({"deployments": [{"provider": "olama", "model": "llama3.2"}]})
    # a colon that is no provider's misspelling still belongs to the model name
    tuned = Router.from_env(environ={"POLYVOX_ROUTER_MODELS": "ft:gpt-4o-mini:acme::abc123"})
    assert tuned.deployments[0].model.model == "ft:gpt-4o-mini:acme::abc123"
    # and with an Ollama default provider, any colon is a tag
    tagged = Router.from_env(
        environ={"POLYVOX_ROUTER_MODELS": "llama2:7b", "POLYVOX_ROUTER_DEFAULT_PROVIDER": "ollama"}
    )
    assert tagged.deployments[0].model.model == "llama2:7b"


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"POLYVOX_ROUTER_FALLBACKS": "maybe"}, "POLYVOX_ROUTER_FALLBACKS"),
        ({"POLYVOX_ROUTER_MAX_LATENCY_MS": "fast"}, "POLYVOX_ROUTER_MAX_LATENCY_MS"),
        ({"POLYVOX_ROUTER_CONFIG": "/no/such/file.yaml"}, "POLYVOX_ROUTER_CONFIG"),
    ],
)
def test_bad_environment_names_the_variable(environ: dict[str, str], key: str) -> None:
    with pytest.raises(RouterConfigError) as info:
        Router.from_env(environ=environ)
    assert info.value.key == key


def test_redis_breakers_from_config(emulator: Emulator) -> None:
    router = Router.from_config(
        {
            "redis_url": "redis://127.0.0.1:6379/0",
            "breaker": {"prefix": "polyvox:test:router-config:", "failure_threshold": 3},
            "deployments": [{"provider": "ollama", "model": "llama3.2", "base_url": emulator.url}],
        }
    )
    assert isinstance(router.breakers, BreakerBoard)
    assert router.breakers.redis_store is not None
    assert router.breakers.config.failure_threshold == 3


# ---- chains -------------------------------------------------------------------------------------


@pytest.fixture
def fleet(openai_model: OpenAIFactory, ollama: ChatOllama, bielik: ChatBielik) -> list[Any]:
    return [
        openai_model("gpt-4o-mini"),
        openai_model("gpt-4.1"),
        Deployment.of(openai_model("gpt-4o"), name="coder", tags={"code"}),
        ollama,
        bielik,
    ]


def test_high_quality(fleet: list[Any], emulator: Emulator) -> None:
    router = chains.high_quality(fleet)
    assert router.strategy.name == "quality"
    assert router.default_tier is Tier.POWERFUL
    assert router.explain("x").order == ("openai/gpt-4.1",)
    router.invoke("x")
    assert called(emulator) == ["gpt-4.1"]


def test_cost_optimized(fleet: list[Any]) -> None:
    router = chains.cost_optimized(fleet)
    assert router.strategy.name == "cost"
    order = router.explain("x").order
    assert order[0] == "ollama/llama3.2"  # local models cost nothing
    assert order[1] == "openai/gpt-4o-mini"
    assert order[-1] == BIELIK  # a Polish model, free but not favoured for other languages
    polish = router.explain("x", language="pl").order
    assert set(polish[:2]) == {"ollama/llama3.2", BIELIK}  # the strategy's order stands


def test_fast(fleet: list[Any]) -> None:
    router = chains.fast(fleet)
    assert router.strategy.name == "latency"
    assert router.default_tier is Tier.FAST
    assert set(router.explain("x").order) == {"openai/gpt-4o-mini", "ollama/llama3.2"}


def test_local_only(fleet: list[Any], emulator: Emulator) -> None:
    router = chains.local_only(fleet, language_routes={"pl": BIELIK})
    assert {d.name for d in router.deployments} == {"ollama/llama3.2", BIELIK}
    assert router.default_sensitivity is Sensitivity.RESTRICTED
    router.invoke("x", sensitivity="public")
    assert called(emulator)[0] in {"llama3.2", "SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M"}
    with pytest.raises(ValueError, match="local_only needs a local deployment"):
        chains.local_only([fleet[0]])


def test_code(fleet: list[Any]) -> None:
    router = chains.code(fleet)
    assert router.strategy.name == "code_first"
    decision = router.explain("write a function")
    assert decision.order[0] == "coder"
    assert decision.order[1] == "openai/gpt-4.1"  # then by quality
    assert decision.candidates[2].score is not None


def test_chains_take_a_config(emulator: Emulator) -> None:
    config = {
        "max_retries": 2,
        "deployments": [
            {"provider": "ollama", "model": "llama3.2", "base_url": emulator.url},
            {
                "provider": "openai",
                "model": "gpt-4o-mini",
                "base_url": emulator.openai_base_url,
                "params": {"api_key": "sk-test"},
            },
        ],
    }
    router = chains.cost_optimized(config)
    assert router.max_retries == 2
    assert router.strategy.name == "cost"
    with pytest.raises(ValueError, match="no deployments"):
        chains.fast({"strategy": "cost"})
