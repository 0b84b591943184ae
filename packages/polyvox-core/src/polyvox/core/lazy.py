"""Lazy re-exports for package ``__init__`` modules (PEP 562).

``import polyvox.openai`` then costs almost nothing; the SDK and LangChain load when a
name is first used. Type checkers and IDEs still see the names through the package's
``if TYPE_CHECKING:`` imports.

:func:`lazy_exports` also serves names that live in another, optional distribution
(``polyvox.ollama.detect_language`` comes from ``polyvox-language``): given ``install``,
a missing distribution raises an error naming the command that installs it, not a bare
``No module named 'polyvox.language'``. :func:`moved_exports` keeps a module that moved to
another distribution importable where it was. :class:`LazyMapping` is a module-level
table whose contents are built on first access.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

__all__ = ["LazyMapping", "lazy_exports", "moved_exports"]

K = TypeVar("K")
V = TypeVar("V")


def _import(module: str, install: Mapping[str, str]) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        for prefix, command in install.items():
            if missing == prefix or missing.startswith(prefix + "."):
                msg = (
                    f"{module} is not installed: it comes with another distribution. Run: {command}"
                )
                raise ModuleNotFoundError(msg, name=exc.name) from None
        raise


def lazy_exports(
    package: str,
    exports: Mapping[str, str],
    *,
    install: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build a package's ``__getattr__`` and ``__dir__`` for lazily imported names.

    Args:
        package: The package's ``__name__``.
        exports: Public name → the module (absolute) that defines it.
        install: Module prefix → the command that installs it, for names served from an
            optional distribution: ``{"polyvox.language": 'pip install "polyvox-ollama[polish]"'}``.

    Returns:
        ``(__getattr__, __dir__)`` to assign at module level.
    """
    namespace = importlib.import_module(package).__dict__
    hints = dict(install or {})

    def __getattr__(name: str) -> Any:  # noqa: N807
        module = exports.get(name)
        if module is None:
            msg = f"module {package!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = getattr(_import(module, hints), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__


def moved_exports(
    package: str, target: str, *, command: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build ``__getattr__`` and ``__dir__`` for a module whose names moved to ``target``.

    Every public name of ``target`` (its ``__all__``, and ``__all__`` itself) stays
    reachable from ``package``, so ``from polyvox.core.ledger import Ledger`` keeps working
    after the ledger moved to ``polyvox.costs.ledger``; the objects are the same objects.

    Args:
        package: The old module's ``__name__``.
        target: The module that holds the names now.
        command: What installs ``target``'s distribution, named when it is missing.

    Returns:
        ``(__getattr__, __dir__)`` to assign at module level.
    """
    namespace = importlib.import_module(package).__dict__
    top = ".".join(target.split(".")[:2])

    def __getattr__(name: str) -> Any:  # noqa: N807
        module = _import(target, {top: command})
        public = getattr(module, "__all__", ())
        if name != "__all__" and name not in public:
            msg = f"module {package!r} has no attribute {name!r} (it moved to {target!r})"
            raise AttributeError(msg)
        value = getattr(module, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:  # noqa: N807
        module = _import(target, {top: command})
        return sorted(set(namespace) | set(getattr(module, "__all__", ())))

    return __getattr__, __dir__


class LazyMapping(Mapping[K, V]):
    """A read-only mapping whose contents are built on first access, once.

    For module-level tables built from data files (``OPENAI_PROFILES``): importing the
    module builds nothing.
    """

    def __init__(self, build: Callable[[], Mapping[K, V]]) -> None:
        """Wrap a builder.

        Args:
            build: Returns the contents; called on the first access (a race may call it
                twice, keeping one result).
        """
        self._build = build
        self._data: dict[K, V] | None = None

    def _contents(self) -> dict[K, V]:
        data = self._data
        if data is None:
            data = self._data = dict(self._build())
        return data

    def __getitem__(self, key: K) -> V:
        return self._contents()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._contents())

    def __len__(self) -> int:
        return len(self._contents())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._contents()!r})"
