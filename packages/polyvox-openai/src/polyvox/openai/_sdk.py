"""The ``openai`` SDK, imported on first use.

Importing ``openai`` takes about a second (its generated types); a model that is only
constructed, configured or serialised never pays it, and ``from polyvox.openai import
ChatOpenAI`` stays fast in notebooks, CLIs and serverless cold starts.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    import openai
    from pydantic import SecretStr

    from polyvox.core.loops import PerLoop

__all__ = ["SDKClientMixin", "sdk", "transport_errors"]


@cache
def sdk() -> ModuleType:
    """The ``openai`` module."""
    import openai

    return openai


STREAM_BROKE = "_polyvox_stream_broke"
"""Attribute set on the ``APIConnectionError`` polyvox raises for a stream that broke or
ended unfinished: its message already says what happened (not "could not connect")."""


@cache
def transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's errors for a connection that breaks while a body is read."""
    import httpx2  # the transport of openai 3.x

    return (httpx2.TransportError, httpx2.StreamError)


class SDKClientMixin:
    """The ``openai`` clients of a model, created on first use from its settings.

    Mixed into the pydantic models (``ChatOpenAI``, ``OpenAIEmbeddings``), which declare
    ``_client`` and ``_async_client`` as private attributes and take shares of the shared
    clients through :class:`~polyvox.core.lifecycle.ClientsMixin`.
    """

    if TYPE_CHECKING:
        api_key: SecretStr | None
        base_url: str | None
        timeout: float | None
        max_retries: int
        _client: Any
        _async_client: Any

        def _lease_client(self, key: Hashable, build: Callable[[], Any]) -> Any: ...
        def _lease_async_holder(self, key: Hashable) -> PerLoop[Any]: ...

    def _extra_client_kwargs(self) -> dict[str, Any]:
        """Further ``openai.OpenAI`` arguments (headers, organization, ...)."""
        return {}

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "api_key": self.api_key.get_secret_value() if self.api_key else "not-needed",
            "base_url": self.base_url,
            "timeout": self.timeout if self.timeout is not None else sdk().DEFAULT_TIMEOUT,
            "max_retries": self.max_retries,
            **self._extra_client_kwargs(),
        }

    @property
    def client(self) -> openai.OpenAI:
        """The ``openai.OpenAI`` client this model calls.

        Made on first use and shared by every model with the same connection settings (key,
        URL, timeout, retries, headers), with its warm connections
        (:mod:`polyvox.core.clients`); closed when the last of them closes.

        Raises:
            ModelClosedError: The model was closed.
        """
        if self._client is None:
            from polyvox.core.clients import client_key

            kwargs = self._client_kwargs()
            self._client = self._lease_client(
                client_key("openai", kwargs), lambda: sdk().OpenAI(**kwargs)
            )
        return cast("openai.OpenAI", self._client)

    @property
    def async_client(self) -> openai.AsyncOpenAI:
        """The ``openai.AsyncOpenAI`` client of the running event loop (one per loop).

        Its connection pool belongs to the loop that first used it, so a model used from
        several loops (``asyncio.run`` twice, a notebook and a worker thread) gets a client
        for each, made on first use in that loop and closed on it when the loop shuts down.
        Shared, like :attr:`client`, by the models with the same connection settings.

        Raises:
            ModelClosedError: The model was closed.
        """
        holder = self._async_client
        if holder is None:
            from polyvox.core.clients import client_key

            key = client_key("openai-async", self._client_kwargs())
            holder = self._async_client = self._lease_async_holder(key)
        return cast("openai.AsyncOpenAI", holder.get(self._new_async_client))

    def _new_async_client(self) -> openai.AsyncOpenAI:
        return cast("openai.AsyncOpenAI", sdk().AsyncOpenAI(**self._client_kwargs()))
