"""Model profiles of Claude models, built from polyvox's model facts.

The facts (context windows, output limits, capabilities) are written once, in
:mod:`polyvox.core.facts`; this module adds what the Messages API decides: images by URL
and PDFs where the model takes images, ``tool_choice`` with tool calling, and
``temperature`` (every Claude model takes it). Built on the first lookup: importing this
module reads nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from langchain_core.language_models import ModelProfile

from polyvox.core.facts import ModelFacts, profiles_from_facts
from polyvox.core.lazy import LazyMapping
from polyvox.core.profiles import register_profiles

__all__ = ["ANTHROPIC_PROFILES", "anthropic_profile"]


def anthropic_profile(facts: ModelFacts) -> ModelProfile:
    """A Claude model's profile as the Messages API sees it.

    Args:
        facts: The model's facts.

    Returns:
        :meth:`ModelFacts.profile` plus ``image_url_inputs``, ``pdf_inputs``,
        ``tool_choice`` and ``temperature``.
    """
    profile = facts.profile()
    vision = facts.supports("vision")
    profile["image_url_inputs"] = vision
    profile["pdf_inputs"] = vision
    profile["tool_choice"] = facts.supports("tools")
    profile["temperature"] = True
    return profile


ANTHROPIC_PROFILES: Mapping[str, ModelProfile] = LazyMapping(
    functools.partial(profiles_from_facts, "anthropic", anthropic_profile)
)
"""Profiles of Claude models by id; dated snapshots (``claude-sonnet-4-5-20250929``) match
by prefix. Built on first access."""

register_profiles("anthropic", lambda: ANTHROPIC_PROFILES)
