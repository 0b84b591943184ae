"""URLs as messages show them: no credentials, and the ``/v1`` a base URL may lack."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["missing_v1", "shown_url"]

_VERSION_SEGMENT = re.compile(r"/v\d", re.IGNORECASE)


def shown_url(url: str) -> str:
    """A URL as it may appear in messages and logs: no user, password, query or fragment.

    A base URL can carry credentials (``https://user:key@host`` or ``?api-key=...``);
    error messages, ``repr()`` and pickled errors name the endpoint through this instead.

    Args:
        url: The URL.

    Returns:
        Scheme, host, port and path only.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a port that is not a number
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def missing_v1(base_url: str | None) -> str | None:
    """The base URL with ``/v1`` added, when a 404 from it probably means ``/v1`` is missing.

    OpenAI-compatible servers (OpenAI, the polyvox emulator, Ollama, vLLM, llama.cpp)
    serve the API under ``/v1``; ``http://localhost:8000`` then answers every call 404.

    Args:
        base_url: The base URL a model called.

    Returns:
        ``base_url`` (as :func:`shown_url` shows it) with ``/v1`` added to its path, or
        ``None`` when it is not set or its path already has a version segment (``/v1``,
        ``/v1beta/openai``, ``/api/v2``: the 404 then means something else).
    """
    if not base_url:
        return None
    parts = urlsplit(shown_url(base_url))
    if _VERSION_SEGMENT.search(parts.path):
        return None
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/v1"))
