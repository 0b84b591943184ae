"""Optional dependencies: a missing one names the command that installs it.

``polyvox.openai.llamaindex`` needs LlamaIndex, which ``pip install polyvox-openai`` does
not bring; without it Python would say only ``No module named 'llama_index'``.
:func:`require` says which extra to install instead.
"""

from __future__ import annotations

import importlib

__all__ = ["require"]


def require(module: str, extra: str, *, packages: tuple[str, ...]) -> None:
    """Import ``module``, or raise an error naming the extra that brings it.

    Args:
        module: The module needed (``"llama_index.core"``).
        extra: The extra that installs it (``"llamaindex"``).
        packages: The polyvox distributions that offer that extra, the caller's first.

    Raises:
        ModuleNotFoundError: When the module is missing, with the install commands.
    """
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        commands = " or ".join(f'pip install "{package}[{extra}]"' for package in packages)
        raise ModuleNotFoundError(
            f"{module} is not installed: it comes with the {extra!r} extra. Run: {commands}",
            name=exc.name,
        ) from None
