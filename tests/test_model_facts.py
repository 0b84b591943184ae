"""One source of model facts: the provider profiles and the catalog both come from it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from datetime import date
from importlib import resources

import pytest

from polyvox.core.facts import FACTS_FILE, ModelFacts, model_facts
from polyvox.core.profiles import get_profile, registered_models
from polyvox.costs.catalog import Capability, ModelCatalog
from polyvox.costs.catalog.schema import ENTRY_FIELDS
from polyvox.ollama import profiles as ollama_profiles
from polyvox.openai import profiles as openai_profiles

SERVED = dict.fromkeys(openai_profiles.PROVIDERS, "polyvox.openai") | {"ollama": "polyvox.ollama"}
"""Provider id → the package whose chat models read that provider's profiles."""

FLAGS = {
    Capability.TOOLS: "tool_calling",
    Capability.VISION: "image_inputs",
    Capability.STRUCTURED_OUTPUT: "structured_output",
    Capability.REASONING: "reasoning_output",
}


@pytest.fixture(scope="module")
def catalog() -> ModelCatalog:
    return ModelCatalog.builtin(genai_prices=False, price_date=date(2026, 11, 20))


def _chat_facts() -> list[ModelFacts]:
    return [f for p in SERVED for f in model_facts(p) if not f.embeddings]


def test_the_catalog_holds_exactly_the_facts(catalog: ModelCatalog) -> None:
    facts = model_facts()
    assert len(facts) > 60
    assert [(e.provider, e.model) for e in catalog] == [(f.provider, f.model) for f in facts]
    for f in facts:
        entry = catalog.get(f.model, f.provider)
        assert entry.model == f.model
        assert entry.context_window == f.context_window, f.model
        assert entry.max_output == f.max_output, f.model
        assert entry.capabilities == f.capabilities, f.model
        assert entry.aliases == f.aliases, f.model
        assert entry.languages == f.languages, f.model
        assert entry.tier == f.tier, f.model
        assert entry.typical_latency_ms == f.typical_latency_ms, f.model
        assert entry.tokens_per_second == f.tokens_per_second, f.model


def test_facts_fields_are_catalog_fields() -> None:
    assert {f.name for f in fields(ModelFacts)} <= ENTRY_FIELDS


@pytest.mark.parametrize("facts", _chat_facts(), ids=lambda f: f"{f.provider}/{f.model}")
def test_profile_agrees_with_the_catalog(catalog: ModelCatalog, facts: ModelFacts) -> None:
    profile = get_profile(facts.provider, facts.model)
    entry = catalog.get(facts.model, facts.provider)
    assert profile is not None
    assert profile["max_input_tokens"] == entry.context_window
    assert profile.get("max_output_tokens") == entry.max_output
    for capability, key in FLAGS.items():
        assert profile[key] is (capability in entry.capabilities), key  # type: ignore[literal-required]


@pytest.mark.parametrize("provider", sorted(SERVED))
def test_every_registered_model_is_in_the_facts(catalog: ModelCatalog, provider: str) -> None:
    registered = registered_models(provider)
    assert registered
    known = {f.model for f in model_facts(provider)}
    assert set(registered) <= known
    assert set(registered) == {f.model for f in model_facts(provider) if not f.embeddings}
    for model in registered:
        assert catalog.get(model, provider).model == model


def test_bielik_variants_are_the_speakleash_tags() -> None:
    variants = ollama_profiles.BIELIK_VARIANTS
    assert len(variants) == 6
    assert all(tag.startswith("SpeakLeash/bielik-") for tag in variants)
    assert variants["SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M"]["tool_calling"] is False
    assert variants["SpeakLeash/bielik-4.5b-v3.0-instruct:Q8_0"]["tool_calling"] is True


def test_provider_specific_profile_keys() -> None:
    gpt5, gpt4o = get_profile("openai", "gpt-5"), get_profile("openai", "gpt-4o")
    assert gpt5 is not None
    assert gpt4o is not None
    assert (gpt5["temperature"], gpt4o["temperature"]) == (False, True)
    assert gpt4o["image_url_inputs"] is True
    assert gpt4o["tool_choice"] is True
    claude = get_profile("openrouter", "anthropic/claude-sonnet-4.5")
    assert claude is not None
    assert claude["max_input_tokens"] == 1_000_000
    assert "temperature" not in claude  # only OpenAI's reasoning models refuse it
    qwen = get_profile("ollama", "qwen3:8b")
    assert qwen is not None
    assert (qwen["tool_choice"], qwen["open_weights"], qwen["reasoning_output"]) == (
        False,
        True,
        True,
    )


def test_the_catalog_keeps_no_copy_of_the_facts() -> None:
    catalog_files = {p.name for p in resources.files("polyvox.costs.catalog").iterdir()}
    assert "models.yaml" not in catalog_files
    assert FACTS_FILE.endswith("model_facts.json")


_OPENED = """
import sys
opened = []
sys.addaudithook(
    lambda event, args: event == "open" and str(args[0]).endswith("model_facts.json")
    and opened.append(args[0])
)
{statement}
before = len(opened)
{then}
print(before, len(opened))
"""


@pytest.mark.parametrize(
    ("statement", "then"),
    [
        ("from polyvox.openai import ChatOpenAI", "ChatOpenAI(model='gpt-4o', api_key='k')"),
        ("from polyvox.ollama import ChatOllama, BIELIK_VARIANTS", "len(BIELIK_VARIANTS)"),
        ("import polyvox.openai.profiles", "polyvox.openai.profiles.OPENAI_PROFILES['gpt-4o']"),
        ("from polyvox.costs.catalog import ModelCatalog", "ModelCatalog.builtin()"),
    ],
)
def test_facts_are_read_on_first_use_only(statement: str, then: str) -> None:
    code = _OPENED.format(statement=statement, then=then)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "1"]  # none at import, once on first use
