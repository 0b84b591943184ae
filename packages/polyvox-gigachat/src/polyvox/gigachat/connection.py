"""What the chat model and the embeddings share: credentials, TLS, and the SDK clients.

The fields are langchain-gigachat's (``credentials``, ``scope``, ``auth_url``, ``user``,
``password``, ``access_token``, ``verify_ssl_certs``, ``ca_bundle_file``...), read from the
SDK's ``GIGACHAT_*`` environment variables when not given, the secrets as ``SecretStr``.

TLS verification stays on. GigaChat's servers present certificates of the Russian Trusted
Root CA, which default trust stores (certifi's, the operating system's) lack: give its file
as ``ca_bundle_file`` (or ``GIGACHAT_CA_BUNDLE_FILE``) and verification succeeds; when it
fails, the error says so and how to get the certificate (:mod:`polyvox.gigachat.errors`).
``verify_ssl_certs=False`` turns verification off, on purpose only, with a
:class:`GigaChatInsecureWarning`.
"""

from __future__ import annotations

import os
import ssl
import warnings
from typing import TYPE_CHECKING, Any, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, model_validator

from polyvox.core.errors import MissingAPIKeyError

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from polyvox.core.loops import PerLoop
    from polyvox.gigachat.auth import SharedAsyncClient, SharedSyncClient

__all__ = ["DEFAULT_BASE_URL", "GigaChatConnection", "GigaChatInsecureWarning"]

DEFAULT_BASE_URL = "https://gigachat.devices.sberbank.ru/api/v1"
"""GigaChat's public API root (the SDK's ``https://api.giga.chat/v1`` serves the same API)."""

DEFAULT_AUTH_URL = "https://ngw.devices.sberbank.ru:9443/api/v2/oauth"
"""Sber's OAuth endpoint, where the authorization key is exchanged for a token."""

_ENV = {
    "auth_url": "GIGACHAT_AUTH_URL",
    "scope": "GIGACHAT_SCOPE",
    "user": "GIGACHAT_USER",
    "ca_bundle_file": "GIGACHAT_CA_BUNDLE_FILE",
    "cert_file": "GIGACHAT_CERT_FILE",
    "key_file": "GIGACHAT_KEY_FILE",
}
_SECRET_ENV = {
    "api_key": "GIGACHAT_CREDENTIALS",
    "access_token": "GIGACHAT_ACCESS_TOKEN",
    "password": "GIGACHAT_PASSWORD",
    "key_file_password": "GIGACHAT_KEY_FILE_PASSWORD",
}
_FALSE = frozenset({"0", "false", "no", "off"})


class GigaChatInsecureWarning(UserWarning):
    """TLS certificate verification was turned off (``verify_ssl_certs=False``)."""


def _with_context(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings with ``ca_bundle_file`` made into an ``ssl_context``.

    The SDK hands ``httpx`` the file's path (``verify="<path>"``), which httpx deprecates; a
    context made from the file verifies the same way. The clients' sharing key keeps the
    path (a context has no value to compare).
    """
    bundle = settings.get("ca_bundle_file")
    if not bundle or settings.get("ssl_context") is not None or not settings["verify_ssl_certs"]:
        return settings
    return {
        **settings,
        "ca_bundle_file": "",  # not None: the SDK would read GIGACHAT_CA_BUNDLE_FILE again
        "ssl_context": ssl.create_default_context(cafile=bundle),
    }


def _private(model: BaseModel, name: str) -> Any:
    """A private attribute of ``model``, read from pydantic's store directly.

    ``model._name`` goes through ``BaseModel.__getattr__``, which costs about 4 µs (its
    ``hasattr`` on the attribute's default raises and formats an ``AttributeError``); the
    clients are read on every call.
    """
    return (model.__pydantic_private__ or {}).get(name)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


class GigaChatConnection(BaseModel):
    """The connection fields of :class:`~polyvox.gigachat.GigaChat` and its embeddings."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("credentials", "api_key")
    )
    """The authorization key (base64 of ``client_id:client_secret``, "Authorization key" in
    Sber's console); ``credentials=`` as langchain-gigachat names it, else
    ``GIGACHAT_CREDENTIALS``. Never shown."""

    scope: str | None = None
    """The API scope: ``GIGACHAT_API_PERS`` (individuals, the default), ``GIGACHAT_API_B2B``
    (prepaid business) or ``GIGACHAT_API_CORP`` (pay-as-you-go business);
    ``GIGACHAT_SCOPE``."""

    auth_url: str | None = None
    """The OAuth endpoint; ``GIGACHAT_AUTH_URL``, else Sber's."""

    access_token: SecretStr | None = None
    """A token obtained elsewhere (used as it is, never refreshed); ``GIGACHAT_ACCESS_TOKEN``."""

    user: str | None = None
    """User name for password authentication (``/token``); ``GIGACHAT_USER``."""

    password: SecretStr | None = None
    """Password for password authentication; ``GIGACHAT_PASSWORD``. Never shown."""

    verify_ssl_certs: bool | None = None
    """Verify the servers' TLS certificates (``GIGACHAT_VERIFY_SSL_CERTS``; on unless turned
    off). ``False`` is insecure and warns: prefer ``ca_bundle_file``."""

    ca_bundle_file: str | None = None
    """A CA bundle to verify the servers with, e.g. the Russian Trusted Root CA's PEM file;
    ``GIGACHAT_CA_BUNDLE_FILE``."""

    cert_file: str | None = None
    """A client certificate (mutual TLS); ``GIGACHAT_CERT_FILE``."""

    key_file: str | None = None
    """The client certificate's private key; ``GIGACHAT_KEY_FILE``."""

    key_file_password: SecretStr | None = None
    """The private key's password; ``GIGACHAT_KEY_FILE_PASSWORD``. Never shown."""

    ssl_context: ssl.SSLContext | None = Field(default=None, exclude=True)
    """A ready TLS context (instead of the file fields)."""

    max_connections: int | None = Field(default=None, gt=0)
    """Most simultaneous connections to the API (the SDK's pool limit)."""

    if TYPE_CHECKING:
        base_url: str | None
        timeout: float | None
        _client: Any
        _async_client: Any

        def _lease_client(self, key: Hashable, build: Callable[[], Any]) -> Any: ...
        def _lease_async_holder(self, key: Hashable) -> PerLoop[Any]: ...

    @property
    def credentials(self) -> SecretStr | None:
        """The authorization key (langchain-gigachat's name for :attr:`api_key`)."""
        return self.api_key

    @model_validator(mode="after")
    def _resolve_connection(self) -> Self:
        for name, env in _ENV.items():
            if getattr(self, name) is None and os.environ.get(env):
                setattr(self, name, os.environ[env])
        for name, env in _SECRET_ENV.items():
            if getattr(self, name) is None and os.environ.get(env):
                setattr(self, name, SecretStr(os.environ[env]))
        if self.verify_ssl_certs is None:
            given = os.environ.get("GIGACHAT_VERIFY_SSL_CERTS", "").strip().lower()
            self.verify_ssl_certs = given not in _FALSE if given else True
        if self.api_key is None and self.access_token is None and not (self.user and self.password):
            msg = (
                f"{type(self).__name__} needs GigaChat credentials: pass credentials=... (the "
                "authorization key from Sber's console, base64 of client_id:client_secret) or "
                "set GIGACHAT_CREDENTIALS; or user= and password= (GIGACHAT_USER, "
                "GIGACHAT_PASSWORD); or access_token= (GIGACHAT_ACCESS_TOKEN)."
            )
            raise MissingAPIKeyError(msg)
        if not self.verify_ssl_certs:
            warnings.warn(
                f"{type(self).__name__}: TLS certificate verification is OFF "
                "(verify_ssl_certs=False): anyone on the network path can read the "
                "credentials and the conversation. Install the Russian Trusted Root CA and "
                "pass ca_bundle_file= instead (see polyvox.gigachat.errors).",
                GigaChatInsecureWarning,
                stacklevel=2,
            )
        return self

    # ---- the SDK clients -----------------------------------------------------------------

    def _sdk_settings(self) -> dict[str, Any]:
        """The SDK client's keyword arguments (its own retries off: polyvox retries)."""
        return {
            "base_url": self.base_url or DEFAULT_BASE_URL,
            "auth_url": self.auth_url or DEFAULT_AUTH_URL,
            "credentials": _secret(self.api_key),
            "scope": self.scope,
            "access_token": _secret(self.access_token),
            "user": self.user,
            "password": _secret(self.password),
            "timeout": self.timeout,
            "verify_ssl_certs": self.verify_ssl_certs,
            "ca_bundle_file": self.ca_bundle_file,
            "cert_file": self.cert_file,
            "key_file": self.key_file,
            "key_file_password": _secret(self.key_file_password),
            "ssl_context": self.ssl_context,
            "max_connections": self.max_connections,
            # The SDK's retry restarts a stream that broke after its first chunks (the
            # caller would get the text twice): polyvox.core.retry retries instead.
            "max_retries": 0,
        }

    @property
    def client(self) -> SharedSyncClient:
        """The SDK's sync client this model calls (``gigachat.GigaChatSyncClient``).

        Shared by every model with the same connection settings, with its warm connections
        and, through :mod:`polyvox.gigachat.auth`, its OAuth token.

        Raises:
            ModelClosedError: The model was closed.
        """
        client: SharedSyncClient | None = _private(self, "_client")
        if client is None:
            from polyvox.core.clients import client_key
            from polyvox.gigachat.auth import SharedSyncClient, token_store

            settings = self._sdk_settings()

            def build() -> SharedSyncClient:
                return SharedSyncClient(store=token_store(settings), **_with_context(settings))

            client = self._client = self._lease_client(client_key("gigachat", settings), build)
        return client

    @property
    def async_client(self) -> SharedAsyncClient:
        """The SDK's async client of the running event loop (one per loop).

        It shares the OAuth token with the sync client and the other loops' clients.

        Raises:
            ModelClosedError: The model was closed.
        """
        holder = _private(self, "_async_client")
        if holder is None:
            from polyvox.core.clients import client_key

            holder = self._async_client = self._lease_async_holder(
                client_key("gigachat-async", self._sdk_settings())
            )

        def build() -> SharedAsyncClient:
            from polyvox.gigachat.auth import SharedAsyncClient, token_store

            settings = self._sdk_settings()
            return SharedAsyncClient(store=token_store(settings), **_with_context(settings))

        client: SharedAsyncClient = holder.get(build)
        return client

    def _fail(self, exc: BaseException) -> BaseException:
        """The mapped error for what a call raised (:func:`map_gigachat_error`)."""
        from polyvox.gigachat.errors import map_gigachat_error

        return map_gigachat_error(
            exc,
            base_url=self.base_url or DEFAULT_BASE_URL,
            auth_url=self.auth_url or DEFAULT_AUTH_URL,
        )
