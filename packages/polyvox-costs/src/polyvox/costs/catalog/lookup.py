"""Finding entries by name: ids, aliases, Yandex URIs and family prefixes; profiles as fallback.

Also where entries are made: from the model facts (the built-in models), from validated
YAML fields and from registered profiles.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from polyvox.costs.catalog.errors import CatalogError
from polyvox.costs.catalog.types import LOCAL_PROVIDERS, Capability, ModelEntry, canonical_provider

if TYPE_CHECKING:
    from polyvox.core.facts import ModelFacts

__all__ = ["Key", "NameIndex", "facts_entry", "new_entry", "norm", "profile_entry"]

Key = tuple[str, str]
"""``(provider, lower-cased model id)``."""

_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4})(?=$|[-:/@])")


def norm(model: str) -> str:
    """Lower-case; a Yandex URI (``gpt://<folder>/yandexgpt/latest``) loses scheme and folder."""
    name = model.strip()
    scheme, sep, rest = name.partition("://")
    if sep and scheme.isalpha():
        name = rest.partition("/")[2] or rest
    return name.lower()


class NameIndex:
    """Names (ids and aliases) of each provider's entries, for exact and family lookups."""

    def __init__(self) -> None:
        self._names: dict[str, dict[str, Key]] = {}
        self._local: set[Key] = set()

    def providers(self) -> list[str]:
        """Providers with at least one name, in the order first seen."""
        return [p for p, names in self._names.items() if names]

    def add(self, key: Key, names: Iterable[str], *, local: bool = False) -> None:
        """Point ``names`` at ``key`` (a later entry takes over a name).

        Args:
            key: The entry's key.
            names: Its id and aliases.
            local: Whether the entry is a local model (see :meth:`find`).
        """
        table = self._names.setdefault(key[0], {})
        for name in names:
            table[norm(name)] = key
        if local:
            self._local.add(key)
        else:
            self._local.discard(key)

    def remove(self, key: Key, names: Iterable[str]) -> None:
        """Drop those of ``names`` that still point at ``key``."""
        table = self._names.get(key[0], {})
        for name in names:
            if table.get(norm(name)) == key:
                del table[norm(name)]

    def find(self, model: str, provider: str | None) -> tuple[Key | None, bool]:
        """``(key, exact)``: by id or alias, else the longest known family prefix.

        A family member adds a tag (``llama3.2:3b`` → ``llama3.2``), a date
        (``gpt-4o-2024-08-06`` → ``gpt-4o``) or a word (``GigaChat-2-Max-preview``), never a
        version number (``GigaChat-3-Max`` is not ``GigaChat``). Without ``provider``,
        providers are tried in order.

        A family match never crosses from a cloud name to a local model: it reaches a local
        entry only when the lookup names a local provider (``ollama``, ``llamacpp``,
        ``vllm``), or, without a provider, through an Ollama tag (``mistral:7b``). So
        ``mistral-large`` is never the local ``ollama/mistral``, priced at 0.
        """
        name = norm(model)
        wanted = canonical_provider(provider) if provider else None
        providers = [wanted] if wanted else list(self._names)
        for p in providers:
            key = self._names.get(p, {}).get(name)
            if key is not None:
                return key, True
        local_lookup = wanted in LOCAL_PROVIDERS
        best: Key | None = None
        best_len = 0
        for p in providers:
            for known, key in self._names.get(p, {}).items():
                if (
                    best_len < len(known) < len(name)
                    and name.startswith(known)
                    and _family_suffix(rest := name[len(known) :])
                    and (
                        local_lookup
                        or key not in self._local
                        or (wanted is None and rest[0] == ":")
                    )
                ):
                    best, best_len = key, len(known)
        return best, False

    def suggest(self, model: str, provider: str | None, label: Callable[[Key], str]) -> list[str]:
        """Up to five close matches (``provider/model``) for an unknown name."""
        wanted = canonical_provider(provider) if provider else None
        pool: dict[str, str] = {}
        for p, names in self._names.items():
            if wanted in (None, p):
                for name, key in names.items():
                    pool.setdefault(name, label(key))
        close = difflib.get_close_matches(norm(model), list(pool), n=5, cutoff=0.6)
        return list(dict.fromkeys(pool[name] for name in close))


def _family_suffix(rest: str) -> bool:
    if rest[0] in ":/@":
        return True
    if rest[0] != "-" or len(rest) < 2:
        return False
    return not rest[1].isdigit() or _SNAPSHOT.match(rest) is not None


def profile_entry(provider: str, model: str) -> ModelEntry | None:
    """An entry made from a provider package's registered profile, if it has a context window.

    Returns:
        The entry (price not yet resolved), or ``None``.
    """
    from polyvox.core.profiles import get_profile

    provider = canonical_provider(provider)
    profile = get_profile(provider, model)
    window = profile.get("max_input_tokens") if profile else None
    if not profile or not isinstance(window, int) or window <= 0:
        return None
    flags = {
        Capability.TOOLS: profile.get("tool_calling"),
        Capability.VISION: profile.get("image_inputs"),
        Capability.STRUCTURED_OUTPUT: profile.get("structured_output"),
        Capability.REASONING: profile.get("reasoning_output"),
    }
    return ModelEntry(
        provider,
        model,
        context_window=window,
        max_output=profile.get("max_output_tokens"),
        capabilities=frozenset({c for c, on in flags.items() if on} | {Capability.STREAMING}),
        local=provider in LOCAL_PROVIDERS,
    )


def new_entry(fields: Mapping[str, Any], *, file: str) -> ModelEntry:
    """Build a new entry from validated YAML fields (``context_window`` required).

    Raises:
        CatalogError: Naming the file, the entry and the field.
    """
    label = f"{fields['provider']}/{fields['model']}"
    if "context_window" not in fields:
        msg = "required for a new model"
        raise CatalogError(msg, file=file, entry=label, field="context_window")
    values = dict(fields)
    values.setdefault("local", canonical_provider(values["provider"]) in LOCAL_PROVIDERS)
    try:
        return ModelEntry(**values)
    except CatalogError as exc:
        raise exc.within(file=file, entry=label) from exc


def facts_entry(facts: ModelFacts) -> ModelEntry:
    """The catalog entry of a model in :mod:`polyvox.core.facts` (price not yet resolved).

    The facts' fields are entry fields by the same names; ``local`` follows the provider.

    Raises:
        CatalogError: Naming the facts file, the entry and the field (an unknown
            capability or tier, say).
    """
    from polyvox.core.facts import FACTS_FILE

    values = {f.name: getattr(facts, f.name) for f in fields(facts)}
    return new_entry(values, file=FACTS_FILE)
