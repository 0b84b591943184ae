"""polyvox.testing: the provider emulator and helpers for testing polyvox integrations.

Importing this package is cheap: the emulator (Starlette, uvicorn) loads on first use of
one of its names.

Examples:
    >>> from polyvox.testing import Emulator, Reply  # doctest: +SKIP
    >>> with Emulator() as emu:  # doctest: +SKIP
    ...     emu.script(Reply("Paris"))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from polyvox.testing.emulator.faults import Fault
    from polyvox.testing.emulator.replies import RawResponse, Reply, ToolCall, Usage
    from polyvox.testing.emulator.schema_values import generate_value
    from polyvox.testing.emulator.server import Emulator, serve, shared_emulator
    from polyvox.testing.emulator.state import RecordedRequest

__all__ = [
    "Emulator",
    "Fault",
    "RawResponse",
    "RecordedRequest",
    "Reply",
    "ToolCall",
    "Usage",
    "generate_value",
    "serve",
    "shared_emulator",
]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("polyvox.testing.emulator"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
