"""What a pickled error leaves out: its request's secret headers, body and URL credentials.

A pickled error goes to logs, queues and other processes; the request that failed carried
the API key and the prompt. :class:`polyvox.core.errors.ProviderErrorMixin` and every
:class:`~polyvox.core.errors.ErrorFamily` class pickle their state through
:func:`without_secrets`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from polyvox.core.urls import shown_url

__all__ = ["SECRET_HEADERS", "safe_request", "without_secrets"]


SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "x-goog-api-key", "cookie"}
)
"""Request headers never written into a pickled error (they carry the API key)."""


def without_secrets(state: Mapping[str, Any]) -> dict[str, Any]:
    """An error's state with its request's secret headers and body left out.

    A pickled error goes to logs, queues and other processes; the request that failed
    carried the API key (``Authorization``) and the prompt. The copy keeps the method, the
    URL and the other headers, and the response (status, headers, body) as it was.
    """
    clean = dict(state)
    safe: Any = None
    for key in ("request", "_request"):  # ``_request``: where httpx's own errors keep it
        request = clean.get(key)
        if request is not None:
            safe = safe_request(request)
            clean[key] = safe  # None when it could not be copied safely: left out
    response = clean.get("response")
    if response is not None and hasattr(response, "status_code"):
        try:
            clean["response"] = type(response)(
                response.status_code,
                headers=response.headers,
                content=response.content,
                request=safe if safe is not None else safe_request(response.request),
            )
        except Exception:  # an unreadable response is left out, not a failure
            clean["response"] = None
    return clean


def safe_request(request: Any) -> Any:
    """A copy of an HTTP request (httpx-style) without secrets.

    Secret headers, the body, the URL's credentials and its query string are left out.
    """
    try:
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in SECRET_HEADERS]
        return type(request)(request.method, shown_url(str(request.url)), headers=headers)
    except Exception:  # not an httpx-style request: leave it out
        return None
