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
from polyvox.core.profiles import get_profile, register_profiles

__all__ = ["GIGACHAT_PROFILES", "gigachat_profile", "profile_for"]


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

_ROOTS = frozenset({"GigaChat"})
"""Ids that begin every other id: a lookup by prefix would make ``GigaChat-3-Max`` (a new
generation, unknown here) a ``GigaChat``, so they are looked up exactly, here only."""


def profile_for(model: str) -> ModelProfile | None:
    """A GigaChat model's profile: by its id, without the version GigaChat answers with.

    Args:
        model: ``GigaChat-2-Max``, ``GigaChat-2-Max:2.0.28.2``, ``GigaChat-2-Max-preview``...

    Returns:
        A copy of the profile, or ``None`` for a model polyvox has no facts of.
    """
    base = model.split(":", 1)[0]
    if base in _ROOTS and base in GIGACHAT_PROFILES:
        return ModelProfile(**GIGACHAT_PROFILES[base])
    return get_profile("gigachat", base)


register_profiles(
    "gigachat", lambda: {k: v for k, v in GIGACHAT_PROFILES.items() if k not in _ROOTS}
)
