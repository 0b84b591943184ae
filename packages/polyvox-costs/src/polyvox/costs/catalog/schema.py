"""Reading catalog and price-overlay YAML, with errors that name the file, entry and field.

User catalog files use the field names of the built-in models (:mod:`polyvox.core.facts`,
which are not YAML)::

    version: 1
    models:
      - provider: openai
        model: gpt-4o
        aliases: [gpt-4o-latest]
        context_window: 128000
        max_output: 16384
        capabilities: [tools, vision, structured_output, json_mode, streaming]
        local: false
        languages: [en, pl]
        tier: balanced
        typical_latency_ms: 500
        tokens_per_second: 90
        price:                      # optional; omitted: overlay, then genai-prices
          currency: USD
          per_tokens: 1000000
          input: 2.5
          output: 10
          cache_read: 1.25
          # cache_write (5-minute) and cache_write_1h: Anthropic's two cache-write prices
          tiers: [{min_input_tokens: 200000, input: 5, output: 15}]
          source: https://openai.com/api/pricing
          as_of: 2026-11-01

An entry naming a model the catalog has already overrides only the fields it gives; a new
model needs at least ``provider``, ``model`` and ``context_window``. ``price: null`` marks a
model unpriced. Top-level keys starting with ``x-`` are ignored (handy for YAML anchors).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import Any

from polyvox.costs.catalog.errors import CatalogError
from polyvox.costs.catalog.types import ModelEntry, ModelPrice, PriceTier

__all__ = [
    "ENTRY_FIELDS",
    "OverlayPrice",
    "parse_models",
    "parse_overlay",
    "parse_price",
    "read_source",
    "validate_fields",
]

ENTRY_FIELDS = frozenset(f.name for f in fields(ModelEntry) if f.name not in {"_"})
"""Field names a catalog entry accepts."""

_PRICE_KEYS = frozenset(
    {"currency", "input", "output", "cache_read", "cache_write", "cache_write_1h", "reasoning"}
    | {"per_tokens", "tiers", "source", "as_of", "notes", "deferred_multiplier"}
)
_TIER_KEYS = frozenset(
    {"min_input_tokens", "input", "output", "cache_read", "cache_write", "cache_write_1h"}
)

OverlayPrice = tuple[str, str, ModelPrice]
"""``(provider, model or "*", price)`` from the price overlay."""


def read_source(source: str | os.PathLike[str]) -> tuple[Any, str]:
    """Parse YAML from a path or from the YAML text itself.

    A string is read as a path when it has no line break and names an existing file or
    ends in ``.yaml``/``.yml``; anything else is YAML text.

    Args:
        source: A path, or YAML text.

    Returns:
        ``(data, label)``: the parsed document and what to call it in errors.

    Raises:
        CatalogError: The file is missing or the YAML does not parse.
    """
    text: str
    if isinstance(source, os.PathLike) or _looks_like_path(source):
        path = Path(source)
        label = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogError(f"cannot read the file: {exc.strerror or exc}", file=label) from exc
    else:
        text, label = str(source), "<yaml text>"
    try:
        return _safe_load(text), label
    except Exception as exc:  # yaml.YAMLError, without importing yaml for the annotation
        raise CatalogError(f"not valid YAML: {exc}", file=label) from exc


def _looks_like_path(source: str) -> bool:
    if "\n" in source:
        return False
    if source.endswith((".yaml", ".yml")):
        return True
    try:
        return Path(source).is_file()
    except OSError:  # e.g. a name too long for the file system
        return False


def _safe_load(text: str) -> Any:
    import yaml  # type: ignore[import-untyped]

    return yaml.safe_load(text)


def parse_models(data: Any, *, file: str) -> list[dict[str, Any]]:
    """Validate a catalog document into per-entry field dictionaries.

    Args:
        data: The parsed YAML.
        file: The file's label, for errors.

    Returns:
        One dict per entry: ``provider`` and ``model`` plus the fields it sets, validated.

    Raises:
        CatalogError: For anything malformed.
    """
    models = _document(data, file, "models")
    entries = []
    for i, raw in enumerate(models):
        label = _label(raw, i)
        if not isinstance(raw, Mapping):
            raise CatalogError("expected a mapping of fields", file=file, entry=label)
        unknown = set(raw) - ENTRY_FIELDS
        if unknown:
            name = sorted(unknown)[0]
            raise CatalogError(_unknown(name, ENTRY_FIELDS), file=file, entry=label, field=name)
        for key in ("provider", "model"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise CatalogError(
                    "required, a non-empty string", file=file, entry=label, field=key
                )
        values = dict(raw)
        if "price" in values:
            values["price"] = _price_field(values["price"], file=file, entry=label)
            if "price_source" not in values:
                values["price_source"] = "user" if values["price"] is not None else "none"
        try:
            entries.append(validate_fields(values))
        except CatalogError as exc:
            raise exc.within(file=file, entry=label) from exc
    return entries


def validate_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise entry fields one by one (a partial set is fine).

    Args:
        values: Field name → value; ``price`` must already be a :class:`ModelPrice` or ``None``.

    Returns:
        The normalised values.

    Raises:
        CatalogError: Naming the first bad field.
    """
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in ENTRY_FIELDS:
            raise CatalogError(_unknown(name, ENTRY_FIELDS), field=name)
        if name == "price_source":
            if not isinstance(value, str) or not value:
                raise CatalogError(f"expected a string, got {value!r}", field=name)
            out[name] = value
            continue
        kwargs: dict[str, Any] = {"provider": "p", "model": "m", "context_window": 1, name: value}
        out[name] = getattr(ModelEntry(**kwargs), name)
    return out


def parse_price(
    raw: Any, *, file: str | None = None, entry: str | None = None, require_dated: bool = False
) -> ModelPrice:
    """Validate a price mapping into a :class:`ModelPrice`.

    Args:
        raw: The mapping (``currency``, ``input``, ``output`` required).
        file: The file's label, for errors.
        entry: The entry's label, for errors.
        require_dated: Whether ``source`` and ``as_of`` are required (the overlay's rule).

    Returns:
        The price.

    Raises:
        CatalogError: Naming the bad field (``price.<field>``).
    """
    try:
        return _price(raw, require_dated=require_dated)
    except CatalogError as exc:
        raise exc.within(file=file, entry=entry, prefix="price") from exc


def parse_overlay(data: Any, *, file: str) -> list[OverlayPrice]:
    """Validate the price overlay: dated, sourced prices for what genai-prices lacks.

    Args:
        data: The parsed YAML (``prices:`` entries with ``provider``, ``model`` — ``"*"`` for
            every model of the provider — and the price fields, ``source`` and ``as_of``).
        file: The file's label, for errors.

    Returns:
        ``(provider, model, price)`` triples.

    Raises:
        CatalogError: For anything malformed.
    """
    out = []
    for i, raw in enumerate(_document(data, file, "prices")):
        label = _label(raw, i)
        if not isinstance(raw, Mapping):
            raise CatalogError("expected a mapping of fields", file=file, entry=label)
        for key in ("provider", "model"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise CatalogError(
                    "required, a non-empty string", file=file, entry=label, field=key
                )
        body = {k: v for k, v in raw.items() if k not in {"provider", "model"}}
        price = parse_price(body, file=file, entry=label, require_dated=True)
        out.append((raw["provider"].strip().lower(), raw["model"].strip(), price))
    return out


def _document(data: Any, file: str, key: str) -> list[Any]:
    if not isinstance(data, Mapping):
        raise CatalogError(f"expected a mapping with a {key!r} list at the top", file=file)
    allowed = {"version", key}
    extra = sorted(k for k in data if k not in allowed and not str(k).startswith("x-"))
    if extra:
        raise CatalogError(_unknown(str(extra[0]), allowed), file=file, field=str(extra[0]))
    version = data.get("version", 1)
    if version != 1:
        raise CatalogError(f"unsupported version {version!r} (this polyvox reads 1)", file=file)
    items = data.get(key) or []
    if not isinstance(items, list):
        raise CatalogError("expected a list", file=file, field=key)
    return items


def _price_field(raw: Any, *, file: str, entry: str) -> ModelPrice | None:
    if raw is None or isinstance(raw, ModelPrice):
        return raw
    return parse_price(raw, file=file, entry=entry)


def _price(raw: Any, *, require_dated: bool) -> ModelPrice:
    if not isinstance(raw, Mapping):
        raise CatalogError(f"expected a mapping of price fields or null, got {raw!r}")
    unknown = set(raw) - _PRICE_KEYS
    if unknown:
        name = sorted(unknown)[0]
        raise CatalogError(_unknown(name, _PRICE_KEYS), field=name)
    required = ("currency", "input", "output") + (("source", "as_of") if require_dated else ())
    for key in required:
        if raw.get(key) is None:
            raise CatalogError("required", field=key)
    tiers_raw = raw.get("tiers") or []
    if not isinstance(tiers_raw, list):
        raise CatalogError("expected a list of tiers", field="tiers")
    tiers = tuple(_tier(t, i) for i, t in enumerate(tiers_raw))
    names = ("cache_read", "cache_write", "cache_write_1h", "reasoning", "source",
             "deferred_multiplier")  # fmt: skip
    kwargs = {k: raw[k] for k in names if k in raw}
    if "per_tokens" in raw:
        kwargs["per_tokens"] = raw["per_tokens"]
    if "as_of" in raw:
        kwargs["as_of"] = _date(raw["as_of"])
    return ModelPrice(raw["currency"], raw["input"], raw["output"], tiers=tiers, **kwargs)


def _tier(raw: Any, i: int) -> PriceTier:
    where = f"tiers[{i}]"
    if not isinstance(raw, Mapping):
        raise CatalogError("expected a mapping", field=where)
    unknown = set(raw) - _TIER_KEYS
    if unknown:
        name = sorted(unknown)[0]
        raise CatalogError(_unknown(name, _TIER_KEYS), field=f"{where}.{name}")
    for key in ("min_input_tokens", "input", "output"):
        if raw.get(key) is None:
            raise CatalogError("required", field=f"{where}.{key}")
    try:
        return PriceTier(
            raw["min_input_tokens"],
            raw["input"],
            raw["output"],
            raw.get("cache_read"),
            raw.get("cache_write"),
            raw.get("cache_write_1h"),
        )
    except CatalogError as exc:
        raise exc.within(prefix=where) from exc


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CatalogError(f"expected a date YYYY-MM-DD, got {value!r}", field="as_of") from None


def _label(raw: Any, i: int) -> str:
    if isinstance(raw, Mapping) and isinstance(raw.get("model"), str):
        provider = raw.get("provider")
        return f"{provider}/{raw['model']}" if isinstance(provider, str) else raw["model"]
    return f"#{i + 1}"


def _unknown(name: str, known: frozenset[str] | set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown field {name!r}{hint}"
