"""What every response cache shares: keys, payloads, the hit mark and statistics."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import zlib
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from langchain_core.caches import BaseCache
from langchain_core.load import dumps, loads
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import (
    ChatGeneration,
    ChatGenerationChunk,
    Generation,
    GenerationChunk,
)

from polyvox.core.redis_clients import redact_url

__all__ = [
    "CACHE_HIT_KEY",
    "CacheStats",
    "CacheUnavailableError",
    "ResponseCache",
    "cache_key",
    "decode",
    "encode",
    "mark_cache_hit",
    "redact_url",
]

CACHE_HIT_KEY: Final = "polyvox_cache_hit"
"""Key set to ``True`` in ``response_metadata`` (and ``generation_info``) of a cached answer."""

_ALLOWED: Final = (
    Generation,
    GenerationChunk,
    ChatGeneration,
    ChatGenerationChunk,
    AIMessage,
    AIMessageChunk,
)
"""The only classes a stored payload may revive: generations and the AI messages in them."""

logger = logging.getLogger("polyvox.cache")

_RAW: Final = b"j"
_ZLIB: Final = b"z"


class CacheUnavailableError(ConnectionError):
    """The cache's server cannot be reached (raised only when ``fail_open=False``)."""


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of a cache's counters."""

    hits: int
    """Lookups answered from the cache."""
    misses: int
    """Lookups that found nothing (expired or unreadable entries included)."""
    hit_rate: float
    """``hits / (hits + misses)``, ``0.0`` before the first lookup."""
    size: int
    """Entries stored now (for a shared server: all processes' entries under the prefix)."""
    evictions: int
    """Entries this cache removed to stay within ``max_size``."""


class _Counters:
    """Thread-safe hit, miss and eviction counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def hit(self) -> None:
        with self._lock:
            self.hits += 1

    def miss(self) -> None:
        with self._lock:
            self.misses += 1

    def evicted(self, count: int) -> None:
        if count:
            with self._lock:
                self.evictions += count

    def reset(self) -> None:
        with self._lock:
            self.hits = self.misses = self.evictions = 0

    def snapshot(self, size: int) -> CacheStats:
        with self._lock:
            lookups = self.hits + self.misses
            rate = self.hits / lookups if lookups else 0.0
            return CacheStats(self.hits, self.misses, rate, size, self.evictions)


class ResponseCache(BaseCache):
    """Base of the polyvox caches: validated limits, statistics and the hit mark."""

    def __init__(self, *, ttl: float | None, max_size: int | None) -> None:
        if ttl is not None and ttl <= 0:
            msg = f"ttl must be a positive number of seconds or None, got {ttl!r}"
            raise ValueError(msg)
        if max_size is not None and max_size < 1:
            msg = f"max_size must be at least 1 or None, got {max_size!r}"
            raise ValueError(msg)
        self.ttl = ttl
        """Seconds an entry lives after it is written; ``None``: until evicted or cleared."""
        self.max_size = max_size
        """Most entries kept; the least recently used go first. ``None``: unbounded."""
        self._counters = _Counters()
        self._tick_lock = threading.Lock()
        self._last_tick = 0

    @property
    def stats(self) -> CacheStats:
        """Hits, misses, hit rate, current size and evictions."""
        return self._counters.snapshot(self._size())

    def reset_stats(self) -> None:
        """Zero the hit, miss and eviction counters (entries stay)."""
        self._counters.reset()

    def _answer(self, value: Sequence[Generation] | None) -> list[Generation] | None:
        """Count a hit or a miss; a hit is returned as marked copies."""
        if value is None:
            self._counters.miss()
            return None
        self._counters.hit()
        return mark_cache_hit(value)

    def _decode(self, payload: bytes) -> list[Generation] | None:
        """Revive a stored payload; ``None`` (logged) when it is unreadable."""
        try:
            return decode(payload)
        except ValueError as exc:
            logger.warning("dropping an unreadable entry of %r: %s", self, exc)
            return None

    def _tick(self, unit_ns: int = 1) -> int:
        """A strictly increasing wall-clock stamp in ``unit_ns`` units: the order of access."""
        with self._tick_lock:
            self._last_tick = max(time.time_ns() // unit_ns, self._last_tick + 1)
            return self._last_tick

    @abstractmethod
    def _size(self) -> int:
        """Count the live entries."""


def cache_key(prompt: str, llm_string: str) -> str:
    """The storage key of one (``prompt``, ``llm_string``) pair.

    Args:
        prompt: LangChain's serialised prompt.
        llm_string: LangChain's serialised model configuration.

    Returns:
        The hex SHA-256 of both, length-prefixed so that no two pairs collide by concatenation.
    """
    llm = llm_string.encode()
    digest = hashlib.sha256(b"%d:" % len(llm))
    digest.update(llm)
    digest.update(prompt.encode())
    return digest.hexdigest()


def encode(
    generations: Sequence[Generation], *, compress: bool = False, threshold: int = 1024
) -> bytes:
    """Serialise generations to bytes (LangChain's JSON, zlib-compressed when worth it).

    Args:
        generations: The value LangChain caches.
        compress: Compress payloads of at least ``threshold`` bytes.
        threshold: The smallest payload worth compressing.

    Returns:
        A one-byte format tag followed by the payload.
    """
    raw = dumps(list(generations)).encode()
    if compress and len(raw) >= threshold:
        packed = zlib.compress(raw, 6)
        if len(packed) < len(raw):
            return _ZLIB + packed
    return _RAW + raw


def decode(payload: bytes) -> list[Generation]:
    """Revive what :func:`encode` wrote, allowing only generation and AI-message classes.

    Args:
        payload: Bytes from :func:`encode`.

    Returns:
        The generations.

    Raises:
        ValueError: The payload is corrupt or not a list of generations.
    """
    tag, body = payload[:1], payload[1:]
    try:
        if tag == _ZLIB:
            body = zlib.decompress(body)
        elif tag != _RAW:
            msg = f"unknown cache payload format {tag!r}"
            raise ValueError(msg)
        value: Any = loads(body.decode(), allowed_objects=_ALLOWED)
    except (zlib.error, ValueError, TypeError, KeyError) as exc:
        msg = f"unreadable cache payload: {exc}"
        raise ValueError(msg) from exc
    if not isinstance(value, list) or not all(isinstance(g, Generation) for g in value):
        msg = "cache payload is not a list of generations"
        raise ValueError(msg)
    return value


def copy_generations(generations: Sequence[Generation]) -> list[Generation]:
    """Deep copies, so that nobody shares mutable state with a stored value."""
    return [g.model_copy(deep=True) for g in generations]


def mark_cache_hit(generations: Sequence[Generation]) -> list[Generation]:
    """Copies of cached generations that say they came from the cache.

    Each copy gets ``generation_info[CACHE_HIT_KEY] = True``; a chat generation's message
    also gets ``response_metadata[CACHE_HIT_KEY] = True``. The originals are not touched.

    Args:
        generations: The stored value.

    Returns:
        A new list (LangChain treats only a ``list`` as a hit).
    """
    marked: list[Generation] = []
    for generation in copy_generations(generations):
        generation.generation_info = {**(generation.generation_info or {}), CACHE_HIT_KEY: True}
        if isinstance(generation, ChatGeneration):
            message = generation.message
            message.response_metadata = {**message.response_metadata, CACHE_HIT_KEY: True}
        marked.append(generation)
    return marked
