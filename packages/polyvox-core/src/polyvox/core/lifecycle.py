"""A model's SDK clients: closing them, context managers, copies and pickles without them.

Every polyvox chat model and embeddings class takes its SDK clients from
:mod:`polyvox.core.clients`, where models with the same connection settings share them.
So closing a model releases *its share*: the shared clients are closed when the last model
holding them closes, and another model using the same client keeps working.

A closed model stays closed: using it again raises :class:`ModelClosedError` (make a new
one, or a copy: ``model.model_copy()``). Copies and pickles never carry clients or their
locks: an unpickled model, like a copy, takes its own share on first use. The API key, a
``SecretStr``, survives pickling as pydantic pickles it (the pickle holds the key: treat it
as a secret).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

from polyvox.core.clients import lease_async_holder, lease_client

if TYPE_CHECKING:
    from polyvox.core.clients import Lease
    from polyvox.core.loops import PerLoop

__all__ = ["ClientsMixin", "ModelClosedError"]


class ModelClosedError(RuntimeError):
    """A model was used after ``close()``, ``aclose()`` or the end of its ``with`` block."""


class _Held:
    """A model's leases on shared clients, and whether it was closed."""

    __slots__ = ("closed", "leases")

    def __init__(self) -> None:
        self.closed = False
        self.leases: list[Lease[Any]] = []


class ClientsMixin:
    """``close()``, ``aclose()``, ``with`` and ``async with`` for a model's shared clients.

    Mixed into the pydantic base classes (before ``BaseModel`` in the MRO); they declare the
    private ``_held``, and provider classes their ``_client`` and ``_async_client``, which
    are taken with :meth:`_lease_client` and :meth:`_lease_async_holder`.
    """

    client_attributes: ClassVar[tuple[str, ...]] = ("_client", "_async_client", "_held")
    """Private attributes that hold clients: reset in copies and pickles, and on close."""

    if TYPE_CHECKING:
        _held: _Held | None
        __pydantic_private__: dict[str, Any] | None

        def __setstate__(self, state: dict[Any, Any]) -> None: ...

    # ---- taking clients --------------------------------------------------------------

    def _holding(self) -> _Held:
        held = self._held
        if held is None:
            held = self._held = _Held()
        if held.closed:
            msg = (
                f"this {type(self).__name__} was closed (close(), aclose() or the end of its "
                "with block) and gave back its SDK clients; make a new model, or a copy "
                "with model_copy()"
            )
            raise ModelClosedError(msg)
        return held

    def _lease_client(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """This model's share of the sync client for ``key`` (see :func:`lease_client`).

        Raises:
            ModelClosedError: The model was closed.
        """
        held = self._holding()
        lease = lease_client(key, build, self)
        held.leases.append(lease)
        return lease.value

    def _lease_async_holder(self, key: Hashable) -> PerLoop[Any]:
        """This model's share of ``key``'s async clients (see :func:`lease_async_holder`).

        Raises:
            ModelClosedError: The model was closed.
        """
        held = self._holding()
        lease = lease_async_holder(key, self)
        held.leases.append(lease)
        return lease.value

    # ---- closing ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` or :meth:`aclose` was called."""
        held = self._held
        return held is not None and held.closed

    def _release(self) -> list[Any]:
        """Mark the model closed and give its shares back; the clients left to close."""
        held = self._held
        if held is None:
            held = self._held = _Held()
        held.closed = True
        leases, held.leases = held.leases, []
        private = self.__pydantic_private__
        for name in type(self).client_attributes:
            if private is not None and name in private and name != "_held":
                private[name] = None
        return [client for lease in leases if (client := lease.release()) is not None]

    def close(self) -> None:
        """Give this model's SDK clients back; close those no other model holds.

        Async clients are closed on their own event loops: the running loop's by a task,
        another thread's when that loop shuts down. Calling ``close()`` again does nothing;
        using the model afterwards raises :class:`ModelClosedError`.
        """
        for client in self._release():
            client.close()  # a sync SDK client, or the PerLoop of async ones

    async def aclose(self) -> None:
        """Like :meth:`close`, awaiting the close of the running loop's async clients."""
        from polyvox.core.loops import PerLoop

        for client in self._release():
            if isinstance(client, PerLoop):
                await client.aclose()
            else:
                client.close()

    def __enter__(self) -> Self:
        """Use the model in a ``with`` block, which closes it at the end.

        Raises:
            ModelClosedError: The model was closed.
        """
        self._holding()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the model (:meth:`close`)."""
        self.close()

    async def __aenter__(self) -> Self:
        """Use the model in an ``async with`` block, which closes it at the end.

        Raises:
            ModelClosedError: The model was closed.
        """
        self._holding()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the model (:meth:`aclose`)."""
        await self.aclose()

    # ---- copies and pickles ----------------------------------------------------------

    def _without_clients(self, private: dict[str, Any] | None) -> dict[str, Any] | None:
        if not private:
            return private
        reset = {name: None for name in type(self).client_attributes if name in private}
        return {**private, **reset}

    def __getstate__(self) -> dict[Any, Any]:
        """Pydantic's state without the SDK clients (rebuilt on first use)."""
        state = cast("dict[Any, Any]", super().__getstate__())
        state["__pydantic_private__"] = self._without_clients(state["__pydantic_private__"])
        return state

    def __copy__(self) -> Self:
        """A shallow copy that takes its own share of the clients on first use."""
        copied: Self = super().__copy__()  # type: ignore[misc]
        object.__setattr__(
            copied, "__pydantic_private__", self._without_clients(copied.__pydantic_private__)
        )
        return copied

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        """A deep copy of everything but the clients (which cannot be copied)."""
        memo = {} if memo is None else memo
        cls = type(self)
        copied = cls.__new__(cls)
        memo[id(self)] = copied
        copied.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return copied
