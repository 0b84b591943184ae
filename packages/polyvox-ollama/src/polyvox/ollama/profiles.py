"""Model profiles of the models commonly served by Ollama, built from polyvox's model facts.

The facts (context windows, capabilities) are written once, in :mod:`polyvox.core.facts`;
this module adds what Ollama decides: its API has no ``tool_choice``, and the models it
serves are open-weights. ``/api/show`` is asked first for a model's context window; the
profile is the fallback. Profiles are built on the first lookup: importing this module
reads nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from langchain_core.language_models import ModelProfile

from polyvox.core.facts import ModelFacts, model_facts, profiles_from_facts
from polyvox.core.lazy import LazyMapping
from polyvox.core.profiles import register_profiles

__all__ = ["BIELIK_ALIASES", "BIELIK_VARIANTS", "OLLAMA_PROFILES", "ollama_profile"]


def ollama_profile(facts: ModelFacts) -> ModelProfile:
    """A model's profile as Ollama's chat API sees it.

    Args:
        facts: The model's facts.

    Returns:
        :meth:`ModelFacts.profile` with ``tool_choice`` off and ``open_weights`` on.
    """
    profile = facts.profile()
    profile["tool_choice"] = False
    profile["open_weights"] = True
    return profile


OLLAMA_PROFILES: Mapping[str, ModelProfile] = LazyMapping(
    functools.partial(profiles_from_facts, "ollama", ollama_profile)
)
"""Profiles by Ollama model name; tags (``llama3.2:3b``) match their family by prefix.
Built on first access."""

BIELIK_VARIANTS: Mapping[str, ModelProfile] = LazyMapping(
    lambda: {tag: p for tag, p in OLLAMA_PROFILES.items() if tag.startswith("SpeakLeash/bielik")}
)
"""Bielik tags on Ollama (SpeakLeash's namespace) and their profiles; any other tag works too."""

BIELIK_ALIASES: Mapping[str, str] = LazyMapping(
    lambda: {
        alias: facts.model
        for facts in model_facts("ollama")
        if facts.model.startswith("SpeakLeash/bielik")
        for alias in facts.aliases
    }
)
"""Bielik's short names (``bielik-11b``, ``bielik-4.5b``, ...) and the tag each stands for."""

register_profiles("ollama", lambda: OLLAMA_PROFILES)
