"""Model profiles of the Gemini models, built from polyvox's model facts.

The facts (context windows, capabilities) are written once, in :mod:`polyvox.core.facts`;
this module adds what the Gemini API decides: ``tool_choice`` (``toolConfig`` modes),
images by URL (``fileData``) as well as inline, PDF and audio inputs, and JSON-schema
structured output (``responseJsonSchema``). Built on the first lookup.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from langchain_core.language_models import ModelProfile

from polyvox.core.facts import ModelFacts, profiles_from_facts
from polyvox.core.lazy import LazyMapping
from polyvox.core.profiles import register_profiles

__all__ = ["GOOGLE_PROFILES", "google_profile"]


def google_profile(facts: ModelFacts) -> ModelProfile:
    """A model's profile as the Gemini API sees it.

    Args:
        facts: The model's facts.

    Returns:
        :meth:`ModelFacts.profile` with what the API adds.
    """
    profile = facts.profile()
    profile["tool_choice"] = facts.supports("tools")
    vision = facts.supports("vision")
    profile["image_url_inputs"] = vision
    profile["pdf_inputs"] = vision
    profile["audio_inputs"] = vision
    profile["video_inputs"] = vision
    profile["open_weights"] = False
    return profile


GOOGLE_PROFILES: Mapping[str, ModelProfile] = LazyMapping(
    functools.partial(profiles_from_facts, "google", google_profile)
)
"""Profiles by Gemini model id. Built on first access."""

register_profiles("google", lambda: GOOGLE_PROFILES)
