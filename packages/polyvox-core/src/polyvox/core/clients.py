"""SDK clients shared by every model instance with the same connection settings.

Building an SDK client costs milliseconds and hundreds of KiB (its HTTP connection pool,
its transport). A router over many deployments, or an application that builds a model per
request, would pay that for every instance; langchain-openai's instances share one. Here a
model asks :func:`shared_client` for the client of its settings (a hashable key: the
provider, the key, the URL, the timeouts, the headers...), and every instance with the same
settings gets the same client and its warm connections. Async clients are kept one per
event loop (:class:`~polyvox.core.loops.PerLoop`) under the same key
(:func:`shared_async_holder`).

The table keeps the :data:`MAX_SHARED` most recently used settings; a client dropped from
it stays with the instances that hold it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

from polyvox.core.loops import PerLoop

__all__ = ["MAX_SHARED", "client_key", "shared_async_holder", "shared_client"]

T = TypeVar("T")

MAX_SHARED = 64
"""Most connection settings whose clients are kept for sharing."""

_lock = threading.Lock()
_sync: OrderedDict[Hashable, Any] = OrderedDict()
_async: OrderedDict[Hashable, PerLoop[Any]] = OrderedDict()


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


def shared_client(key: Hashable, build: Callable[[], T]) -> T:
    """The client for ``key``, built with ``build`` the first time.

    Args:
        key: From :func:`client_key`.
        build: Makes the client.

    Returns:
        The shared client.
    """
    with _lock:
        client = _sync.get(key)
        if client is not None:
            _sync.move_to_end(key)
            return client  # type: ignore[no-any-return]
    made = build()  # outside the lock: building may import the SDK
    with _lock:
        client = _sync.setdefault(key, made)
        _sync.move_to_end(key)
        while len(_sync) > MAX_SHARED:
            _sync.popitem(last=False)
    return client  # type: ignore[no-any-return]


async def _aclose(client: Any) -> None:
    closer = getattr(client, "aclose", None) or client.close
    await closer()


def shared_async_holder(key: Hashable) -> PerLoop[Any]:
    """The holder of ``key``'s async clients, one per event loop (``holder.get(build)``).

    A model keeps the holder, so each call costs one :meth:`PerLoop.get`. Each client is
    closed on its own loop (its ``close()``/``aclose()`` awaited) when the loop shuts down.

    Args:
        key: From :func:`client_key`.

    Returns:
        The shared holder.
    """
    with _lock:
        holder = _async.get(key)
        if holder is None:
            holder = _async[key] = PerLoop(_aclose)
            while len(_async) > MAX_SHARED:
                _async.popitem(last=False)
        else:
            _async.move_to_end(key)
    return holder
