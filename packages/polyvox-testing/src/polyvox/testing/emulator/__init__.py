"""A local emulator of LLM provider wire protocols (OpenAI first), for tests without a network.

Names are imported lazily, so ``import polyvox.testing.emulator`` does not load Starlette
or uvicorn until the server itself is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from polyvox.testing.emulator.faults import Fault
    from polyvox.testing.emulator.replies import RawResponse, Reply, ToolCall, Usage
    from polyvox.testing.emulator.schema_values import generate_value
    from polyvox.testing.emulator.server import Emulator, main, serve, shared_emulator
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
    "main",
    "serve",
    "shared_emulator",
]

_HOMES = {
    "Emulator": "server",
    "Fault": "faults",
    "RawResponse": "replies",
    "RecordedRequest": "state",
    "Reply": "replies",
    "ToolCall": "replies",
    "Usage": "replies",
    "generate_value": "schema_values",
    "main": "server",
    "serve": "server",
    "shared_emulator": "server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
