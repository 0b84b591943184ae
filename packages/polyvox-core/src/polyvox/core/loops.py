"""Objects bound to an event loop, such as an SDK's async client, kept one per loop.

An async HTTP client's connection pool belongs to the event loop that first used it:
reused from another loop (``asyncio.run`` twice, a notebook's loop and then a worker
thread's, a sync wrapper that runs its own loop per call) it fails with "Event loop is
closed" or hangs. :class:`PerLoop` hands out the object made for the running loop and
makes a new one when the loop changes.

Each object is closed on its own loop, while that loop still runs. When it is made, an
async generator that closes it is registered with the loop (as the loop registers every
async generator), and ``asyncio.run`` closes the loop's async generators before it closes
the loop, as does every ``asyncio.Runner`` and any code that awaits
``loop.shutdown_asyncgens()`` before ``loop.close()``.

A loop closed without that step can close nothing any more. Its object is marked closed
without I/O as soon as an object is made for another loop (or the holder is closed or
collected): an HTTP client then stays quiet, where the SDK's own finaliser would have
scheduled its close on whatever loop runs at that moment, which fails with "Event loop is
closed" (``Task exception was never retrieved``). Its sockets close when collected (with a
``ResourceWarning``, shown only when those are enabled: await ``loop.shutdown_asyncgens()``
before ``loop.close()``, or use ``asyncio.run``, to close them properly).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar, cast

__all__ = ["PerLoop"]

T = TypeVar("T")

Closer = Callable[[Any], Awaitable[object]]
"""Closes an object on its loop (``lambda client: client.close()``)."""

_Loop = asyncio.AbstractEventLoop

_lock = threading.Lock()
"""Guards the tables of every holder (only their slow paths take it)."""

_retired: list[tuple[_Loop, _Entry]] = []
"""Objects given up by a holder that are left for their loop to close when it shuts down
(the loop holds their closers only weakly)."""

_closing: set[asyncio.Task[None]] = set()
"""Close tasks started by a synchronous :meth:`PerLoop.close` (a loop holds its tasks only
weakly)."""


class _Entry:
    """One loop's object, and the async generator that closes it when the loop shuts down."""

    __slots__ = ("close", "closed", "closer", "value")

    def __init__(self, value: Any, close: Closer | None) -> None:
        self.value = value
        self.close = close
        self.closed = False
        self.closer: AsyncGenerator[None, None] | None = None
        if close is not None and sys.get_asyncgen_hooks().firstiter is not None:
            closer = _close_with_loop(self)
            step = closer.asend(None)  # registers the generator with the running loop
            with contextlib.suppress(StopIteration):
                step.send(None)  # runs it to its ``yield``: nothing before it waits
            self.closer = closer

    def claim(self) -> bool:
        """Mark the object closed (by the caller); ``False`` when it already was."""
        if self.closed:
            return False
        self.closed = True
        closer, self.closer = self.closer, None
        if closer is not None:
            _step_once(closer.aclose())  # ends at once: the entry is claimed
        return True

    async def close_value(self) -> None:
        """Close the object; to be awaited on its own loop, after :meth:`claim`."""
        if self.close is not None:
            with contextlib.suppress(Exception):  # a failed close leaves nothing to do
                await self.close(self.value)

    def abandon(self) -> None:
        """Mark the object closed without waiting, its loop being closed.

        Its close is started and dropped at the first wait: an HTTP client marks itself
        closed before any I/O, so its finaliser then leaves it alone.
        """
        if self.claim() and self.close is not None:
            _step_once(self.close(self.value))


async def _close_with_loop(entry: _Entry) -> AsyncGenerator[None, None]:
    """Waits at its ``yield`` for the loop's ``shutdown_asyncgens``, then closes the object."""
    try:
        yield
    finally:
        entry.closer = None  # this generator is the one closing
        if entry.claim():
            await entry.close_value()


def _step_once(awaitable: Awaitable[object]) -> None:
    """Run a coroutine up to its first wait and drop it there, ignoring what it raises."""
    coroutine = cast("Coroutine[Any, Any, object]", awaitable)
    try:
        coroutine.send(None)
    except BaseException:  # StopIteration included: it finished
        return
    coroutine.close()


def _running_loop() -> _Loop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _dead(entries: list[tuple[_Loop, _Entry]]) -> list[_Entry]:
    """Take the entries that are closed or whose loop is closed out of ``entries``."""
    dead = [entry for loop, entry in entries if entry.closed or loop.is_closed()]
    if dead:
        entries[:] = [(loop, e) for loop, e in entries if not (e.closed or loop.is_closed())]
    return dead


class PerLoop(Generic[T]):
    """The object made for the running event loop; a new one when the loop changes.

    Every loop's object is kept for that loop (a notebook's loop and a worker thread's each
    keep theirs) and closed on it when the loop shuts down (see the module's notes);
    :meth:`close` and :meth:`aclose` close them earlier.
    """

    __slots__ = ("_close", "_entries", "_last", "_unbound")

    def __init__(self, close: Closer | None = None) -> None:
        """Create an empty holder.

        Args:
            close: Closes an object on its loop (awaited there); ``None`` leaves the
                objects to the garbage collector.
        """
        self._close = close
        self._entries: list[tuple[_Loop, _Entry]] = []  # a few loops at most
        self._last: tuple[weakref.ref[_Loop] | None, T] | None = None
        self._unbound: T | None = None  # made outside any loop

    def get(self, factory: Callable[[], T]) -> T:
        """The running loop's object, made with ``factory`` on first use in that loop.

        Outside a running loop the object last made is returned (or a new one).

        Args:
            factory: Makes the object.

        Returns:
            The object for the running loop.
        """
        loop = _running_loop()
        last = self._last  # one read: another thread may replace it
        if last is not None and (loop is None or (last[0] is not None and last[0]() is loop)):
            return last[1]
        return self._make(loop, factory)

    def _make(self, loop: _Loop | None, factory: Callable[[], T]) -> T:
        if loop is None:
            unbound = factory()
            with _lock:
                self._unbound = unbound
                self._last = (None, unbound)
            return unbound
        with _lock:  # the loop changed: forget the closed loops' objects
            dead = _dead(self._entries) + _dead(_retired)
            entry = next((e for known, e in self._entries if known is loop), None)
        for gone in dead:
            gone.abandon()
        if entry is None:
            entry = _Entry(factory(), self._close)
            with _lock:
                self._entries.append((loop, entry))
        value: T = entry.value
        self._last = (weakref.ref(loop), value)
        return value

    def _take(self) -> tuple[list[tuple[_Loop, _Entry]], T | None]:
        with _lock:
            entries, self._entries = self._entries, []
            unbound, self._unbound, self._last = self._unbound, None, None
        return entries, unbound

    def close(self) -> None:
        """Close every loop's object, where that can be done without waiting.

        The running loop's object is closed by a task on that loop and a closed loop's is
        marked closed; the object of a loop that is not running in this thread (another
        thread's, or one to be run again) is closed when that loop shuts down.
        """
        entries, unbound = self._take()
        running = _running_loop()
        for loop, entry in entries:
            if loop is running:
                if entry.claim():
                    task = loop.create_task(entry.close_value())
                    _closing.add(task)
                    task.add_done_callback(_closing.discard)
            else:
                self._retire(loop, entry)
        self._abandon_unbound(unbound)

    async def aclose(self) -> None:
        """Close every loop's object: the running loop's now, the others as :meth:`close`."""
        entries, unbound = self._take()
        running = _running_loop()
        for loop, entry in entries:
            if loop is running:
                if entry.claim():
                    await entry.close_value()
            else:
                self._retire(loop, entry)
        self._abandon_unbound(unbound)

    @staticmethod
    def _retire(loop: _Loop, entry: _Entry) -> None:
        if loop.is_closed():
            entry.abandon()
        elif not entry.closed:
            with _lock:
                _retired.append((loop, entry))

    def _abandon_unbound(self, unbound: T | None) -> None:
        if unbound is not None and self._close is not None:
            _step_once(self._close(unbound))

    def __del__(self) -> None:
        # A closed loop's objects are quieted; a live loop's are left to their loop.
        try:
            for loop, entry in self._entries:
                if loop.is_closed():
                    entry.abandon()
                elif not entry.closed:
                    _retired.append((loop, entry))  # no lock: a finaliser must not wait
        except Exception:  # at interpreter exit the module may be gone
            pass
