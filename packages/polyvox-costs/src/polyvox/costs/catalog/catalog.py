"""The model catalog: look models up, register and override them, and price them.

The built-in entries are the models of :mod:`polyvox.core.facts` (the same facts the
provider packages' profiles come from); user files and :meth:`ModelCatalog.register` add
or override entries over them.

Lookups accept the model id or an alias, case-insensitively, Yandex URIs
(``gpt://<folder>/yandexgpt/latest``) and dated snapshots or tags of a known family
(``gpt-4o-2024-08-06`` → ``gpt-4o``, ``llama3.2:3b`` → ``llama3.2``). Prices are resolved
lazily: an entry's own price (the built-in file or yours) wins, then the dated overlay,
then genai-prices; with none, the model is *unpriced* (``price is None``), never free.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from polyvox.costs.catalog.errors import CatalogError, UnknownModelError
from polyvox.costs.catalog.lookup import (
    Key,
    NameIndex,
    facts_entry,
    new_entry,
    norm,
    profile_entry,
)
from polyvox.costs.catalog.pricing import PriceOverlay, builtin_overlay, genai_price, price_time
from polyvox.costs.catalog.selection import SelectionMixin
from polyvox.costs.catalog.types import (
    ModelEntry,
    ModelPrice,
    canonical_provider,
)

if TYPE_CHECKING:
    from polyvox.costs.catalog.schema import OverlayPrice
    from polyvox.costs.currency import CurrencyRates

__all__ = ["CATALOG_FILE_ENV", "ModelCatalog", "default_catalog", "set_default_catalog"]

CATALOG_FILE_ENV = "POLYVOX_CATALOG_FILE"
"""Environment variable naming a YAML file merged over the built-in catalog."""


class ModelCatalog(SelectionMixin):
    """Models, their capabilities, limits and prices; thread-safe.

    Example:
        .. code-block:: python

            from polyvox.costs.catalog import default_catalog

            catalog = default_catalog()
            catalog.get("gpt-4o").context_window  # 128000
            catalog.select(capabilities=["tools"], max_cost=1, language="pl")
    """

    def __init__(
        self,
        entries: Iterable[ModelEntry] = (),
        *,
        overlay: PriceOverlay | Iterable[OverlayPrice] | None = None,
        genai_prices: bool = True,
        price_date: date | datetime | None = None,
        rates: CurrencyRates | None = None,
    ) -> None:
        """Create a catalog (empty unless given entries; see :meth:`builtin`).

        Args:
            entries: Entries to register.
            overlay: Prices for what genai-prices lacks (none by default).
            genai_prices: Whether to ask genai-prices for prices.
            price_date: When prices should hold (``None``: the moment of lookup).
            rates: Exchange rates for price comparisons (``POLYVOX_FX_RATES`` when ``None``).
        """
        self._lock = threading.RLock()
        self._entries: dict[Key, ModelEntry] = {}
        self._index = NameIndex()
        self._resolved: dict[Key, ModelEntry] = {}
        self._prices: dict[Key, tuple[ModelPrice | None, bool]] = {}
        self.revision = 0
        """Goes up whenever an entry is registered or changed (for callers that cache prices)."""
        self.overlay = overlay if isinstance(overlay, PriceOverlay) else PriceOverlay(overlay or ())
        """Prices for what genai-prices lacks."""
        self.genai_prices = genai_prices
        """Whether genai-prices is consulted."""
        self.price_date = price_date
        """When prices should hold (``None``: now)."""
        self._rates = rates
        for entry in entries:
            self._store(entry)

    @classmethod
    def builtin(cls, *, extra: str | os.PathLike[str] | None = None, **kwargs: Any) -> ModelCatalog:
        """The models polyvox knows (:mod:`polyvox.core.facts`) with the built-in price overlay.

        Args:
            extra: A YAML file (or text) merged over the built-ins.
            **kwargs: Passed to the constructor (``price_date``, ``rates``, ...).

        Returns:
            A new catalog.
        """
        kwargs.setdefault("overlay", builtin_overlay())
        catalog = cls(**kwargs)
        for entry in _builtin_entries():
            catalog._store(entry)
        if extra is not None:
            catalog.load_yaml(extra)
        return catalog

    @property
    def rates(self) -> CurrencyRates:
        """Exchange rates used to compare prices across currencies."""
        if self._rates is None:
            from polyvox.costs.currency import CurrencyRates

            self._rates = CurrencyRates.from_env()
        return self._rates

    # -- lookup -------------------------------------------------------------------------

    def get(self, model: str, provider: str | None = None) -> ModelEntry:
        """A model's entry, its price resolved.

        Args:
            model: Model id, alias, Yandex URI, or a dated snapshot/tag of a known family.
            provider: The provider (``None``: any, first match in catalog order).

        Returns:
            The entry.

        Raises:
            UnknownModelError: Listing close matches and how to register the model.
        """
        entry = self.find(model, provider)
        if entry is None:
            raise UnknownModelError(model, provider, self._suggest(model, provider))
        return entry

    def find(self, model: str, provider: str | None = None) -> ModelEntry | None:
        """Like :meth:`get`, but ``None`` for an unknown model.

        Falls back to a provider package's registered :mod:`~polyvox.core.profiles` entry
        (context window and capabilities) when ``provider`` is given.
        """
        with self._lock:
            found, _ = self._lookup(model, provider)
            if found is not None:
                return self._resolve(found)
        return self._from_profile(model, provider)

    def get_model_config(self, provider: str, model: str) -> ModelEntry:
        """:meth:`get` with the provider first, as in ``ModelRegistry.get_model_config``."""
        return self.get(model, provider)

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.find(model) is not None

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[ModelEntry]:
        return iter(self.entries())

    def providers(self) -> list[str]:
        """The providers with at least one entry, in catalog order."""
        with self._lock:
            return self._index.providers()

    def entries(self, provider: str | None = None) -> list[ModelEntry]:
        """Every entry (of one provider), prices resolved, in catalog order."""
        wanted = canonical_provider(provider) if provider else None
        with self._lock:
            return [
                self._resolve(e)
                for e in self._entries.values()
                if wanted is None or e.provider == wanted
            ]

    def list_models(self, provider: str | None = None) -> list[str]:
        """Model ids as ``provider/model`` (all, or one provider's), in catalog order."""
        wanted = canonical_provider(provider) if provider else None
        with self._lock:
            return [e.id for e in self._entries.values() if wanted in (None, e.provider)]

    # -- registration ---------------------------------------------------------------------

    def register(self, entry: ModelEntry, *, replace_existing: bool = True) -> ModelEntry:
        """Add a model, or replace the entry with the same provider and id.

        Args:
            entry: The entry. With a ``price`` and ``price_source="auto"``, the source
                becomes ``user``; with ``price=None`` and ``price_source="auto"``, the price
                is looked up in the overlay and genai-prices.
            replace_existing: Whether an existing entry may be replaced.

        Returns:
            The stored entry, its price resolved.

        Raises:
            CatalogError: Not a ``ModelEntry``, or already registered with
                ``replace_existing=False``.
        """
        with self._lock:
            return self._resolve(self._store(entry, replace_existing=replace_existing))

    register_model = register

    def _store(self, entry: ModelEntry, *, replace_existing: bool = True) -> ModelEntry:
        if not isinstance(entry, ModelEntry):
            msg = f"expected a ModelEntry, got {type(entry).__name__}"
            raise CatalogError(msg, file="<code>")
        if entry.price is not None and entry.price_source == "auto":
            entry = replace(entry, price_source="user")
        key = (entry.provider, entry.model.lower())
        with self._lock:
            old = self._entries.get(key)
            if old is not None and not replace_existing:
                raise CatalogError("already registered", file="<code>", entry=entry.id)
            if old is not None:
                self._index.remove(key, (old.model, *old.aliases))
            self._entries[key] = entry
            self._index.add(key, (entry.model, *entry.aliases), local=entry.local)
            self._resolved.pop(key, None)
            self._prices.clear()
            self.revision += 1
        return entry

    def override(self, model: str, provider: str | None = None, /, **fields: Any) -> ModelEntry:
        """Change fields of a registered model, validated like YAML.

        Args:
            model: The model id or alias (exact, not a family match).
            provider: The provider (``None``: any).
            **fields: New values: ``context_window``, ``capabilities``, ``price`` (a
                :class:`ModelPrice`, a mapping of price fields, or ``None`` for unpriced)...

        Returns:
            The updated entry.

        Raises:
            UnknownModelError: When the model is not registered.
            CatalogError: For a bad field name or value.
        """
        from polyvox.costs.catalog.schema import parse_price, validate_fields

        with self._lock:
            entry, exact = self._lookup(model, provider)
            if entry is None or not exact:
                raise UnknownModelError(model, provider, self._suggest(model, provider))
            for name in ("provider", "model"):
                if name in fields:
                    msg = "cannot be overridden; register a new entry instead"
                    raise CatalogError(msg, file="<code>", entry=entry.id, field=name)
            if "price" in fields:
                price = fields["price"]
                if isinstance(price, Mapping):
                    fields["price"] = parse_price(price, file="<code>", entry=entry.id)
                fields.setdefault("price_source", "user" if fields["price"] is not None else "none")
            try:
                values = validate_fields(fields)
            except CatalogError as exc:
                raise exc.within(file="<code>", entry=entry.id) from exc
            return self._resolve(self._store(replace(entry, **values)))

    def load_yaml(self, source: str | os.PathLike[str]) -> list[ModelEntry]:
        """Register or override models from YAML (the built-in file's schema).

        All entries are validated before any is applied.

        Args:
            source: A path, or the YAML text.

        Returns:
            The entries as stored, prices resolved.

        Raises:
            CatalogError: Naming the file, the entry and the field.
        """
        from polyvox.costs.catalog.schema import parse_models, read_source

        data, label = read_source(source)
        staged = []
        with self._lock:
            for fields in parse_models(data, file=label):
                old, exact = self._lookup(fields["model"], fields["provider"])
                if old is not None and exact:
                    rest = {k: v for k, v in fields.items() if k not in {"provider", "model"}}
                    staged.append(replace(old, **rest))
                else:
                    staged.append(new_entry(fields, file=label))
            return [self._resolve(self._store(entry)) for entry in staged]

    # -- prices ---------------------------------------------------------------------------

    def price_for(self, provider: str, model: str, *, strict: bool = False) -> ModelPrice | None:
        """A model's price: its entry's, else the overlay's, else genai-prices'.

        A dated snapshot not in the catalog (``gpt-4o-2024-05-13``) is looked up as given
        first, so genai-prices' own price for it wins over its family's.

        Args:
            provider: The provider id.
            model: The model id as called.
            strict: Raise for a model nothing knows (else return ``None``).

        Returns:
            The price, or ``None`` when unpriced.

        Raises:
            UnknownModelError: With ``strict``, when no source knows the model.
        """
        price, known = self._price_lookup(provider, model)
        if strict and not known:
            raise UnknownModelError(model, provider, self._suggest(model, provider))
        return price

    def _price_lookup(self, provider: str, model: str) -> tuple[ModelPrice | None, bool]:
        provider = canonical_provider(provider)
        name = norm(model)
        with self._lock:
            cached = self._prices.get((provider, name))
            if cached is not None:
                return cached
            entry, exact = self._lookup(model, provider)
            if entry is not None and exact:
                result = (self._resolve(entry).price, True)
            else:
                price, _ = self._auto_price(provider, (name,))
                if price is not None:
                    result = (price, True)
                elif entry is not None:
                    result = (self._resolve(entry).price, True)
                else:
                    result = (None, self._from_profile(model, provider) is not None)
            self._prices[(provider, name)] = result
            return result

    def _auto_price(self, provider: str, names: Iterable[str]) -> tuple[ModelPrice | None, str]:
        names = tuple(names)
        price = self.overlay.lookup(provider, *names)
        if price is not None:
            return price, "overlay"
        if self.genai_prices:
            at = price_time(self.price_date)
            for name in names:
                price = genai_price(provider, name, at)
                if price is not None:
                    return price, "genai-prices"
        return None, "none"

    def _resolve(self, entry: ModelEntry) -> ModelEntry:
        if entry.price_source != "auto":
            return entry
        key = (entry.provider, entry.model.lower())
        resolved = self._resolved.get(key)
        if resolved is None:
            price, source = self._auto_price(entry.provider, (entry.model, *entry.aliases))
            resolved = replace(entry, price=price, price_source=source)
            self._resolved[key] = resolved
        return resolved

    # -- internals -----------------------------------------------------------------------

    def _lookup(self, model: str, provider: str | None) -> tuple[ModelEntry | None, bool]:
        key, exact = self._index.find(model, provider)
        return (self._entries[key], exact) if key is not None else (None, False)

    def _from_profile(self, model: str, provider: str | None) -> ModelEntry | None:
        entry = profile_entry(provider, model) if provider else None
        if entry is None:
            return None
        with self._lock:
            price, source = self._auto_price(entry.provider, (model,))
        return replace(entry, price=price, price_source=source)

    def _suggest(self, model: str, provider: str | None) -> list[str]:
        with self._lock:
            return self._index.suggest(model, provider, lambda key: self._entries[key].id)


@functools.cache
def _builtin_entries() -> tuple[ModelEntry, ...]:
    """The models of :mod:`polyvox.core.facts`, once per process (entries are immutable)."""
    from polyvox.core.facts import model_facts

    return tuple(facts_entry(facts) for facts in model_facts())


_default: ModelCatalog | None = None
_default_lock = threading.Lock()


def default_catalog() -> ModelCatalog:
    """The process-wide catalog: built-ins plus ``POLYVOX_CATALOG_FILE``, built on first use.

    Returns:
        The same catalog on every call (thread-safe).
    """
    global _default
    catalog = _default
    if catalog is None:
        with _default_lock:
            if _default is None:
                _default = ModelCatalog.builtin(extra=os.environ.get(CATALOG_FILE_ENV) or None)
            catalog = _default
    return catalog


def set_default_catalog(catalog: ModelCatalog | None) -> None:
    """Replace the process-wide catalog (``None``: rebuild it on next use)."""
    global _default
    with _default_lock:
        _default = catalog
