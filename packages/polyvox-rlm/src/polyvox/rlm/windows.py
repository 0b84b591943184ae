"""A model's context window, as the RLM judges whether an input fits.

The catalog's window first, then the model's profile (``max_input_tokens``), then
:data:`DEFAULT_CONTEXT_WINDOW`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from polyvox.costs.catalog import ModelCatalog

__all__ = ["DEFAULT_CONTEXT_WINDOW", "context_window_of"]

DEFAULT_CONTEXT_WINDOW = 8192
"""Input tokens assumed for a model neither the catalog nor its profile knows (a deliberately
small window: guessing too small sends a prompt to the RLM, guessing too large fails it)."""


def context_window_of(model: BaseChatModel | str, catalog: ModelCatalog | None = None) -> int:
    """A model's context window in tokens.

    Args:
        model: A chat model, or a model name (``"gpt-4o"``, ``"openai/gpt-4o"``).
        catalog: The catalog to look in (the default catalog).

    Returns:
        The catalog's window, else the profile's ``max_input_tokens``, else
        :data:`DEFAULT_CONTEXT_WINDOW`.
    """
    if catalog is None:
        from polyvox.costs.catalog import default_catalog

        catalog = default_catalog()
    if isinstance(model, str):
        provider, _, name = model.rpartition("/")
        entry = catalog.find(name, provider or None) or catalog.find(model)
        return entry.context_window if entry is not None else DEFAULT_CONTEXT_WINDOW
    from polyvox.rlm.accounting import model_identity

    provider, name = model_identity(model)
    entry = catalog.find(name, provider if provider != "unknown" else None)
    if entry is not None:
        return entry.context_window
    profile = getattr(model, "profile", None) or {}
    window = profile.get("max_input_tokens") if isinstance(profile, dict) else None
    return int(window) if window else DEFAULT_CONTEXT_WINDOW
