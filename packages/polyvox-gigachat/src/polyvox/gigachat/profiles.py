"""Model profiles of GigaChat models, built from polyvox's model facts.

The facts (context windows, capabilities, languages) are written once, in
:mod:`polyvox.core.facts`; this module adds what GigaChat's v1 API decides: a forced
function (``function_call: {"name"}``) wherever functions are, images only as uploaded
files (no URLs), and ``temperature``. Built on the first lookup: importing this module
reads nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from langchain_core.language_models import ModelProfile

from polyvox.core.facts import ModelFacts, profiles_from_facts
from polyvox.core.lazy import LazyMapping
from polyvox.core.profiles import register_profiles

__all__ = ["GIGACHAT_PROFILES", "gigachat_profile"]


def gigachat_profile(facts: ModelFacts) -> ModelProfile:
    """A GigaChat model's profile as the v1 chat API sees it.

    Args:
        facts: The model's facts.

    Returns:
        :meth:`ModelFacts.profile` plus ``tool_choice``, ``image_url_inputs`` (no: images
        are uploaded files) and ``temperature``.
    """
    profile = facts.profile()
    profile["tool_choice"] = facts.supports("tools")
    profile["image_url_inputs"] = False
    profile["temperature"] = True
    return profile


GIGACHAT_PROFILES: Mapping[str, ModelProfile] = LazyMapping(
    functools.partial(profiles_from_facts, "gigachat", gigachat_profile)
)
"""Profiles of GigaChat models by id; versions (``GigaChat-2-Max:2.0.28.2``) and
``-preview`` names match by prefix. Built on first access."""

register_profiles("gigachat", lambda: GIGACHAT_PROFILES)
