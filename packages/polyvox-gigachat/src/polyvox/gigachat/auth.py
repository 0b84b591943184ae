"""GigaChat's OAuth token, fetched once and shared by every client made with the same credentials.

The ``gigachat`` SDK already does most of what a token needs: it asks the OAuth endpoint
(``POST /api/v2/oauth``, Basic auth, ``RqUID``, ``scope``) for a token of about 30 minutes,
refreshes it 60 s before ``expires_at`` (``token_expiry_buffer_ms``), and answers a 401
with one re-authentication and one retry. What it does per *client object* — one token, one
lock — polyvox needs per *credentials*: a model has one sync client and one async client per
event loop (:mod:`polyvox.core.clients`), and several models may use the same key.

So the clients here are the SDK's own classes with their token kept in a
:class:`TokenStore` shared by all of them:

* a refresh is *single-flight*: whichever call finds the token missing or expiring fetches
  it; every concurrent call, sync or async, on any thread or loop, waits for that fetch
  (and sees its failure) instead of fetching another;
* a 401 discards the token only if it is still the one the failed call used: when fifty
  calls fail at once with an expired token, the first discards it and fetches a new one,
  the other forty-nine retry with that.

The credentials stay in the SDK's settings and are never logged (the SDK logs only that a
token was refreshed).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import hashlib
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from gigachat.client import GigaChatAsyncClient, GigaChatSyncClient
from gigachat.context import authorization_cvar

if TYPE_CHECKING:
    from gigachat.models.auth import AccessToken

__all__ = ["SharedAsyncClient", "SharedSyncClient", "TokenStore", "token_store"]

_used_token: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "polyvox_gigachat_used_token", default=None
)
"""The token the current call sent (read back when that call fails with a 401)."""

_RETRY = object()
"""What a fetch that was cancelled hands its waiters: try again (one of them fetches)."""


class TokenStore:
    """One OAuth token, shared by every SDK client made with the same credentials."""

    def __init__(self, buffer_ms: int = 60_000) -> None:
        """Make an empty store.

        Args:
            buffer_ms: Refresh this long before the token expires (the SDK's default).
        """
        self.buffer_ms = buffer_ms
        """Milliseconds before ``expires_at`` from which the token counts as expired."""
        self.token: AccessToken | None = None
        """The current token (``None`` before the first fetch and after a 401)."""
        self.fetches = 0
        """How many tokens were fetched (one per refresh: concurrent calls share it)."""
        self._lock = threading.Lock()
        self._pending: concurrent.futures.Future[object] | None = None
        self._pending_thread: int | None = None

    def usable(self) -> bool:
        """Whether the token exists and does not expire within the buffer.

        Returns:
            True when calls may use it as it is (a static token, ``expires_at`` 0, always).
        """
        token = self.token
        if token is None:
            return False
        return token.expires_at == 0 or token.expires_at > time.time() * 1000 + self.buffer_ms

    def discard(self, used: str | None) -> None:
        """Drop the token after a 401, unless another call already replaced it.

        Args:
            used: The token the failed call sent.
        """
        with self._lock:
            if self.token is not None and (used is None or self.token.access_token == used):
                self.token = None

    def _claim(self) -> tuple[concurrent.futures.Future[object] | None, bool]:
        """``(None, False)`` when the token is usable, else the fetch to wait for or to run."""
        with self._lock:
            if self.usable():
                return None, False
            if self._pending is not None:
                return self._pending, False
            self._pending = concurrent.futures.Future()
            self._pending_thread = threading.get_ident()
            return self._pending, True

    def _settle(self, pending: concurrent.futures.Future[object], outcome: object) -> None:
        with self._lock:
            if self._pending is pending:
                self._pending = None
                self._pending_thread = None
            if outcome is not None and not isinstance(outcome, BaseException):
                self.fetches += 1
        if isinstance(outcome, BaseException):
            pending.set_exception(outcome)
        else:
            pending.set_result(_RETRY if outcome is None else True)

    def refresh(self, fetch: Callable[[], None], wait: float) -> None:
        """Make the token usable from a sync call: fetch it, or wait for the fetch under way.

        Args:
            fetch: Asks the OAuth endpoint and stores the token (the SDK's own refresh).
            wait: The longest wait for another call's fetch (the request timeout) before
                fetching here: a sync call on the thread of an event loop whose task is
                fetching would otherwise wait for itself.

        Raises:
            Exception: What the fetch raised (the same failure for every waiting call).
        """
        while True:
            pending, mine = self._claim()
            if pending is None:
                return
            if mine:
                try:
                    fetch()
                except BaseException as exc:
                    self._settle(pending, exc)
                    raise
                self._settle(pending, True)
                return
            if self._pending_thread == threading.get_ident():
                fetch()  # the fetch under way belongs to this thread's loop: cannot wait
                return
            try:
                if pending.result(timeout=wait) is True:
                    return
            except concurrent.futures.TimeoutError:
                fetch()
                return

    async def arefresh(self, fetch: Callable[[], Awaitable[None]]) -> None:
        """Make the token usable from an async call: fetch it, or await the fetch under way.

        Args:
            fetch: Asks the OAuth endpoint and stores the token (the SDK's async refresh).

        Raises:
            Exception: What the fetch raised (the same failure for every waiting call).
        """
        while True:
            pending, mine = self._claim()
            if pending is None:
                return
            if not mine:
                if await asyncio.wrap_future(pending) is True:
                    return
                continue
            try:
                await fetch()
            except asyncio.CancelledError:
                self._settle(pending, None)  # the waiters try again; this call is cancelled
                raise
            except BaseException as exc:
                self._settle(pending, exc)
                raise
            self._settle(pending, True)
            return


_stores: weakref.WeakValueDictionary[str, TokenStore] = weakref.WeakValueDictionary()
_stores_lock = threading.Lock()


def token_store(settings: dict[str, Any]) -> TokenStore:
    """The store of the token for these connection settings (made on first use).

    Clients with the same OAuth endpoint, credentials, scope, user and password (or static
    token) share one store; it lives as long as a client holds it.

    Args:
        settings: The SDK client's keyword arguments.

    Returns:
        The shared store.
    """
    names = ("auth_url", "credentials", "scope", "user", "password", "access_token", "base_url")
    material = "\x00".join(str(settings.get(name) or "") for name in names)
    key = hashlib.sha256(material.encode()).hexdigest()  # no secret kept as a dict key
    buffer = settings.get("token_expiry_buffer_ms") or 60_000
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = TokenStore(buffer)
        return store


class _SharedToken:
    """The token attributes of the SDK's ``_BaseClient``, kept in a :class:`TokenStore`."""

    _store: TokenStore

    @property
    def _access_token(self) -> AccessToken | None:
        return self._store.token

    @_access_token.setter
    def _access_token(self, value: AccessToken | None) -> None:
        self._store.token = value

    @property
    def token(self) -> str | None:
        """The token a request is about to send (remembered for a 401 on this call)."""
        current = self._store.token
        value = current.access_token if current is not None else None
        _used_token.set(value)
        return value

    def _is_token_usable(self) -> bool:
        return self._store.usable()

    def _reset_token(self) -> None:
        self._store.discard(_used_token.get())


class SharedSyncClient(_SharedToken, GigaChatSyncClient):
    """The SDK's sync client, its token shared (:class:`TokenStore`)."""

    def __init__(self, *, store: TokenStore, **settings: Any) -> None:
        """Make the client.

        Args:
            store: The shared token.
            **settings: The SDK client's keyword arguments.
        """
        self._store = store
        super().__init__(**settings)

    def _update_token(self) -> None:
        if authorization_cvar.get() is not None:  # the caller sends its own token
            return
        parent = super()._update_token
        self._store.refresh(parent, wait=self._settings.timeout)


class SharedAsyncClient(_SharedToken, GigaChatAsyncClient):
    """The SDK's async client (one per event loop), its token shared (:class:`TokenStore`)."""

    def __init__(self, *, store: TokenStore, **settings: Any) -> None:
        """Make the client.

        Args:
            store: The shared token.
            **settings: The SDK client's keyword arguments.
        """
        self._store = store
        super().__init__(**settings)

    async def _aupdate_token(self) -> None:
        if authorization_cvar.get() is not None:  # the caller sends its own token
            return
        await self._store.arefresh(super()._aupdate_token)
