"""The ``huggingface_hub`` SDK, imported on first use, and the clients made from a model's settings.

Importing ``huggingface_hub.inference`` takes a noticeable fraction of a second; a model that
is only constructed, configured or serialised never pays it. Every call goes through the
SDK's ``InferenceClient`` / ``AsyncInferenceClient``: chat to the Inference Providers router
(``{base_url}/chat/completions``) or to a dedicated endpoint's messages API, ``text_generation``
and ``feature_extraction`` to an endpoint URL or a Hub model id.
"""

from __future__ import annotations

from contextlib import asynccontextmanager, contextmanager
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Hashable, Iterator

    from huggingface_hub import AsyncInferenceClient, InferenceClient
    from pydantic import SecretStr

    from polyvox.core.loops import PerLoop
    from polyvox.huggingface._streams import AsyncClientPool

__all__ = ["ROUTER_URL", "InferenceClientMixin", "hf_errors", "sdk", "transport_errors"]

ROUTER_URL = "https://router.huggingface.co/v1"
"""Hugging Face's Inference Providers router (OpenAI-compatible chat completions)."""


@cache
def sdk() -> ModuleType:
    """The ``huggingface_hub`` module."""
    import huggingface_hub

    return huggingface_hub


@cache
def hf_errors() -> ModuleType:
    """The ``huggingface_hub.errors`` module."""
    from huggingface_hub import errors

    return errors


@cache
def transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's errors: no connection, no answer in time, a body cut off."""
    import httpx2  # the transport of huggingface-hub 2.x

    return (httpx2.TransportError, httpx2.StreamError)


def sdk_errors() -> tuple[type[BaseException], ...]:
    """Everything a call through the SDK raises for a failed request or a broken stream."""
    errors = hf_errors()
    return (
        errors.HfHubHTTPError,
        errors.InferenceTimeoutError,
        errors.TextGenerationError,
        *transport_errors(),
    )


class InferenceClientMixin:
    """The ``InferenceClient`` of a model, made on first use from its settings.

    Mixed into the pydantic models, which declare the connection fields and the private
    ``_client``/``_async_client`` and implement :meth:`_target` (the URL or model id the
    client is bound to). Clients are shared by the models with the same settings
    (:mod:`polyvox.core.clients`); async ones are kept one per event loop.
    """

    if TYPE_CHECKING:
        api_key: SecretStr | None
        timeout: float | None
        bill_to: str | None
        default_headers: dict[str, str] | None
        _client: Any
        _async_client: Any

        def _lease_client(self, key: Hashable, build: Callable[[], Any]) -> Any: ...
        def _lease_async_holder(self, key: Hashable) -> PerLoop[Any]: ...

    def _target(self) -> dict[str, str | None]:
        """``{"base_url": ...}`` or ``{"model": ...}``: where the client sends requests."""
        raise NotImplementedError

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            **self._target(),
            "api_key": self.api_key.get_secret_value() if self.api_key else None,
            "timeout": self.timeout,
            "headers": dict(self.default_headers) if self.default_headers else None,
            "bill_to": self.bill_to,
        }

    @property
    def client(self) -> InferenceClient:
        """The ``huggingface_hub.InferenceClient`` this model calls.

        Made on first use and shared by every model with the same settings.

        Raises:
            ModelClosedError: The model was closed.
        """
        if self._client is None:
            from polyvox.core.clients import client_key

            kwargs = self._client_kwargs()
            self._client = self._lease_client(
                client_key("huggingface", kwargs), lambda: sdk().InferenceClient(**kwargs)
            )
        return cast("InferenceClient", self._client)

    @property
    def async_client(self) -> AsyncInferenceClient:
        """The ``huggingface_hub.AsyncInferenceClient`` of the running event loop.

        A fresh one takes over after a number of streams (see
        :mod:`polyvox.huggingface._streams`); calls made by the model hold theirs until done.

        Raises:
            ModelClosedError: The model was closed.
        """
        return self._async_pool().current

    def _async_pool(self) -> AsyncClientPool:
        holder = self._async_client
        if holder is None:
            from polyvox.core.clients import client_key

            key = client_key("huggingface-async", self._client_kwargs())
            holder = self._async_client = self._lease_async_holder(key)
        return cast("AsyncClientPool", holder.get(self._new_async_pool))

    def _new_async_pool(self) -> AsyncClientPool:
        from polyvox.huggingface._streams import AsyncClientPool

        return AsyncClientPool(self._new_async_client)

    def _new_async_client(self) -> AsyncInferenceClient:
        return cast("AsyncInferenceClient", sdk().AsyncInferenceClient(**self._client_kwargs()))

    @contextmanager
    def _stream_client(self) -> Iterator[InferenceClient]:
        """An ``InferenceClient`` of one stream's own, closed (with its response) at the end.

        Raises:
            ModelClosedError: The model was closed.
        """
        _ = self.client  # raises once the model is closed
        client = sdk().InferenceClient(**self._client_kwargs())
        try:
            yield cast("InferenceClient", client)
        finally:
            client.close()

    @asynccontextmanager
    async def _leased_async_client(self, *, stream: bool) -> AsyncIterator[AsyncInferenceClient]:
        """The loop's client, held for one call (a retired client closes after its last).

        Args:
            stream: Whether the call streams.

        Raises:
            ModelClosedError: The model was closed.
        """
        pool = self._async_pool()
        client = pool.acquire(stream=stream)
        try:
            yield client
        finally:
            await pool.release(client)
