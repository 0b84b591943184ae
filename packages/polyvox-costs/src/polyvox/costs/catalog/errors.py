"""The catalog's errors: a malformed entry, and a model nobody registered."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CatalogError", "UnknownModelError"]

_HOW_TO_REGISTER = (
    "Register it with catalog.register(ModelEntry(provider=..., model=..., "
    "context_window=...)), or list it in a YAML file passed to catalog.load_yaml() "
    "or named by the POLYVOX_CATALOG_FILE environment variable."
)


class CatalogError(ValueError):
    """A catalog entry, price or override is malformed.

    The message names where the problem is: the file (``<code>`` for entries made in
    Python), the entry (``provider/model``) and the field (dotted, e.g. ``price.tiers[0].input``).
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        entry: str | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = problem
        """What is wrong."""
        self.file = file
        """The file the entry came from, when known."""
        self.entry = entry
        """The entry (``provider/model``, or its position), when known."""
        self.field = field
        """The field (dotted path), when known."""
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.entry is not None:
            where.append(f"entry {self.entry!r}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.problem}" if where else self.problem

    def within(
        self, *, file: str | None = None, entry: str | None = None, prefix: str | None = None
    ) -> CatalogError:
        """Return a copy placed in a wider context.

        Args:
            file: The file, unless already set.
            entry: The entry, unless already set.
            prefix: A parent field prepended to :attr:`field` (``price`` → ``price.input``).

        Returns:
            The new error (raise it ``from`` this one).
        """
        field = self.field
        if prefix is not None:
            field = prefix if field is None else f"{prefix}.{field}"
        return CatalogError(
            self.problem,
            file=self.file if self.file is not None else file,
            entry=self.entry if self.entry is not None else entry,
            field=field,
        )


class UnknownModelError(KeyError):
    """No catalog entry matches a model id (or alias) for the given provider."""

    def __init__(self, model: str, provider: str | None, suggestions: Iterable[str] = ()) -> None:
        self.model = model
        """The model asked for."""
        self.provider = provider
        """The provider asked for (``None``: any)."""
        self.suggestions = tuple(suggestions)
        """Close matches, as ``provider/model``."""
        scope = f" for provider {provider!r}" if provider else ""
        message = f"Unknown model {model!r}{scope}."
        if self.suggestions:
            message += f" Did you mean: {', '.join(self.suggestions)}?"
        self.message = f"{message} {_HOW_TO_REGISTER}"
        """The full explanation."""
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message
