"""Lazy re-exports for package ``__init__`` modules (PEP 562).

``import polyvox.openai`` then costs almost nothing; the SDK and LangChain load when a
name is first used. Type checkers and IDEs still see the names through the package's
``if TYPE_CHECKING:`` imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build a package's ``__getattr__`` and ``__dir__`` for lazily imported names.

    Args:
        package: The package's ``__name__``.
        exports: Public name → the module (absolute) that defines it.

    Returns:
        ``(__getattr__, __dir__)`` to assign at module level.
    """
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:  # noqa: N807
        module = exports.get(name)
        if module is None:
            msg = f"module {package!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
