"""Model profiles (:class:`~langchain_core.language_models.ModelProfile`) by provider and model.

Provider packages register what they know about their models at import time, usually as
a builder over the model facts (:mod:`polyvox.core.facts`) that runs on the first lookup
for the provider, so importing a package reads no data. Chat models look their profile up
by model id, falling back to the longest registered prefix (``gpt-4o-2024-08-06`` →
``gpt-4o``) so dated snapshots share their family's profile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from langchain_core.language_models import ModelProfile

__all__ = ["ProfileSource", "get_profile", "register_profiles", "registered_models"]

ProfileSource = Mapping[str, ModelProfile] | Callable[[], Mapping[str, ModelProfile]]
"""Model id → profile, or a function returning that mapping when first needed."""

_lock = threading.RLock()
_sources: dict[str, list[ProfileSource]] = {}
_tables: dict[str, dict[str, ModelProfile]] = {}


def register_profiles(provider: str, profiles: ProfileSource) -> None:
    """Register (or override) profiles for a provider's models.

    Args:
        provider: The provider id (``"openai"``, ``"openrouter"``, ...).
        profiles: Model id → profile (copied now), or a function returning that mapping,
            called on the first lookup for ``provider``. Later registrations win, key by key.
    """
    with _lock:
        source = profiles if callable(profiles) else dict(profiles)
        _sources.setdefault(provider, []).append(source)
        _tables.pop(provider, None)


def _table(provider: str) -> dict[str, ModelProfile]:
    table = _tables.get(provider)
    if table is not None:
        return table
    with _lock:
        table = _tables.get(provider)
        if table is None:
            sources = _sources.get(provider, [])
            table = {}
            for i, source in enumerate(sources):
                if callable(source):
                    source = sources[i] = dict(source())  # built once, kept for rebuilds
                table.update(source)
            _tables[provider] = table
        return table


def registered_models(provider: str) -> list[str]:
    """List the model ids with a registered profile for ``provider``.

    Args:
        provider: The provider id.

    Returns:
        The model ids, sorted.
    """
    return sorted(_table(provider))


def get_profile(provider: str, model: str) -> ModelProfile | None:
    """Look a model's profile up.

    Args:
        provider: The provider id.
        model: The model id; an exact match wins, else the longest registered prefix
            (matched at a ``-``, ``:``, ``/`` or ``.`` boundary).

    Returns:
        A copy of the profile, or ``None`` when nothing matches.
    """
    table = _table(provider)
    if not table:
        return None
    if model in table:
        return ModelProfile(**table[model])
    best: str | None = None
    for key in table:
        if (
            model.startswith(key)
            and len(model) > len(key)
            and model[len(key)] in "-:/."
            and (best is None or len(key) > len(best))
        ):
            best = key
    return ModelProfile(**table[best]) if best is not None else None
