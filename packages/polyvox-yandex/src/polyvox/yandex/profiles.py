"""Model profiles of the Yandex AI Studio models, built from polyvox's model facts.

The facts (context windows, capabilities, languages) are written once, in
:mod:`polyvox.core.facts`; this module adds what the foundation-models API decides:
``tool_choice`` (``toolChoice`` modes) where the model has tools, JSON-schema structured
output (``jsonSchema``), and text-only input (the completion API takes no images).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from langchain_core.language_models import ModelProfile

from polyvox.core.facts import ModelFacts, profiles_from_facts
from polyvox.core.lazy import LazyMapping
from polyvox.core.profiles import register_profiles

__all__ = ["YANDEX_PROFILES", "yandex_profile"]


def yandex_profile(facts: ModelFacts) -> ModelProfile:
    """A model's profile as the foundation-models completion API sees it.

    Args:
        facts: The model's facts.

    Returns:
        :meth:`ModelFacts.profile` with what the API adds.
    """
    profile = facts.profile()
    profile["tool_choice"] = facts.supports("tools")
    profile["image_inputs"] = False
    profile["image_url_inputs"] = False
    profile["open_weights"] = False
    return profile


YANDEX_PROFILES: Mapping[str, ModelProfile] = LazyMapping(
    functools.partial(profiles_from_facts, "yandex", yandex_profile)
)
"""Profiles by model short name (``yandexgpt``, ``yandexgpt/rc``...). Built on first access."""

register_profiles("yandex", lambda: YANDEX_PROFILES)
