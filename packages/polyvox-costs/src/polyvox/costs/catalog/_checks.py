"""Validation helpers shared by the catalog's dataclasses (raise ``CatalogError`` by field)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from polyvox.costs.catalog.errors import CatalogError
from polyvox.costs.catalog.values import Capability, Tier

__all__ = [
    "CURRENCY",
    "capability_set",
    "count",
    "money",
    "money_or_none",
    "positive_or_none",
    "set_field",
    "strings",
    "tier_value",
]

CURRENCY = re.compile(r"[A-Z]{3}")


def set_field(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def money(value: Any, name: str) -> Decimal:
    if isinstance(value, bool):
        raise CatalogError(f"expected a number, got {value!r}", field=name)
    try:
        amount = Decimal(str(value)) if isinstance(value, float | int | str) else value
    except InvalidOperation:
        raise CatalogError(f"expected a number, got {value!r}", field=name) from None
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        raise CatalogError(f"expected a finite, non-negative number, got {value!r}", field=name)
    return amount


def money_or_none(value: Any, name: str) -> Decimal | None:
    return None if value is None else money(value, name)


def count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CatalogError(f"expected a non-negative whole number, got {value!r}", field=name)
    return value


def positive_or_none(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CatalogError(f"expected a number, got {value!r}", field=name)
    if not math.isfinite(value) or value <= 0:
        raise CatalogError(f"expected a positive number, got {value!r}", field=name)
    return float(value)


def strings(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise CatalogError(f"expected a list of strings, got {value!r}", field=name)
    items = tuple(value)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise CatalogError(f"expected non-empty strings, got {item!r}", field=name)
    return tuple(item.strip() for item in items)


def capability_set(value: Any) -> frozenset[Capability]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise CatalogError(f"expected a list of capabilities, got {value!r}", field="capabilities")
    try:
        return frozenset(Capability.parse(item) for item in value)
    except ValueError as exc:
        raise CatalogError(str(exc), field="capabilities") from None


def tier_value(value: Any) -> Tier:
    try:
        return Tier(str(value).strip().lower())
    except ValueError:
        known = ", ".join(t.value for t in Tier)
        raise CatalogError(f"unknown tier {value!r} (known: {known})", field="tier") from None
