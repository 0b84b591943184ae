"""The ``ollama`` SDK, imported on first use (a model that is only configured never pays it)."""

from __future__ import annotations

from functools import cache
from types import ModuleType

__all__ = ["sdk", "transport_errors"]


@cache
def sdk() -> ModuleType:
    """The ``ollama`` module."""
    import ollama

    return ollama


@cache
def transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's errors for an unreachable server, a timeout or a broken body."""
    import httpx  # the ollama SDK's transport

    return (httpx.TransportError, httpx.StreamError)
