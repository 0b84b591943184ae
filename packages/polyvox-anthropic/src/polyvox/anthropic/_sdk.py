"""The ``anthropic`` SDK, imported on first use, and the clients a model takes from it.

Importing ``anthropic`` takes the better part of a second (its generated types); a model
that is only constructed, configured or serialised never pays it.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    import anthropic
    from pydantic import SecretStr

    from polyvox.core.loops import PerLoop

__all__ = ["STREAM_BROKE", "SDKClientMixin", "sdk", "transport_errors"]


@cache
def sdk() -> ModuleType:
    """The ``anthropic`` module."""
    import anthropic

    return anthropic


STREAM_BROKE = "_polyvox_stream_broke"
"""Attribute set on the ``APIConnectionError`` polyvox raises for a stream that broke or
ended unfinished: its message already says what happened (not "could not connect")."""


@cache
def transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's errors for a connection that breaks while a body is read."""
    import httpx2  # the transport of anthropic 2.x

    return (httpx2.TransportError, httpx2.StreamError)


class SDKClientMixin:
    """The ``anthropic`` clients of a model, created on first use from its settings.

    Mixed into :class:`~polyvox.anthropic.ChatAnthropic`, which declares ``_client`` and
    ``_async_client`` as private attributes and takes shares of the shared clients through
    :class:`~polyvox.core.lifecycle.ClientsMixin`.
    """

    if TYPE_CHECKING:
        api_key: SecretStr | None
        base_url: str | None
        timeout: float | None
        max_retries: int
        default_headers: dict[str, str] | None
        betas: list[str] | None
        _client: Any
        _async_client: Any

        def _lease_client(self, key: Hashable, build: Callable[[], Any]) -> Any: ...
        def _lease_async_holder(self, key: Hashable) -> PerLoop[Any]: ...

    def _client_kwargs(self) -> dict[str, Any]:
        headers = dict(self.default_headers or {})
        if self.betas:
            given = [b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()]
            headers["anthropic-beta"] = ",".join(dict.fromkeys([*given, *self.betas]))
        return {
            "api_key": self.api_key.get_secret_value() if self.api_key else None,
            "base_url": self.base_url,
            "timeout": self.timeout if self.timeout is not None else sdk().DEFAULT_TIMEOUT,
            "max_retries": self.max_retries,
            "default_headers": headers or None,
        }

    @property
    def client(self) -> anthropic.Anthropic:
        """The ``anthropic.Anthropic`` client this model calls.

        Made on first use and shared by every model with the same connection settings
        (key, URL, timeout, retries, headers) with its warm connections
        (:mod:`polyvox.core.clients`); closed when the last of them closes.

        Raises:
            ModelClosedError: The model was closed.
        """
        if self._client is None:
            from polyvox.core.clients import client_key

            kwargs = self._client_kwargs()
            self._client = self._lease_client(
                client_key("anthropic", kwargs), lambda: sdk().Anthropic(**kwargs)
            )
        return cast("anthropic.Anthropic", self._client)

    @property
    def async_client(self) -> anthropic.AsyncAnthropic:
        """The ``anthropic.AsyncAnthropic`` client of the running event loop (one per loop).

        Its connection pool belongs to the loop that first used it; a model used from
        several loops gets a client for each, closed on its loop when the loop shuts down.

        Raises:
            ModelClosedError: The model was closed.
        """
        holder = self._async_client
        if holder is None:
            from polyvox.core.clients import client_key

            key = client_key("anthropic-async", self._client_kwargs())
            holder = self._async_client = self._lease_async_holder(key)
        return cast("anthropic.AsyncAnthropic", holder.get(self._new_async_client))

    def _new_async_client(self) -> anthropic.AsyncAnthropic:
        return cast("anthropic.AsyncAnthropic", sdk().AsyncAnthropic(**self._client_kwargs()))
