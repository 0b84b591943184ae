"""Model facts: what polyvox knows about each model, written once, in ``model_facts.json``.

For each model of each provider: its context window and output limit, its capabilities,
aliases, the languages it is strong in, its tier and indicative speed. Provider packages
build their :class:`~langchain_core.language_models.ModelProfile` tables from these facts
(:func:`profiles_from_facts`), and the model catalog of ``polyvox-costs`` builds its entries
from them; neither keeps a copy. Prices are not model facts here: the catalog has its own
dated price overlay and genai-prices.

Importing this module reads nothing: the file is parsed on the first call to
:func:`model_facts`, once per process.

Example:
    .. code-block:: python

        from polyvox.core.facts import model_facts

        gpt = next(f for f in model_facts("openai") if f.model == "gpt-4o")
        gpt.context_window  # 128000
        gpt.supports("vision")  # True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import ModelProfile

__all__ = [
    "FACTS_FILE",
    "FactsError",
    "ModelFacts",
    "model_facts",
    "parse_facts",
    "profiles_from_facts",
]

FACTS_FILE = "polyvox/core/model_facts.json"
"""The facts file, as errors name it (shipped inside ``polyvox-core``)."""

_VERSION = 1
_PROVIDER_KEYS = frozenset({"source", "notes", "models"})
_MODEL_KEYS = frozenset(
    {"model", "aliases", "context_window", "max_output", "capabilities", "languages"}
    | {"tier", "typical_latency_ms", "tokens_per_second"}
)


class FactsError(ValueError):
    """The facts file is malformed; the message names the entry and the field."""


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """What polyvox knows about one model of one provider.

    The field names are those of the catalog's ``ModelEntry`` (and of catalog YAML files).
    """

    provider: str
    """Provider id (``openai``, ``ollama``, ``openrouter``, ...)."""

    model: str
    """The id the provider's API takes."""

    context_window: int
    """Maximum input tokens."""

    max_output: int | None = None
    """Maximum output tokens per call, where documented."""

    capabilities: frozenset[str] = frozenset()
    """What the model supports: ``tools``, ``vision``, ``structured_output``, ``json_mode``,
    ``streaming``, ``embeddings``, ``reasoning``."""

    aliases: tuple[str, ...] = ()
    """Other names for the model."""

    languages: tuple[str, ...] = ()
    """ISO 639-1 codes of the languages it is strong in (empty: not documented)."""

    tier: str = "balanced"
    """``fast``, ``balanced`` or ``powerful``."""

    typical_latency_ms: float | None = None
    """Indicative time to first token for a short prompt, where known."""

    tokens_per_second: float | None = None
    """Indicative output speed, where known."""

    @property
    def embeddings(self) -> bool:
        """Whether this is an embeddings model (it has no chat profile)."""
        return "embeddings" in self.capabilities

    def supports(self, capability: str) -> bool:
        """Whether the model has ``capability`` (``"tools"``, ``"vision"``...)."""
        return capability in self.capabilities

    def profile(self) -> ModelProfile:
        """The facts every chat API reads the same way, as a ``ModelProfile``.

        Context window, output limit, text in and out, images in, tool calling (and
        streaming of tool calls), structured output and reasoning output. What depends on
        the provider's API (``tool_choice``, ``image_url_inputs``, ``temperature``,
        ``open_weights``...) the provider package adds.

        Returns:
            A new profile.
        """
        tools = self.supports("tools")
        profile = ModelProfile(
            max_input_tokens=self.context_window,
            text_inputs=True,
            image_inputs=self.supports("vision"),
            text_outputs=True,
            tool_calling=tools,
            tool_call_streaming=tools,
            structured_output=self.supports("structured_output"),
            reasoning_output=self.supports("reasoning"),
        )
        if self.max_output is not None:
            profile["max_output_tokens"] = self.max_output
        return profile


def model_facts(provider: str | None = None) -> tuple[ModelFacts, ...]:
    """The facts of every model (or of one provider's), in the file's order.

    Args:
        provider: A provider id; ``None`` for every provider.

    Returns:
        The facts; empty for a provider the file does not list.

    Raises:
        FactsError: When the file is malformed (a packaging or editing mistake).
    """
    facts = _load()
    return facts if provider is None else tuple(f for f in facts if f.provider == provider)


def profiles_from_facts(
    provider: str, profile: Callable[[ModelFacts], ModelProfile]
) -> dict[str, ModelProfile]:
    """The chat profiles of a provider's models, by model id.

    Embeddings models are left out: a ``ModelProfile`` describes a chat model.

    Args:
        provider: The provider id in the facts.
        profile: Turns one model's facts into its profile (usually
            :meth:`ModelFacts.profile` plus what the provider's API adds).

    Returns:
        Model id → profile.
    """
    return {f.model: profile(f) for f in model_facts(provider) if not f.embeddings}


@functools.cache
def _load() -> tuple[ModelFacts, ...]:
    import json
    from importlib import resources

    text = resources.files("polyvox.core").joinpath("model_facts.json").read_text("utf-8")
    return parse_facts(json.loads(text))


def parse_facts(data: Any) -> tuple[ModelFacts, ...]:
    """Validate a facts document (the parsed JSON) into :class:`ModelFacts`.

    Args:
        data: The document: ``version``, ``providers`` (provider id → ``source``, optional
            ``notes`` and ``models``), optional ``capability_sets`` and ``language_sets``
            (name → list, for entries that name a list instead of spelling it out) and
            ``about`` notes.

    Returns:
        The facts, in the document's order.

    Raises:
        FactsError: Naming the first malformed entry and field.
    """
    if not isinstance(data, Mapping):
        raise FactsError(f"{FACTS_FILE}: expected an object at the top")
    if data.get("version") != _VERSION:
        msg = f"{FACTS_FILE}: version: expected {_VERSION}, got {data.get('version')!r}"
        raise FactsError(msg)
    sets = {name: _named_lists(data.get(name, {}), name) for name in _SET_OF}
    providers = data.get("providers")
    if not isinstance(providers, Mapping):
        raise FactsError(f"{FACTS_FILE}: providers: expected an object")
    out: list[ModelFacts] = []
    seen: set[tuple[str, str]] = set()
    for provider, body in providers.items():
        for raw in _provider_models(provider, body):
            facts = _entry(provider, raw, sets)
            key = (provider, facts.model.lower())
            if key in seen:
                raise FactsError(f"{FACTS_FILE}: {provider}/{facts.model}: listed twice")
            seen.add(key)
            out.append(facts)
    return tuple(out)


_SET_OF = {"capability_sets": "capabilities", "language_sets": "languages"}


def _named_lists(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, Mapping):
        raise FactsError(f"{FACTS_FILE}: {where}: expected an object of lists")
    return {str(name): _strings(items, f"{where}.{name}") for name, items in raw.items()}


def _provider_models(provider: Any, body: Any) -> list[Any]:
    where = f"{FACTS_FILE}: providers.{provider}"
    if not isinstance(provider, str) or not provider or provider != provider.strip().lower():
        raise FactsError(f"{where}: a provider id is a lower-case string")
    if not isinstance(body, Mapping):
        raise FactsError(f"{where}: expected an object")
    unknown = sorted(set(body) - _PROVIDER_KEYS)
    if unknown:
        raise FactsError(f"{where}: unknown field {unknown[0]!r}")
    for key in ("source", "notes"):
        if key in body and not isinstance(body[key], str):
            raise FactsError(f"{where}.{key}: expected a string")
    if not body.get("source"):
        raise FactsError(f"{where}.source: required (where the facts come from)")
    models = body.get("models")
    if not isinstance(models, list):
        raise FactsError(f"{where}.models: expected a list")
    return models


def _entry(
    provider: str, raw: Any, sets: Mapping[str, Mapping[str, tuple[str, ...]]]
) -> ModelFacts:
    if not isinstance(raw, Mapping):
        raise FactsError(f"{FACTS_FILE}: {provider}: expected an object per model, got {raw!r}")
    model = raw.get("model")
    if not isinstance(model, str) or not model.strip() or model != model.strip():
        raise FactsError(f"{FACTS_FILE}: {provider}: model: expected an id, got {model!r}")
    try:
        unknown = sorted(set(raw) - _MODEL_KEYS)
        if unknown:
            raise FactsError(f"unknown field {unknown[0]!r}")
        lists = {
            field: _strings(_named(raw.get(field, ()), sets[name], field, name), field)
            for name, field in _SET_OF.items()
        }
        tier = raw.get("tier", "balanced")
        if not isinstance(tier, str):
            raise FactsError(f"tier: expected a string, got {tier!r}")
        max_output = raw.get("max_output")
        return ModelFacts(
            provider,
            model,
            _count(raw.get("context_window"), "context_window"),
            None if max_output is None else _count(max_output, "max_output"),
            frozenset(lists["capabilities"]),
            _strings(raw.get("aliases", ()), "aliases"),
            lists["languages"],
            tier,
            _speed(raw.get("typical_latency_ms"), "typical_latency_ms"),
            _speed(raw.get("tokens_per_second"), "tokens_per_second"),
        )
    except FactsError as exc:
        raise FactsError(f"{FACTS_FILE}: {provider}/{model}: {exc}") from None


def _named(value: Any, sets: Mapping[str, tuple[str, ...]], field: str, where: str) -> Any:
    if not isinstance(value, str):
        return value
    if value not in sets:
        raise FactsError(f"{field}: {value!r} is neither a list nor a name in {where}")
    return sets[value]


def _strings(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(
        isinstance(item, str) and item.strip() for item in value
    ):
        raise FactsError(f"{field}: expected a list of non-empty strings, got {value!r}")
    return tuple(value)


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise FactsError(f"{field}: expected a positive whole number, got {value!r}")
    return value


def _speed(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FactsError(f"{field}: expected a number, got {value!r}")
    if value <= 0:
        raise FactsError(f"{field}: expected a positive number, got {value!r}")
    return float(value)
