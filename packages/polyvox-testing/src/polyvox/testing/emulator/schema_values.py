"""Values that satisfy a JSON Schema, preferring what the prompt mentions.

Used for tool-call arguments and ``json_schema`` structured output. Handles ``type``
(and type lists), ``const``, ``enum``, numeric bounds (inclusive, exclusive in both draft
styles, ``multipleOf``), string lengths, ``format`` and ``pattern``, arrays (``minItems``,
``maxItems``, ``prefixItems``, ``uniqueItems``), objects (``required``, defaults,
``minProperties``), ``anyOf``/``oneOf``/``allOf``, local ``$ref`` into ``$defs`` or
``definitions``, and OpenAPI's ``nullable``. :class:`Hints` holds the numbers and quoted
strings of the prompt; they are used in order, so ``"what is 3 + 5"`` gives ``a=3, b=5``.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from polyvox.testing.emulator.prompt_hints import Hints
from polyvox.testing.emulator.regex_sample import sample_regex

__all__ = ["Hints", "generate_value"]  # Hints re-exported for convenience

_MAX_DEPTH = 6
"""Below this depth optional parts are left out and ``null`` branches preferred."""

_HARD_DEPTH = 24
"""Below this depth generation gives up (recursive schemas without an exit)."""

_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00Z",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "iri": "https://example.com",
    "uri-reference": "https://example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def generate_value(schema: Mapping[str, Any] | bool, hints: Hints | str | None = None) -> Any:
    """Return a value that validates against ``schema``.

    Args:
        schema: The JSON Schema (its ``$defs``/``definitions`` resolve local ``$ref``).
        hints: Prompt values to prefer, or the prompt text itself.

    Returns:
        The value (deterministic for a given schema and prompt).
    """
    if not isinstance(hints, Hints):
        hints = Hints(hints or "")
    root = schema if isinstance(schema, Mapping) else {}
    return _Generator(root, hints).value(schema, 0, None)


class _Generator:
    def __init__(self, root: Mapping[str, Any], hints: Hints) -> None:
        self.root = root
        self.hints = hints

    def value(self, schema: Mapping[str, Any] | bool, depth: int, key: str | None) -> Any:
        if schema is True or schema is False or depth > _HARD_DEPTH:
            return None if schema is False or depth > _HARD_DEPTH else self._string({}, key)
        schema = self.resolve(schema)
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if schema.get("enum"):
            return self._enum(list(schema["enum"]))
        for keyword in ("anyOf", "oneOf"):
            if schema.get(keyword):
                return self._choice(schema, keyword, depth, key)
        types = schema.get("type")
        names = [types] if isinstance(types, str) else list(types or [])
        if not names:
            names = [_infer_type(schema)]
        concrete = [n for n in names if n != "null"]
        if not concrete or ("null" in names and depth > _MAX_DEPTH):
            return None
        kind = concrete[0]
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth, key)
        if kind in ("integer", "number"):
            return self._number(schema, integer=kind == "integer")
        if kind == "boolean":
            return True
        return self._string(schema, key)

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """Inline ``$ref`` (merging sibling keywords) and merge ``allOf`` into one schema."""
        seen = 0
        while "$ref" in schema and seen < _HARD_DEPTH:
            seen += 1
            target = self._lookup(str(schema["$ref"]))
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **rest}
        if schema.get("allOf"):
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                if isinstance(part, Mapping):
                    _merge_into(merged, self.resolve(part))
            return merged
        return schema

    def _lookup(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#"):
            return {}
        node: Any = self.root
        for part in ref[1:].lstrip("/").split("/") if ref != "#" else []:
            token = unquote(part).replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node.get(token, {})
        return node if isinstance(node, Mapping) else {}

    def _enum(self, options: list[Any]) -> Any:
        for option in options:
            if isinstance(option, str) and self.hints.mentions(option):
                return option
        numeric = [o for o in options if isinstance(o, int | float) and not isinstance(o, bool)]
        if numeric:
            found = self.hints.take_number(lambda v: v in numeric, integer=False)
            if found is not None:
                return next(o for o in numeric if o == found)
        return copy.deepcopy(options[0])

    def _choice(self, schema: Mapping[str, Any], keyword: str, depth: int, key: str | None) -> Any:
        base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        branches = [self.resolve(b) for b in schema[keyword] if isinstance(b, Mapping)]
        if not branches:
            return self.value(base, depth, key)
        is_null = [b.get("type") == "null" for b in branches]
        order = sorted(range(len(branches)), key=lambda i: is_null[i] != (depth > _MAX_DEPTH))
        first: Any = None
        for n, index in enumerate(order):
            branch = {**base, **branches[index]}
            value = self.value(branch, depth, key)
            if n == 0:
                first = value
            if keyword == "anyOf" or len(branches) == 1:
                return value
            others = [b for i, b in enumerate(branches) if i != index]
            for candidate in [value, *_variants(value)]:
                if self._valid(branch, candidate) and not any(
                    self._valid(b, candidate) for b in others
                ):
                    return candidate
        return first

    def _valid(self, schema: Mapping[str, Any], value: Any) -> bool:
        from jsonschema import validators  # type: ignore[import-untyped]

        standalone = {**schema}
        for defs in ("$defs", "definitions"):
            if defs in self.root and defs not in standalone:
                standalone[defs] = self.root[defs]
        return bool(validators.validator_for(standalone)(standalone).is_valid(value))

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        required = [str(r) for r in schema.get("required") or ()]
        out: dict[str, Any] = {}
        for name, sub in properties.items():
            if name in required:
                out[name] = self.value(sub, depth + 1, name)
            elif depth >= _MAX_DEPTH:
                continue
            elif isinstance(sub, Mapping) and sub.get("default") is not None:
                out[name] = copy.deepcopy(sub["default"])
            else:
                out[name] = self.value(sub, depth + 1, name)
        extra = schema.get("additionalProperties", True)
        extra_schema: Mapping[str, Any] | bool = extra if isinstance(extra, Mapping) else True
        for name in required:
            if name not in out:
                out[name] = self.value(extra_schema, depth + 1, name)
        index = 1
        while len(out) < int(schema.get("minProperties", 0)):
            name = f"key{index}"
            index += 1
            if name not in out:
                out[name] = self.value(extra_schema, depth + 1, name)
        return out

    def _array(self, schema: Mapping[str, Any], depth: int, key: str | None) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        prefix = schema.get("prefixItems")
        items = schema.get("items", True)
        if isinstance(items, list):
            prefix, items = items, schema.get("additionalItems", True)
        out = [self.value(s, depth + 1, key) for s in (prefix or [])]
        if high is not None:
            out = out[: int(high)]
        wanted = max(low, 0 if depth >= _MAX_DEPTH else 1)
        if high is not None:
            wanted = min(wanted, int(high))
        while len(out) < wanted and items is not False:
            out.append(self.value(items, depth + 1, key))
        if isinstance(items, Mapping) and not prefix:
            self._extend_from_hints(out, self.resolve(items), high)
        if schema.get("uniqueItems"):
            _make_unique(out)
        return out

    def _extend_from_hints(self, out: list[Any], items: Mapping[str, Any], high: Any) -> None:
        kind = items.get("type")
        if kind not in ("integer", "number") or "enum" in items or "const" in items:
            return
        while high is None or len(out) < int(high):
            number = self.hints.take_number(_number_check(items), integer=kind == "integer")
            if number is None:
                return
            out.append(number)

    def _number(self, schema: Mapping[str, Any], *, integer: bool) -> int | float:
        check = _number_check(schema)
        found = self.hints.take_number(check, integer=integer)
        if found is not None:
            return found
        for candidate in _number_candidates(schema, integer=integer):
            if check(candidate):
                return candidate
        return 1

    def _string(self, schema: Mapping[str, Any], key: str | None) -> str:
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        pattern = schema.get("pattern")

        def fits(text: str) -> bool:
            if len(text) < low or (high is not None and len(text) > int(high)):
                return False
            return pattern is None or re.search(str(pattern), text) is not None

        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS:
            return _FORMATS[fmt]
        found = self.hints.take_string(fits)
        if found is not None:
            return found
        fallback = self.hints.text or key or "example"
        candidates = [fallback, key or "", "example"]
        if pattern is not None:
            candidates.append(sample_regex(str(pattern)) or "")
        for candidate in candidates:
            if fits(candidate):
                return candidate
        base = candidates[-1] if pattern is not None else fallback
        if len(base) < low:
            base = base + "x" * (low - len(base))
        return base[: int(high)] if high is not None else base


def _infer_type(schema: Mapping[str, Any]) -> str:
    if any(k in schema for k in ("properties", "required", "additionalProperties")):
        return "object"
    if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems")):
        return "array"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "multipleOf")):
        return "number"
    return "string"


def _merge_into(target: dict[str, Any], part: Mapping[str, Any]) -> None:
    for name, value in part.items():
        if name == "properties" and isinstance(value, Mapping):
            target["properties"] = {**(target.get("properties") or {}), **value}
        elif name == "required":
            target["required"] = list(dict.fromkeys([*(target.get("required") or []), *value]))
        else:
            target.setdefault(name, value)


def _number_check(schema: Mapping[str, Any]) -> Callable[[float], bool]:
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    x_min, x_max = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if x_min is True:  # draft 4: a flag on minimum
        x_min, minimum = minimum, None
    if x_max is True:
        x_max, maximum = maximum, None
    step = schema.get("multipleOf")

    def check(value: float) -> bool:
        if minimum is not None and value < minimum:
            return False
        if maximum is not None and value > maximum:
            return False
        if isinstance(x_min, int | float) and not isinstance(x_min, bool) and value <= x_min:
            return False
        if isinstance(x_max, int | float) and not isinstance(x_max, bool) and value >= x_max:
            return False
        if step:
            quotient = value / step
            return bool(int(quotient) == quotient)
        return True

    return check


def _number_candidates(schema: Mapping[str, Any], *, integer: bool) -> list[int | float]:
    bounds: list[float] = []
    for name in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        value = schema.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            bounds.append(float(value))
    step = schema.get("multipleOf")
    out: list[int | float] = [1, 0]
    for bound in bounds:
        out.extend([math.ceil(bound), math.floor(bound), math.ceil(bound) + 1])
        out.append(math.floor(bound) - 1)
        if step:
            out.extend([math.ceil(bound / step) * step, math.floor(bound / step) * step])
            out.extend(
                [(math.ceil(bound / step) + 1) * step, (math.floor(bound / step) - 1) * step]
            )
    if len(bounds) >= 2 and not integer:
        out.append((bounds[0] + bounds[-1]) / 2)
    if step:
        out.append(step)
    if integer:
        return [int(v) for v in out if float(v).is_integer()]
    return [int(v) if float(v).is_integer() else v for v in out]


def _variants(value: Any) -> list[Any]:
    """Nearby values to try when ``oneOf`` needs a value only one branch accepts."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [value + 0.5, value - 0.5]
    if isinstance(value, str):
        return [value + "x" * 8, value[:1]]
    return []


def _make_unique(values: list[Any]) -> None:
    seen: list[Any] = []
    for i, value in enumerate(values):
        if value in seen:
            if isinstance(value, str):
                value = f"{value} {i + 1}"
            elif isinstance(value, int | float) and not isinstance(value, bool):
                value = value + i
            values[i] = value
        seen.append(value)
