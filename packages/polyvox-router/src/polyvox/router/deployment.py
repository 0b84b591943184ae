"""A deployment: one chat model the router may send a request to, with what is known of it.

The catalog entry (:class:`~polyvox.costs.catalog.ModelEntry`) carries the facts strategies
and constraints read: tier, price, capabilities, locality, languages and context window.
It is looked up from the model's provider and name when not given, and a model the catalog
does not know gets a conservative entry (no capabilities claimed, an 8K window, unpriced,
cloud) rather than an error, so any LangChain chat model can take part.

Locality is read from the endpoint as well as the model: a model whose class or catalog
entry says "local" counts as local only when its ``base_url`` points at this machine or a
private network (a loopback, private or link-local address, ``localhost`` or a ``*.local``
name; no DNS lookup is made). An Ollama model on ``https://ollama.com`` or on a public host
is a cloud deployment unless the caller says otherwise with ``Deployment.of(..., local=True)``.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from polyvox.core.langchain_internals import ls_params
from polyvox.costs.catalog import Capability, ModelEntry, Tier

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from polyvox.costs.catalog import ModelCatalog

_log = logging.getLogger(__name__)

UNKNOWN_CONTEXT_WINDOW = 8192
"""The context window assumed for a model the catalog does not know."""


@dataclass(eq=False)
class Deployment:
    """One chat model the router can route to.

    Build it with :meth:`of` to have the catalog entry looked up; the constructor takes an
    explicit entry.
    """

    name: str
    """Unique name within a router (used in metadata, statistics, breakers and config)."""

    model: BaseChatModel
    """The chat model (any LangChain ``BaseChatModel``, a polyvox model or not)."""

    entry: ModelEntry
    """What the catalog knows: tier, price, capabilities, locality, languages, window."""

    weight: float = 1.0
    """Relative share of traffic among equally ranked deployments (balanced strategy)."""

    priority: int = 0
    """Lower goes first when strategies tie, and orders the fallback chain."""

    quality: float | None = None
    """A quality score in [0, 1] for the quality strategy; ``None`` derives one from the tier."""

    tags: frozenset[str] = field(default_factory=frozenset)
    """Free-form labels (``"code"``, ``"eu"``) that user strategies and config can match."""

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError("Deployment.name must be a non-empty string")
        if self.weight < 0:
            raise ValueError(f"Deployment {self.name!r}: weight must be >= 0, got {self.weight}")
        if self.quality is not None and not 0.0 <= self.quality <= 1.0:
            raise ValueError(
                f"Deployment {self.name!r}: quality must be in [0, 1], got {self.quality}"
            )
        self.tags = frozenset(self.tags)

    @classmethod
    def of(
        cls,
        model: BaseChatModel,
        *,
        name: str | None = None,
        entry: ModelEntry | None = None,
        catalog: ModelCatalog | None = None,
        local: bool | None = None,
        **fields: Any,
    ) -> Deployment:
        """A deployment for ``model``, its catalog entry looked up by provider and model name.

        Args:
            model: The chat model.
            name: The deployment's name; defaults to ``provider/model``.
            entry: The catalog entry; looked up when omitted.
            catalog: Where to look it up (the default catalog when omitted).
            local: Whether the model runs on the user's own machines (data of
                :attr:`~polyvox.router.request.Sensitivity.local_only` levels may go to it).
                ``None`` decides from the model and its endpoint: local only when the
                class or catalog says so **and** its ``base_url`` host is a loopback,
                private or link-local address, ``localhost`` or a ``*.local`` name (a
                model with no endpoint attribute at all runs in-process and keeps the
                class's word). An explicit value wins.
            **fields: ``weight``, ``priority``, ``quality``, ``tags``.

        Returns:
            The deployment.
        """
        provider, model_name = model_identity(model)
        if entry is None:
            entry = lookup_entry(provider, model_name, catalog, local=_is_local(model))
        name = name or f"{provider}/{model_name}"
        if local is None:
            local = entry.local and _endpoint_is_local(model, name)
        if local != entry.local:
            entry = replace(entry, local=local)
        hint = getattr(model, "catalog_languages", None)
        if not entry.languages and isinstance(hint, tuple) and hint:
            # a model the catalog does not list may say its languages (ChatBielik: pl, en)
            entry = replace(entry, languages=hint)
        return cls(name=name, model=model, entry=entry, **fields)

    @property
    def provider(self) -> str:
        """The provider id."""
        return self.entry.provider

    @property
    def local(self) -> bool:
        """Whether the model runs on the user's own hardware."""
        return self.entry.local

    @property
    def tier(self) -> Tier:
        """The catalog tier."""
        return self.entry.tier

    @property
    def context_window(self) -> int:
        """Maximum input tokens."""
        return self.entry.context_window

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What the model supports."""
        return self.entry.capabilities

    @property
    def languages(self) -> tuple[str, ...]:
        """ISO 639-1 codes of the languages the model is strong in."""
        return self.entry.languages

    @property
    def quality_score(self) -> float:
        """:attr:`quality`, or one derived from the tier (fast 0.5, balanced 0.7, powerful 0.9)."""
        if self.quality is not None:
            return self.quality
        return _TIER_QUALITY[self.entry.tier]

    def __repr__(self) -> str:
        return (
            f"Deployment(name={self.name!r}, provider={self.provider!r}, "
            f"model={self.entry.model!r}, tier={self.tier.value}, local={self.local})"
        )


_TIER_QUALITY = {Tier.FAST: 0.5, Tier.BALANCED: 0.7, Tier.POWERFUL: 0.9}


def model_identity(model: BaseChatModel) -> tuple[str, str]:
    """The ``(provider, model name)`` of a chat model, from its LangSmith parameters.

    Args:
        model: Any LangChain chat model.

    Returns:
        The provider id and model name (``("unknown", type name)`` when it reports neither).
    """
    params = ls_params(model)
    provider = str(params.get("ls_provider") or "unknown")
    name = params.get("ls_model_name") or getattr(model, "model", None)
    name = name or getattr(model, "model_name", None) or type(model).__name__
    return provider, str(name)


def lookup_entry(
    provider: str, model: str, catalog: ModelCatalog | None = None, *, local: bool = False
) -> ModelEntry:
    """The catalog entry for a model, or a conservative one for a model it does not know.

    Args:
        provider: The provider id.
        model: The model name.
        catalog: The catalog (the default one when omitted).
        local: Whether an unknown model runs locally.

    Returns:
        The entry.
    """
    if catalog is None:
        from polyvox.costs.catalog import default_catalog

        catalog = default_catalog()
    found = catalog.find(model, provider)
    if found is not None:
        return found
    return ModelEntry(
        provider=provider if provider != "unknown" else "custom",
        model=model,
        context_window=UNKNOWN_CONTEXT_WINDOW,
        local=local,
        price_source="none",
    )


def _is_local(model: BaseChatModel) -> bool:
    return bool(getattr(type(model), "is_local", False))


_URL_ATTRIBUTES = ("base_url", "openai_api_base", "api_base")
_reported: set[tuple[str, str]] = set()


def _endpoint_is_local(model: BaseChatModel, name: str) -> bool:
    """Whether a model that claims to be local talks to this machine or a private network."""
    url: object = None
    for attribute in _URL_ATTRIBUTES:
        url = getattr(model, attribute, None)
        if url is not None:
            break
    if url is None:
        return True  # no endpoint: an in-process model, or the library's default (localhost)
    host = urlsplit(str(url)).hostname if "//" in str(url) else None
    if host is not None and is_local_host(host):
        return True
    key = (name, str(url))
    if key not in _reported:
        _reported.add(key)
        _log.info(
            "deployment %s talks to %s, which is not a loopback, private or link-local "
            "address: it is treated as a cloud deployment (Deployment.of(..., local=True) "
            "says otherwise)",
            name,
            url,
        )
    return False


def is_local_host(host: str) -> bool:
    """Whether a host name or address is this machine or on a private network.

    No DNS lookup is made: a name counts only when it is ``localhost`` (or under it) or
    ends in ``.local`` (mDNS); an address when it is loopback, private or link-local.

    Args:
        host: A host name or IP address (IPv6 without brackets).

    Returns:
        True for a local host.
    """
    lowered = host.strip().rstrip(".").lower()
    if lowered == "localhost" or lowered.endswith((".localhost", ".local")):
        return True
    try:
        address = ipaddress.ip_address(lowered.split("%", 1)[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def blended_price_usd(deployment: Deployment) -> Decimal | None:
    """The deployment's blended price per 1M tokens in USD (``None``: unpriced)."""
    from polyvox.costs.catalog import default_catalog

    return default_catalog().blended_price(deployment.entry, "USD")
