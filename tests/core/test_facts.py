"""The model facts reader, profiles built lazily from it, and ``LazyMapping``."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from langchain_core.language_models import ModelProfile

from polyvox.core.facts import FactsError, ModelFacts, parse_facts, profiles_from_facts
from polyvox.core.lazy import LazyMapping
from polyvox.core.profiles import get_profile, register_profiles, registered_models

DOC: dict[str, Any] = {
    "version": 1,
    "about": ["a test document"],
    "capability_sets": {"chat": ["tools", "streaming"]},
    "language_sets": {"pl": ["pl", "en"]},
    "providers": {
        "acme": {
            "source": "acme's model pages",
            "notes": "none",
            "models": [
                {"model": "big", "aliases": ["b"], "context_window": 1000, "max_output": 100,
                 "capabilities": "chat", "languages": "pl", "tier": "powerful",
                 "typical_latency_ms": 500, "tokens_per_second": 40},
                {"model": "embed", "context_window": 512, "capabilities": ["embeddings"]},
            ],
        }
    },
}  # fmt: skip


def _doc(**model: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    doc["providers"]["acme"]["models"] = [{"model": "m", "context_window": 10, **model}]
    return doc


def test_parse_resolves_named_sets_and_defaults() -> None:
    big, embed = parse_facts(DOC)
    assert big == ModelFacts(
        "acme",
        "big",
        1000,
        100,
        frozenset({"tools", "streaming"}),
        ("b",),
        ("pl", "en"),
        "powerful",
        500.0,
        40.0,
    )
    assert (embed.max_output, embed.languages, embed.tier, embed.embeddings) == (
        None,
        (),
        "balanced",
        True,
    )
    assert big.supports("tools")
    assert not big.supports("vision")
    assert not big.embeddings


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"context_window": 0}, "acme/m: context_window: expected a positive whole number"),
        ({"context_window": True}, "context_window: expected a positive whole number"),
        ({"max_output": "many"}, "max_output: expected a positive whole number"),
        ({"capabilities": "nope"}, "capabilities: 'nope' is neither a list nor a name"),
        ({"languages": ["pl", ""]}, "languages: expected a list of non-empty strings"),
        ({"aliases": "b"}, "aliases: expected a list"),
        ({"tier": 3}, "tier: expected a string"),
        ({"tokens_per_second": -1}, "tokens_per_second: expected a positive number"),
        ({"typical_latency_ms": float("nan")}, "typical_latency_ms: expected a number"),
        ({"price": {"input": 1}}, "acme/m: unknown field 'price'"),
        ({"model": " m"}, "acme: model: expected an id"),
    ],
)
def test_parse_names_the_bad_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(FactsError, match=message) as err:
        parse_facts(_doc(**fields))
    assert str(err.value).startswith("polyvox/core/model_facts.json: ")


def test_parse_refuses_a_malformed_document() -> None:
    twice = copy.deepcopy(DOC)
    twice["providers"]["acme"]["models"].append({"model": "BIG", "context_window": 1})
    with pytest.raises(FactsError, match="acme/BIG: listed twice"):
        parse_facts(twice)
    with pytest.raises(FactsError, match="version: expected 1"):
        parse_facts({**DOC, "version": 2})
    with pytest.raises(FactsError, match=r"providers\.acme\.source: required"):
        parse_facts({**DOC, "providers": {"acme": {"models": []}}})
    with pytest.raises(FactsError, match="unknown field 'model'"):
        parse_facts({**DOC, "providers": {"acme": {"source": "s", "model": []}}})
    with pytest.raises(FactsError, match="lower-case"):
        parse_facts({**DOC, "providers": {"Acme": {"source": "s", "models": []}}})
    with pytest.raises(FactsError, match="expected an object at the top"):
        parse_facts([])


def test_profile_of_facts() -> None:
    big, _ = parse_facts(DOC)
    assert big.profile() == ModelProfile(
        max_input_tokens=1000,
        max_output_tokens=100,
        text_inputs=True,
        image_inputs=False,
        text_outputs=True,
        tool_calling=True,
        tool_call_streaming=True,
        structured_output=False,
        reasoning_output=False,
    )


def test_profiles_from_facts_leave_embeddings_models_out() -> None:
    profiles = profiles_from_facts("openai", ModelFacts.profile)
    assert "gpt-4o" in profiles
    assert "text-embedding-3-small" not in profiles
    assert profiles_from_facts("no-such-provider", ModelFacts.profile) == {}


def test_a_builder_runs_on_first_lookup_once_and_later_registrations_win() -> None:
    calls: list[int] = []

    def build() -> dict[str, ModelProfile]:
        calls.append(1)
        return {"x1": ModelProfile(max_input_tokens=10), "x2": ModelProfile(max_input_tokens=20)}

    register_profiles("acme-lazy", build)
    assert calls == []
    assert get_profile("acme-lazy", "x1-mini") == {"max_input_tokens": 10}
    assert get_profile("acme-lazy", "x2") == {"max_input_tokens": 20}
    register_profiles("acme-lazy", {"x2": ModelProfile(max_input_tokens=25)})
    assert get_profile("acme-lazy", "x2") == {"max_input_tokens": 25}
    assert registered_models("acme-lazy") == ["x1", "x2"]
    assert calls == [1]


def test_lazy_mapping_builds_on_first_access() -> None:
    calls: list[int] = []

    def build() -> dict[str, int]:
        calls.append(1)
        return {"a": 1, "b": 2}

    table = LazyMapping(build)
    assert calls == []
    assert table["a"] == 1
    assert list(table) == ["a", "b"]
    assert len(table) == 2
    assert dict(table.items()) == {"a": 1, "b": 2}
    assert repr(table) == "LazyMapping({'a': 1, 'b': 2})"
    assert calls == [1]
