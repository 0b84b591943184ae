"""Model profiles of the models this package serves, built from polyvox's model facts.

The facts (context windows, output limits, capabilities) are written once, in
:mod:`polyvox.core.facts`; this module adds what the OpenAI-compatible API decides:
images can be passed by URL where the model takes images, ``tool_choice`` goes with tool
calling, and OpenAI's reasoning models take no ``temperature``. Profiles are registered for
OpenAI and for the OpenAI-compatible providers the facts list (OpenRouter, Together AI,
Mistral), and built on the first lookup: importing this module reads nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from langchain_core.language_models import ModelProfile

from polyvox.core.facts import ModelFacts, profiles_from_facts
from polyvox.core.lazy import LazyMapping
from polyvox.core.profiles import register_profiles

__all__ = ["OPENAI_PROFILES", "PROVIDERS", "openai_profile"]

PROVIDERS = ("openai", "openrouter", "together", "mistral")
"""The providers whose models get profiles from the facts here."""


def openai_profile(facts: ModelFacts) -> ModelProfile:
    """A model's profile as the OpenAI-compatible chat API sees it.

    Args:
        facts: The model's facts.

    Returns:
        :meth:`ModelFacts.profile` plus ``image_url_inputs``, ``tool_choice`` and, for
        OpenAI's own models (``gpt-5``, ``openai/gpt-5`` on OpenRouter), ``temperature``.
    """
    profile = facts.profile()
    profile["image_url_inputs"] = facts.supports("vision")
    profile["tool_choice"] = facts.supports("tools")
    if facts.provider == "openai" or facts.model.startswith("openai/"):
        profile["temperature"] = not facts.supports("reasoning")
    return profile


OPENAI_PROFILES: Mapping[str, ModelProfile] = LazyMapping(
    functools.partial(profiles_from_facts, "openai", openai_profile)
)
"""Profiles of OpenAI's chat models by id; dated snapshots (``gpt-4o-2024-08-06``) match
by prefix. Built on first access."""

register_profiles("openai", lambda: OPENAI_PROFILES)
for _provider in PROVIDERS[1:]:
    register_profiles(_provider, functools.partial(profiles_from_facts, _provider, openai_profile))
