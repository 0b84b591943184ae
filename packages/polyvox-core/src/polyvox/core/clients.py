"""SDK clients shared by every model instance with the same connection settings.

Building an SDK client costs milliseconds and hundreds of KiB (its HTTP connection pool,
its transport). A router over many deployments, or an application that builds a model per
request, would pay that for every instance; langchain-openai's instances share one. Here a
model takes a :class:`Lease` on the client of its settings (a hashable key: the provider,
the key, the URL, the timeouts, the headers...), and every instance with the same settings
gets the same client and its warm connections. Async clients are kept one per event loop
(:class:`~polyvox.core.loops.PerLoop`) under the same key (:func:`lease_async_holder`).

A shared client is closed when the last model holding a lease on it releases it
(``model.close()``, see :mod:`polyvox.core.lifecycle`): closing one model never breaks
another that uses the same client. A model that is garbage-collected without closing lets
go of its lease but closes nothing, so the next model with those settings still finds the
warm client.

The table keeps the :data:`MAX_SHARED` most recently used settings; a client dropped from
it stays with the instances that hold it (and is closed when the last of them closes).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Generic, TypeVar

from polyvox.core.loops import PerLoop

__all__ = ["MAX_SHARED", "Lease", "client_key", "lease_async_holder", "lease_client"]

T = TypeVar("T")

MAX_SHARED = 64
"""Most connection settings whose clients are kept for sharing."""


class _Shared:
    """A shared client (or async holder) and the objects holding a lease on it."""

    __slots__ = ("closed", "holders", "key", "table", "value")

    def __init__(self, table: OrderedDict[Hashable, _Shared], key: Hashable, value: Any) -> None:
        self.table = table
        self.key = key
        self.value = value
        self.closed = False
        self.holders: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()


_lock = threading.Lock()
_sync: OrderedDict[Hashable, _Shared] = OrderedDict()
_async: OrderedDict[Hashable, _Shared] = OrderedDict()


class Lease(Generic[T]):
    """One holder's share of a shared client."""

    __slots__ = ("_holder", "_shared")

    def __init__(self, shared: _Shared, holder: int) -> None:
        self._shared = shared
        self._holder = holder

    @property
    def value(self) -> T:
        """The shared client."""
        return self._shared.value  # type: ignore[no-any-return]

    def release(self) -> T | None:
        """Give the share back.

        Returns:
            The client when this was its last holder: the caller closes it (nobody else
            will get it any more). ``None`` otherwise, and for a lease already released.
        """
        shared = self._shared
        with _lock:
            if shared.holders.pop(self._holder, None) is None or len(shared.holders):
                return None
            shared.closed = True
            if shared.table.get(shared.key) is shared:
                del shared.table[shared.key]
        return shared.value  # type: ignore[no-any-return]


def client_key(kind: str, settings: Mapping[str, Any]) -> Hashable:
    """A hashable key for a client's settings (unset ones left out, mappings frozen in order).

    Args:
        kind: What builds the client (``"openai"``, ``"ollama"``).
        settings: The constructor's keyword arguments.

    Returns:
        The key.
    """
    given = {name: value for name, value in settings.items() if value is not None}
    return (kind, _freeze(given))


def _freeze(value: Any) -> Hashable:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Hashable):
        return value
    return repr(value)


def _hold(table: OrderedDict[Hashable, _Shared], key: Hashable, holder: object) -> Lease[Any]:
    """``key``'s entry, leased to ``holder`` (the caller holds ``_lock`` and checked it)."""
    shared = table[key]
    table.move_to_end(key)
    shared.holders[id(holder)] = holder
    return Lease(shared, id(holder))


def _insert(table: OrderedDict[Hashable, _Shared], key: Hashable, value: Any) -> None:
    table[key] = _Shared(table, key, value)
    while len(table) > MAX_SHARED:
        table.popitem(last=False)


def lease_client(key: Hashable, build: Callable[[], T], holder: object) -> Lease[T]:
    """A lease for ``holder`` on the client for ``key``, built with ``build`` the first time.

    Args:
        key: From :func:`client_key`.
        build: Makes the client.
        holder: The model taking the lease (held weakly: collected, it lets go).

    Returns:
        The lease; ``lease.value`` is the shared client.
    """
    with _lock:
        if key in _sync:
            return _hold(_sync, key, holder)
    made = build()  # outside the lock: building may import the SDK
    with _lock:
        if key not in _sync:  # else another thread's client won; this one is dropped
            _insert(_sync, key, made)
        return _hold(_sync, key, holder)


async def _aclose(client: Any) -> None:
    closer = getattr(client, "aclose", None) or client.close
    await closer()


def lease_async_holder(key: Hashable, holder: object) -> Lease[PerLoop[Any]]:
    """A lease for ``holder`` on ``key``'s async clients, one per event loop.

    A model keeps the holder, so each call costs one :meth:`PerLoop.get`. The clients are
    closed on their loops (their ``close()``/``aclose()`` awaited) when the loops shut down,
    or when the last holder of the lease closes.

    Args:
        key: From :func:`client_key`.
        holder: The model taking the lease (held weakly).

    Returns:
        The lease; ``lease.value`` is the shared :class:`PerLoop`.
    """
    with _lock:
        if key not in _async:
            _insert(_async, key, PerLoop(_aclose))
        return _hold(_async, key, holder)
