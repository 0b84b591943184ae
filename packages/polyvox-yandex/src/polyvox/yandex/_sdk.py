"""The ``yandex-ai-studio-sdk`` clients of a model, made on first use from its settings.

``AIStudio`` (sync) and ``AsyncAIStudio`` talk gRPC to the foundation-models services.
The sync SDK runs its calls on one background event loop of its own (the SDK's design:
grpc.aio channels belong to a loop); the async SDK runs on the caller's loop, so polyvox
keeps one ``AsyncAIStudio`` per event loop. Retries are the SDK's own: its retry policy
retries ``UNAVAILABLE`` and ``RESOURCE_EXHAUSTED`` with exponential backoff, and
``max_retries`` sets its attempts.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from pydantic import SecretStr

    from polyvox.core.loops import PerLoop

__all__ = ["LOOPBACK", "StudioClientMixin", "endpoint_settings"]

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
"""Hosts reached without TLS unless ``verify`` says otherwise."""


def endpoint_settings(base_url: str | None, verify: bool | str | None) -> tuple[str | None, Any]:
    """The SDK's ``endpoint`` and ``verify`` for a model's ``base_url``.

    Args:
        base_url: ``host:port`` of a Yandex Cloud API endpoint (its services are discovered
            there); an ``http://`` or ``grpc://`` scheme asks for plaintext. ``None`` keeps
            the SDK's default (``api.cloud.yandex.net:443``, or ``YC_API_ENDPOINT``).
        verify: ``True``/``False``/a CA bundle path; ``None`` picks plaintext for a loopback
            host or an ``http://`` URL, TLS otherwise.

    Returns:
        ``(endpoint, verify)``; ``verify`` is ``None`` when the SDK's default applies.
    """
    if base_url is None:
        return None, verify
    plain = base_url.startswith(("http://", "grpc://"))
    target = base_url.split("://", 1)[1] if "://" in base_url else base_url
    target = target.rstrip("/")
    if verify is None:
        host = (
            target.rsplit(":", 1)[0] if target.count(":") == 1 or target.startswith("[") else target
        )
        verify = False if plain or host in LOOPBACK else None
    return target, verify


class _Studio:
    """An SDK instance with ``close``/``aclose``, which the SDK itself lacks.

    ``AIStudio`` (0.22) has no public way to close its gRPC channels; they are the dict
    ``sdk._client._channels``. Reading it is isolated here and tolerant: when a release
    renames it, nothing is closed (the channels then close with the process), nothing
    fails.
    """

    __slots__ = ("sdk",)

    def __init__(self, sdk: Any) -> None:
        self.sdk = sdk

    def _channels(self) -> list[Any]:
        client = getattr(self.sdk, "_client", None)
        channels = getattr(client, "_channels", None)
        return list(channels.values()) if isinstance(channels, dict) else []

    def close(self) -> None:
        """Close the SDK's gRPC channels (they live on the SDK's background loop)."""
        channels = self._channels()
        if not channels:
            return
        loop = self.sdk._get_event_loop()
        for channel in channels:
            asyncio.run_coroutine_threadsafe(channel.close(), loop).result(5)

    async def aclose(self) -> None:
        """Close the async SDK's gRPC channels on the running loop."""
        for channel in self._channels():
            await channel.close()


class StudioClientMixin:
    """The SDK clients of a model: ``studio`` (sync) and ``async_studio`` (one per loop).

    Mixed into the pydantic models, which declare the connection fields and the private
    ``_client``/``_async_client``, and take shares of the shared clients through
    :class:`~polyvox.core.lifecycle.ClientsMixin`.
    """

    if TYPE_CHECKING:
        api_key: SecretStr | None
        iam_token: SecretStr | None
        oauth_token: SecretStr | None
        service_account_key: SecretStr | None
        folder_id: str | None
        base_url: str | None
        verify: bool | str | None
        max_retries: int
        _client: Any
        _async_client: Any

        def _lease_client(self, key: Hashable, build: Callable[[], Any]) -> Any: ...
        def _lease_async_holder(self, key: Hashable) -> PerLoop[Any]: ...

    def _settings(self) -> dict[str, Any]:
        """What tells two clients apart (secrets included: this is a key, never shown)."""
        secret = {
            name: value.get_secret_value() if value is not None else None
            for name, value in (
                ("api_key", self.api_key),
                ("iam_token", self.iam_token),
                ("oauth_token", self.oauth_token),
                ("service_account_key", self.service_account_key),
            )
        }
        return {
            **secret,
            "folder_id": self.folder_id,
            "base_url": self.base_url,
            "verify": self.verify,
            "max_retries": self.max_retries,
        }

    def _new_sdk(self, cls_name: str) -> Any:
        import yandex_ai_studio_sdk
        from yandex_ai_studio_sdk.retry import RetryPolicy

        from polyvox.yandex.auth import make_auth

        endpoint, verify = endpoint_settings(self.base_url, self.verify)
        kwargs: dict[str, Any] = {
            "retry_policy": RetryPolicy(max_attempts=self.max_retries + 1),
            "folder_id": self.folder_id or "",
        }
        auth = make_auth(
            api_key=self.api_key,
            iam_token=self.iam_token,
            oauth_token=self.oauth_token,
            service_account_key=self.service_account_key,
        )
        if auth is not None:
            kwargs["auth"] = auth
        if endpoint is not None:
            kwargs["endpoint"] = endpoint
        if verify is not None:
            kwargs["verify"] = verify
        return getattr(yandex_ai_studio_sdk, cls_name)(**kwargs)

    @property
    def studio(self) -> Any:
        """The ``yandex_ai_studio_sdk.AIStudio`` this model calls for sync calls.

        Made on first use and shared by every model with the same settings
        (:mod:`polyvox.core.clients`); its channels are closed when the last of them closes.

        Raises:
            ModelClosedError: The model was closed.
        """
        if self._client is None:
            from polyvox.core.clients import client_key

            key = client_key("yandex-ai-studio", self._settings())
            self._client = self._lease_client(key, lambda: _Studio(self._new_sdk("AIStudio")))
        return self._client.sdk

    @property
    def async_studio(self) -> Any:
        """The ``yandex_ai_studio_sdk.AsyncAIStudio`` of the running event loop (one per loop).

        Raises:
            ModelClosedError: The model was closed.
        """
        holder = self._async_client
        if holder is None:
            from polyvox.core.clients import client_key

            key = client_key("yandex-ai-studio-async", self._settings())
            holder = self._async_client = self._lease_async_holder(key)
        return holder.get(lambda: _Studio(self._new_sdk("AsyncAIStudio"))).sdk
