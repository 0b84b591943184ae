"""Typed readers of values from a JSON record, used when trajectories are read back.

A JSON-lines file may have been edited by hand or by someone hostile, so every field is
checked against the type the dataclasses declare before it is used: a number must be a
number (not a string holding markup), a text field a string. A value of the wrong type
raises :class:`ValueError` naming the field, instead of travelling on into the HTML viewer.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "as_bool",
    "as_decimal",
    "as_float",
    "as_int",
    "as_opt_int",
    "as_opt_str",
    "as_spans",
    "as_str",
    "as_str_list",
]

_MISSING: Any = object()


def _get(data: Mapping[str, Any], key: str, default: Any) -> Any:
    value = data.get(key, _MISSING)
    return default if value is _MISSING else value


def _wrong(key: str, expected: str, value: object) -> ValueError:
    return ValueError(f"field {key!r} must be {expected}, not {type(value).__name__}")


def as_int(data: Mapping[str, Any], key: str, default: int = 0) -> int:
    """An integer field (``bool`` is refused).

    Args:
        data: The record.
        key: The field's name.
        default: The value when the field is absent.

    Returns:
        The integer.

    Raises:
        ValueError: The field is not an integer.
    """
    value = _get(data, key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(key, "an integer", value)
    return value


def as_opt_int(data: Mapping[str, Any], key: str) -> int | None:
    """An integer field that may be ``None`` (or absent).

    Args:
        data: The record.
        key: The field's name.

    Returns:
        The integer or ``None``.

    Raises:
        ValueError: The field is neither an integer nor ``None``.
    """
    if data.get(key) is None:
        return None
    return as_int(data, key)


def as_float(data: Mapping[str, Any], key: str, default: float = 0.0) -> float:
    """A number field, as a float.

    Args:
        data: The record.
        key: The field's name.
        default: The value when the field is absent.

    Returns:
        The number.

    Raises:
        ValueError: The field is not a number.
    """
    value = _get(data, key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(key, "a number", value)
    return float(value)


def as_bool(data: Mapping[str, Any], key: str, default: bool = False) -> bool:
    """A boolean field.

    Args:
        data: The record.
        key: The field's name.
        default: The value when the field is absent.

    Returns:
        The boolean.

    Raises:
        ValueError: The field is not a boolean.
    """
    value = _get(data, key, default)
    if not isinstance(value, bool):
        raise _wrong(key, "a boolean", value)
    return value


def as_str(data: Mapping[str, Any], key: str, default: str = "") -> str:
    """A text field.

    Args:
        data: The record.
        key: The field's name.
        default: The value when the field is absent.

    Returns:
        The text.

    Raises:
        ValueError: The field is not a string.
    """
    value = _get(data, key, default)
    if not isinstance(value, str):
        raise _wrong(key, "a string", value)
    return value


def as_opt_str(data: Mapping[str, Any], key: str) -> str | None:
    """A text field that may be ``None`` (or absent).

    Args:
        data: The record.
        key: The field's name.

    Returns:
        The text or ``None``.

    Raises:
        ValueError: The field is neither a string nor ``None``.
    """
    if data.get(key) is None:
        return None
    return as_str(data, key)


def as_decimal(data: Mapping[str, Any], key: str) -> Decimal | None:
    """A decimal field, written as a string (or a number) or ``None``.

    Args:
        data: The record.
        key: The field's name.

    Returns:
        The decimal or ``None``.

    Raises:
        ValueError: The field is not a finite decimal number.
    """
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _wrong(key, "a decimal number", value)
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"field {key!r} is not a decimal number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"field {key!r} is not a finite decimal number: {value!r}")
    return number


def as_str_list(data: Mapping[str, Any], key: str) -> list[str]:
    """A list of strings (absent or ``None``: empty).

    Args:
        data: The record.
        key: The field's name.

    Returns:
        The strings.

    Raises:
        ValueError: The field is not a list of strings.
    """
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _wrong(key, "a list of strings", value)
    return list(value)


def as_spans(data: Mapping[str, Any], key: str) -> list[tuple[int, int]]:
    """A list of ``[start, end]`` integer pairs (absent or ``None``: empty).

    Args:
        data: The record.
        key: The field's name.

    Returns:
        The spans.

    Raises:
        ValueError: The field is not a list of integer pairs.
    """
    value = data.get(key) or []
    if not isinstance(value, list):
        raise _wrong(key, "a list of [start, end] pairs", value)
    spans = []
    for pair in value:
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2
            or any(isinstance(n, bool) or not isinstance(n, int) for n in pair)
        ):
            raise ValueError(f"field {key!r} must hold [start, end] integer pairs, not {pair!r}")
        spans.append((pair[0], pair[1]))
    return spans
