"""Objects bound to an event loop, such as an SDK's async client, kept one per loop.

An async HTTP client's connection pool belongs to the event loop that first used it:
reused from another loop (``asyncio.run`` twice, a notebook's loop and then a worker
thread's, a sync wrapper that runs its own loop per call) it fails with "Event loop is
closed" or hangs. :class:`PerLoop` hands out the object made for the running loop and
makes a new one when the loop changes.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["PerLoop"]

T = TypeVar("T")


class PerLoop(Generic[T]):
    """The object made for the running event loop; a new one when the loop changes.

    Only the latest loop's object is kept: an object of a finished loop cannot be used (or
    closed) any more, so it is left to the garbage collector with its loop.
    """

    __slots__ = ("_loop", "_value")

    def __init__(self) -> None:
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._value: T | None = None

    def get(self, factory: Callable[[], T]) -> T:
        """The running loop's object, made with ``factory`` on first use in that loop.

        Outside a running loop the object last made is returned (or a new one).

        Args:
            factory: Makes the object.

        Returns:
            The object for the running loop.
        """
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        value = self._value
        if value is not None and (
            loop is None or (self._loop is not None and self._loop() is loop)
        ):
            return value
        value = factory()
        self._value = value
        self._loop = None if loop is None else weakref.ref(loop)
        return value
