"""Response caches for LangChain models: in memory, in SQLite and in Redis.

Each is a ``langchain_core.caches.BaseCache``: pass one to ``set_llm_cache(...)`` or to a
model's ``cache=`` parameter, and an identical call (same prompt, same model settings) is
answered without reaching the provider. All three offer a time to live (``ttl``, seconds
after writing), a maximum size (``max_size``, least recently used evicted first),
``stats`` (:class:`CacheStats`: hits, misses, hit rate, size, evictions) and ``clear()``;
SQLite and Redis store LangChain's JSON serialisation, optionally zlib-compressed
(``compress=True``), and revive only generation and AI-message classes.

Keys are the SHA-256 of the model configuration string and the prompt that LangChain
passes to ``lookup``/``update``.

The cache-hit contract:
    Every value a cache returns is a fresh copy (the stored value is never changed) in
    which each generation has ``generation_info["polyvox_cache_hit"] = True`` and each
    chat generation's message has ``response_metadata["polyvox_cache_hit"] = True``
    (:data:`CACHE_HIT_KEY`). LangChain hands the cached result to the callbacks'
    ``on_llm_end`` (and zeroes ``usage_metadata["total_cost"]``), so a cost handler such
    as ``polyvox.costs.tracking`` sees the flag and records the call at cost 0 as a
    cache hit. Misses and provider answers never carry the key.

Failure policy:
    SQLite and memory errors propagate (they are local bugs). Redis is a network
    service: with ``fail_open=True`` (the default) an unreachable server is a miss and a
    logged warning, so a model call never fails because of its cache; with
    ``fail_open=False`` it raises :class:`CacheUnavailableError` naming the URL.

Names load lazily: ``import polyvox.cache`` does not import ``redis``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.cache.common import (
        CACHE_HIT_KEY,
        CacheStats,
        CacheUnavailableError,
        ResponseCache,
    )
    from polyvox.cache.memory import InMemoryResponseCache
    from polyvox.cache.redis import RedisResponseCache
    from polyvox.cache.sqlite import SQLiteResponseCache

_EXPORTS = {
    "CACHE_HIT_KEY": "polyvox.cache.common",
    "CacheStats": "polyvox.cache.common",
    "CacheUnavailableError": "polyvox.cache.common",
    "InMemoryResponseCache": "polyvox.cache.memory",
    "RedisResponseCache": "polyvox.cache.redis",
    "ResponseCache": "polyvox.cache.common",
    "SQLiteResponseCache": "polyvox.cache.sqlite",
}

__all__ = [
    "CACHE_HIT_KEY",
    "CacheStats",
    "CacheUnavailableError",
    "InMemoryResponseCache",
    "RedisResponseCache",
    "ResponseCache",
    "SQLiteResponseCache",
]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""

__getattr__, __dir__ = lazy_exports(
    __name__, _EXPORTS, install={"redis": 'pip install "polyvox-cache[redis]"'}
)
