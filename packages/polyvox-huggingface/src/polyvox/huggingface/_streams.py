"""Streams without the SDK's growing exit stack: what each streamed response costs is bounded.

``InferenceClient`` and ``AsyncInferenceClient`` put every streamed response on the client's
exit stack (``client.exit_stack``) and take it off only when the client closes, so a
long-lived client that streams keeps every response it ever streamed (about 14 KiB each
sync, 19 KiB async), and a stream abandoned half-way keeps its connection. The SDK offers no
public way to close one response, so:

- a sync stream gets an ``InferenceClient`` of its own, closed when the stream ends (that
  closes its response). ``InferenceClient`` shares the SDK's process-wide HTTP client, so
  this costs a few microseconds and no new connection;
- async clients cannot be made per stream (each ``AsyncInferenceClient`` opens its own HTTP
  client, whose TLS context alone takes tens of milliseconds), so a loop's
  :class:`AsyncClientPool` retires its client after :data:`STREAMS_PER_ASYNC_CLIENT`
  streams, and closes a retired client once the last call on it has finished: at most that
  many finished responses are held at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from huggingface_hub import AsyncInferenceClient

__all__ = ["STREAMS_PER_ASYNC_CLIENT", "AsyncClientPool"]

STREAMS_PER_ASYNC_CLIENT = 256
"""Streams an ``AsyncInferenceClient`` serves before a fresh one takes over (about 5 MiB of
finished responses at most; a fresh client costs one new connection and TLS context)."""

_SETTLE_TURNS = 4
"""Loop turns :meth:`AsyncClientPool.aclose` yields before closing the clients."""


class AsyncClientPool:
    """One event loop's ``AsyncInferenceClient``, replaced after a number of streams.

    Every call takes the client with :meth:`acquire` and gives it back with :meth:`release`;
    a retired client is closed (its exit stack, with the responses it held) when its last
    call gives it back. Used on its loop only, so it needs no lock.
    """

    def __init__(self, make: Callable[[], AsyncInferenceClient], limit: int | None = None) -> None:
        """Create a pool.

        Args:
            make: Makes a client with the model's settings.
            limit: Streams a client serves before it is retired
                (:data:`STREAMS_PER_ASYNC_CLIENT` when ``None``).
        """
        self._make = make
        self._limit = limit or STREAMS_PER_ASYNC_CLIENT
        self._current: AsyncInferenceClient | None = None
        self._streams = 0
        self._busy: dict[int, int] = {}
        self._retired: dict[int, AsyncInferenceClient] = {}
        self.made = 0
        """Clients made so far."""

    @property
    def current(self) -> AsyncInferenceClient:
        """The client new calls get (made on first use)."""
        if self._current is None:
            self._current = self._make()
            self._streams = 0
            self.made += 1
        return self._current

    def acquire(self, *, stream: bool) -> AsyncInferenceClient:
        """The client for one call; give it back with :meth:`release`.

        Args:
            stream: Whether the call streams (streams count towards the limit).

        Returns:
            The current client.
        """
        client = self.current
        key = id(client)
        self._busy[key] = self._busy.get(key, 0) + 1
        if stream:
            self._streams += 1
            if self._streams >= self._limit:
                self._retired[key] = client
                self._current = None
        return client

    async def release(self, client: AsyncInferenceClient) -> None:
        """Give back a client from :meth:`acquire`; closes it if it is retired and idle.

        Args:
            client: The client the call used.
        """
        key = id(client)
        left = self._busy.get(key, 1) - 1
        if left > 0:
            self._busy[key] = left
            return
        self._busy.pop(key, None)
        retired: Any = self._retired.pop(key, None)
        if retired is not None:
            await retired.close()

    async def aclose(self) -> None:
        """Close every client (on model close, or when the loop shuts down).

        When the loop shuts down, ``shutdown_asyncgens`` closes the generators behind the
        responses on the clients' exit stacks at the same time as this runs; closing the
        stacks at once would close those generators a second time while they run ("aclose():
        asynchronous generator is already running"). A few turns of the loop first let them
        finish; the stacks then find them closed.
        """
        clients: list[Any] = list(self._retired.values())
        if self._current is not None:
            clients.append(self._current)
        self._retired.clear()
        self._busy.clear()
        self._current = None
        for _ in range(_SETTLE_TURNS):
            await asyncio.sleep(0)
        for client in clients:
            await client.close()
