"""polyvox.router."""

from __future__ import annotations

from polyvox.core.lazy import lazy_exports

_EXPORTS: dict[str, str] = {}

__all__: list[str] = []

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
