"""An in-process response cache: least-recently-used, with an optional time to live."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from langchain_core.caches import RETURN_VAL_TYPE
from langchain_core.outputs import Generation

from polyvox.cache.common import ResponseCache, cache_key, copy_generations

__all__ = ["InMemoryResponseCache"]


class InMemoryResponseCache(ResponseCache):
    """A thread-safe LRU cache of model answers in this process's memory.

    Entries are deep copies, so neither the caller nor LangChain can change a stored answer;
    every hit is a fresh copy carrying the cache-hit mark (see :mod:`polyvox.cache`).

    Example:
        ```python
        from langchain_core.globals import set_llm_cache
        from polyvox.cache import InMemoryResponseCache

        set_llm_cache(InMemoryResponseCache(max_size=500, ttl=3600))
        ```
    """

    def __init__(self, max_size: int | None = 1000, ttl: float | None = None) -> None:
        """Create an empty cache.

        Args:
            max_size: Most entries kept; beyond it the least recently used is dropped.
                ``None`` for no limit.
            ttl: Seconds an entry lives after it is written; ``None`` for no expiry.

        Raises:
            ValueError: ``max_size`` below 1 or ``ttl`` not positive.
        """
        super().__init__(ttl=ttl, max_size=max_size)
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float | None, tuple[Generation, ...]]] = OrderedDict()

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Return the cached answer (marked as a cache hit), or ``None``.

        Args:
            prompt: LangChain's serialised prompt.
            llm_string: LangChain's serialised model configuration.

        Returns:
            A marked copy of the stored generations, or ``None`` on a miss.
        """
        key = cache_key(prompt, llm_string)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is not None and entry[0] <= time.monotonic():
                del self._entries[key]
                entry = None
            if entry is not None:
                self._entries.move_to_end(key)
        return self._answer(None if entry is None else entry[1])

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Store an answer, dropping the least recently used entries beyond ``max_size``.

        Args:
            prompt: LangChain's serialised prompt.
            llm_string: LangChain's serialised model configuration.
            return_val: The generations to store (copied).
        """
        key = cache_key(prompt, llm_string)
        stored = tuple(copy_generations(return_val))
        expires = None if self.ttl is None else time.monotonic() + self.ttl
        evicted = 0
        with self._lock:
            self._entries[key] = (expires, stored)
            self._entries.move_to_end(key)
            if self.max_size is not None and len(self._entries) > self.max_size:
                self._purge_expired()
                while len(self._entries) > self.max_size:
                    self._entries.popitem(last=False)
                    evicted += 1
        self._counters.evicted(evicted)

    def clear(self, **kwargs: Any) -> None:
        """Remove every entry (the statistics counters stay; see ``reset_stats``).

        Args:
            **kwargs: Accepted for LangChain's interface; unused.
        """
        with self._lock:
            self._entries.clear()

    # The in-memory cache never waits on I/O: its async methods are the sync ones.

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Async :meth:`lookup` (no I/O, so it runs inline).

        Args:
            prompt: LangChain's serialised prompt.
            llm_string: LangChain's serialised model configuration.

        Returns:
            A marked copy of the stored generations, or ``None`` on a miss.
        """
        return self.lookup(prompt, llm_string)

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Async :meth:`update` (no I/O, so it runs inline).

        Args:
            prompt: LangChain's serialised prompt.
            llm_string: LangChain's serialised model configuration.
            return_val: The generations to store (copied).
        """
        self.update(prompt, llm_string, return_val)

    async def aclear(self, **kwargs: Any) -> None:
        """Async :meth:`clear`.

        Args:
            **kwargs: Accepted for LangChain's interface; unused.
        """
        self.clear()

    def _size(self) -> int:
        with self._lock:
            self._purge_expired()
            return len(self._entries)

    def _purge_expired(self) -> None:
        """Drop expired entries (the caller holds the lock); expiries are not evictions."""
        if self.ttl is None:
            return
        now = time.monotonic()
        for key in [k for k, (expires, _) in self._entries.items() if expires and expires <= now]:
            del self._entries[key]
