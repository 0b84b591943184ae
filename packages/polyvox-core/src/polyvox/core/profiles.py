"""Model profiles (:class:`~langchain_core.language_models.ModelProfile`) by provider and model.

Provider packages register what they know about their models at import time; chat
models look their profile up by model id, falling back to the longest registered prefix
(``gpt-4o-2024-08-06`` → ``gpt-4o``) so dated snapshots share their family's profile.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from langchain_core.language_models import ModelProfile

__all__ = ["get_profile", "register_profiles", "registered_models"]

_lock = threading.Lock()
_profiles: dict[str, dict[str, ModelProfile]] = {}


def register_profiles(provider: str, profiles: Mapping[str, ModelProfile]) -> None:
    """Register (or override) profiles for a provider's models.

    Args:
        provider: The provider id (``"openai"``, ``"openrouter"``, ...).
        profiles: Model id → profile. Later registrations win, key by key.
    """
    with _lock:
        _profiles.setdefault(provider, {}).update(profiles)


def registered_models(provider: str) -> list[str]:
    """List the model ids with a registered profile for ``provider``.

    Args:
        provider: The provider id.

    Returns:
        The model ids, sorted.
    """
    return sorted(_profiles.get(provider, {}))


def get_profile(provider: str, model: str) -> ModelProfile | None:
    """Look a model's profile up.

    Args:
        provider: The provider id.
        model: The model id; an exact match wins, else the longest registered prefix
            (matched at a ``-``, ``:``, ``/`` or ``.`` boundary).

    Returns:
        A copy of the profile, or ``None`` when nothing matches.
    """
    table = _profiles.get(provider)
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
