"""The ``google-genai`` SDK, imported on first use, and the clients made from a model's settings.

Importing ``google.genai`` takes a noticeable fraction of a second; a model that is only
constructed, configured or serialised never pays it.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from google import genai
    from pydantic import SecretStr

    from polyvox.core.loops import PerLoop

__all__ = ["GenAIClientMixin", "genai_errors", "sdk", "sdk_types", "transport_errors"]


@cache
def sdk() -> ModuleType:
    """The ``google.genai`` module."""
    from google import genai

    return genai


@cache
def sdk_types() -> ModuleType:
    """The ``google.genai.types`` module."""
    from google.genai import types

    return types


@cache
def genai_errors() -> ModuleType:
    """The ``google.genai.errors`` module."""
    from google.genai import errors

    return errors


@cache
def transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's errors: no connection, no answer in time, a body cut off."""
    import httpx2  # the transport of google-genai 3.x

    return (httpx2.TransportError, httpx2.StreamError)


class GenAIClientMixin:
    """The ``google.genai.Client`` of a model, made on first use from its settings.

    Mixed into the pydantic models (``ChatGoogleGenerativeAI``,
    ``GoogleGenerativeAIEmbeddings``), which declare the connection fields and the private
    ``_client``/``_async_client``, and take shares of the shared clients through
    :class:`~polyvox.core.lifecycle.ClientsMixin`. The SDK's own retries stay off (its
    default): polyvox retries, honouring the ``RetryInfo`` delay of a 429.
    """

    if TYPE_CHECKING:
        api_key: SecretStr | None
        base_url: str | None
        timeout: float | None
        vertexai: bool
        project: str | None
        location: str | None
        credentials: Any
        api_version: str | None
        additional_headers: dict[str, str] | None
        _client: Any
        _async_client: Any

        def _lease_client(self, key: Hashable, build: Callable[[], Any]) -> Any: ...
        def _lease_async_holder(self, key: Hashable) -> PerLoop[Any]: ...

    def _client_kwargs(self) -> dict[str, Any]:
        http: dict[str, Any] = {}
        if self.base_url:
            http["base_url"] = self.base_url
        if self.api_version:
            http["api_version"] = self.api_version
        if self.timeout is not None:
            http["timeout"] = int(self.timeout * 1000)  # the SDK takes milliseconds
        if self.additional_headers:
            http["headers"] = dict(self.additional_headers)
        kwargs: dict[str, Any] = {"http_options": http}
        if self.api_key is not None:
            kwargs["api_key"] = self.api_key.get_secret_value()
        if self.vertexai:
            kwargs.update(vertexai=True, project=self.project, location=self.location)
        if self.credentials is not None:
            kwargs["credentials"] = self.credentials
        return kwargs

    @property
    def client(self) -> genai.Client:
        """The ``google.genai.Client`` this model calls (``client.models``).

        Made on first use and shared by every model with the same connection settings,
        with its warm connections (:mod:`polyvox.core.clients`); closed when the last of
        them closes.

        Raises:
            ModelClosedError: The model was closed.
        """
        if self._client is None:
            from polyvox.core.clients import client_key

            kwargs = self._client_kwargs()
            self._client = self._lease_client(
                client_key("google-genai", kwargs), lambda: sdk().Client(**kwargs)
            )
        return cast("genai.Client", self._client)

    @property
    def async_client(self) -> Any:
        """The SDK's async client (``client.aio``) of the running event loop (one per loop).

        Its connection pool belongs to the loop that first used it, which closes it when
        it shuts down (see :mod:`polyvox.core.loops`).

        Raises:
            ModelClosedError: The model was closed.
        """
        holder = self._async_client
        if holder is None:
            from polyvox.core.clients import client_key

            key = client_key("google-genai-async", self._client_kwargs())
            holder = self._async_client = self._lease_async_holder(key)
        return holder.get(self._new_async_client)

    def _new_async_client(self) -> Any:
        import httpx2

        kwargs = self._client_kwargs()
        # An explicit transport keeps the SDK on httpx2 for async calls too: with aiohttp
        # installed it would switch to aiohttp, whose errors (and connection pool) differ.
        kwargs["http_options"]["async_client_args"] = {"transport": httpx2.AsyncHTTPTransport()}
        return sdk().Client(**kwargs).aio
