"""The ``openai`` SDK, imported on first use.

Importing ``openai`` takes about a second (its generated types); a model that is only
constructed, configured or serialised never pays it, and ``from polyvox.openai import
ChatOpenAI`` stays fast in notebooks, CLIs and serverless cold starts.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType

__all__ = ["sdk", "transport_errors"]


@cache
def sdk() -> ModuleType:
    """The ``openai`` module."""
    import openai

    return openai


@cache
def transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's errors for a connection that breaks while a body is read."""
    try:
        import httpx2 as transport  # openai >= 3
    except ImportError:  # pragma: no cover - openai 2.x uses httpx
        import httpx as transport  # type: ignore[no-redef]
    return (transport.TransportError, transport.StreamError)
