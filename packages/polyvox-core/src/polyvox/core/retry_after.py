"""How long a provider asks the caller to wait: ``Retry-After`` and its relatives."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

__all__ = ["parse_retry_after"]

_RETRY_AFTER_HEADERS = frozenset({"retry-after", "retry-after-ms"})


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Read how long a provider asks the caller to wait, in seconds.

    Understands ``retry-after-ms`` (milliseconds), ``Retry-After`` as seconds and as an
    HTTP date, and ``x-ratelimit-reset-after``-style seconds where present.

    Args:
        headers: The response headers (case-insensitive mappings and plain dicts both work).
        now: The current time (for dates); defaults to :func:`time.time`.

    Returns:
        Seconds to wait (never negative), or ``None`` when the provider gave no hint.
    """
    if not headers:
        return None
    lowered: dict[str, str] = {}
    if hasattr(headers, "multi_items"):  # httpx's case-insensitive headers: two lookups
        for name in _RETRY_AFTER_HEADERS:
            raw = headers.get(name)
            if raw is not None:
                lowered[name] = str(raw)
    else:  # any other mapping: its keys may be in any case
        for key, raw in headers.items():
            name = str(key).lower()
            if name in _RETRY_AFTER_HEADERS:
                lowered[name] = str(raw)
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(parsed.timestamp() - (time.time() if now is None else now), 0.0)
