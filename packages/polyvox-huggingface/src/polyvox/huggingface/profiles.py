"""Model profiles of the Hugging Face models, built from polyvox's model facts.

The facts (context windows, capabilities) are written once, in :mod:`polyvox.core.facts`;
this module adds what the router's OpenAI-style chat API decides: ``tool_choice`` goes with
tool calling, images travel by URL where the model takes images, and the weights are open.
Built on the first lookup.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from langchain_core.language_models import ModelProfile

from polyvox.core.facts import ModelFacts, profiles_from_facts
from polyvox.core.lazy import LazyMapping
from polyvox.core.profiles import register_profiles

__all__ = ["HUGGINGFACE_PROFILES", "huggingface_profile"]


def huggingface_profile(facts: ModelFacts) -> ModelProfile:
    """A model's profile as the Inference Providers chat API sees it.

    Args:
        facts: The model's facts.

    Returns:
        :meth:`ModelFacts.profile` with what the API adds.
    """
    profile = facts.profile()
    profile["tool_choice"] = facts.supports("tools")
    profile["image_url_inputs"] = facts.supports("vision")
    profile["open_weights"] = True
    return profile


HUGGINGFACE_PROFILES: Mapping[str, ModelProfile] = LazyMapping(
    functools.partial(profiles_from_facts, "huggingface", huggingface_profile)
)
"""Profiles by Hub model id. Built on first access."""

register_profiles("huggingface", lambda: HUGGINGFACE_PROFILES)
