"""The ``gigachat`` SDK, imported on first use, and the errors its calls raise.

Importing ``gigachat`` brings pydantic-settings and its models; a model that is only
constructed, configured or serialised never pays it.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType

__all__ = ["call_errors", "sdk"]


@cache
def sdk() -> ModuleType:
    """The ``gigachat`` module."""
    import gigachat

    return gigachat


@cache
def call_errors() -> tuple[type[BaseException], ...]:
    """What a call through the SDK raises when it fails.

    The SDK's own ``GigaChatException`` family (HTTP error statuses), the ``httpx`` errors it
    lets through (no connection, a timeout, a TLS failure, a stream cut mid-body) and the
    ``ValueError`` of a body that is not JSON or not the documented shape (pydantic's
    ``ValidationError`` is one).
    """
    import httpx
    from gigachat.exceptions import GigaChatException

    return (GigaChatException, httpx.HTTPError, httpx.StreamError, ValueError)
