"""What every Ollama model class shares: its clients, errors, health, models and pulls."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr, ValidationError

from polyvox.ollama._sdk import sdk, transport_errors

if TYPE_CHECKING:
    from collections.abc import Hashable

    import ollama

    from polyvox.core.loops import PerLoop

__all__ = ["OllamaHealth", "OllamaServerMixin", "PullProgress"]


@dataclass(frozen=True)
class PullProgress:
    """One step of a model pull, as Ollama reports it."""

    status: str
    """What Ollama is doing (``"pulling manifest"``, ``"pulling 6a0746a1ec1a"``, ``"success"``)."""

    completed: int | None = None
    """Bytes done of the current layer, when downloading."""

    total: int | None = None
    """Bytes of the current layer, when downloading."""

    digest: str | None = None
    """The layer being downloaded."""

    @property
    def fraction(self) -> float | None:
        """Share of the current layer downloaded (0 to 1), when known."""
        if self.total and self.completed is not None:
            return min(self.completed / self.total, 1.0)
        return None


@dataclass(frozen=True)
class OllamaHealth:
    """What ``health_check()`` found."""

    reachable: bool
    """Whether the Ollama server answered."""

    model_available: bool
    """Whether the model is pulled on that server."""

    host: str
    """The server asked."""

    model: str
    """The model asked about."""

    message: str = ""
    """What is wrong and what to run, or that all is well."""

    @property
    def ok(self) -> bool:
        """Whether calls to this model can succeed."""
        return self.reachable and self.model_available


class OllamaServerMixin:
    """Clients and server operations for the pydantic Ollama model classes.

    The classes declare ``model``, ``base_url``, ``api_key``, ``timeout``, ``headers``
    and the private ``_client``/``_async_client``, and take shares of the shared clients
    through :class:`~polyvox.core.lifecycle.ClientsMixin`.
    """

    if TYPE_CHECKING:
        model: str
        base_url: str | None
        api_key: SecretStr | None
        timeout: float | None
        headers: dict[str, str] | None
        _client: Any
        _async_client: Any

        def _lease_client(self, key: Hashable, build: Callable[[], Any]) -> Any: ...
        def _lease_async_holder(self, key: Hashable) -> PerLoop[Any]: ...

    @property
    def host(self) -> str:
        """The Ollama server this model talks to."""
        return self.base_url or "http://127.0.0.1:11434"

    def _client_kwargs(self) -> dict[str, Any]:
        headers = dict(self.headers or {})
        if self.api_key is not None:
            headers.setdefault("Authorization", f"Bearer {self.api_key.get_secret_value()}")
        return {"host": self.host, "timeout": self.timeout, "headers": headers or None}

    @property
    def client(self) -> ollama.Client:
        """The ``ollama.Client``.

        Made on first use and shared by every model with the same server, timeout and
        headers (:mod:`polyvox.core.clients`); closed when the last of them closes.

        Raises:
            ModelClosedError: The model was closed.
        """
        if self._client is None:
            from polyvox.core.clients import client_key

            kwargs = self._client_kwargs()
            self._client = self._lease_client(
                client_key("ollama", kwargs), lambda: sdk().Client(**kwargs)
            )
        return self._client  # type: ignore[no-any-return]

    @property
    def async_client(self) -> ollama.AsyncClient:
        """The ``ollama.AsyncClient`` of the running event loop (one per loop).

        Its connection pool belongs to the loop that first used it, which closes it when it
        shuts down (see :mod:`polyvox.core.loops`).

        Raises:
            ModelClosedError: The model was closed.
        """
        holder = self._async_client
        if holder is None:
            from polyvox.core.clients import client_key

            key = client_key("ollama-async", self._client_kwargs())
            holder = self._async_client = self._lease_async_holder(key)
        return holder.get(self._new_async_client)  # type: ignore[no-any-return]

    def _new_async_client(self) -> ollama.AsyncClient:
        return sdk().AsyncClient(**self._client_kwargs())  # type: ignore[no-any-return]

    def _fail(self, exc: BaseException, model: str | None = None) -> BaseException:
        from polyvox.ollama.errors import map_ollama_error

        return map_ollama_error(exc, host=self.host, model=model or self.model)

    def _errors(self) -> tuple[type[BaseException], ...]:
        from polyvox.ollama.errors import IncompleteStreamError

        # A 200 whose body is not JSON, or not a response's shape, becomes a
        # ProviderResponseError (see map_ollama_error).
        return (
            sdk().ResponseError,
            ConnectionError,
            IncompleteStreamError,
            json.JSONDecodeError,
            ValidationError,
            *transport_errors(),
        )

    # ---- server operations -----------------------------------------------------------------

    def show(self, model: str | None = None) -> ollama.ShowResponse:
        """Ollama's ``/api/show`` for the model (details, context length, capabilities).

        Args:
            model: Another model than this one's.

        Returns:
            The SDK's ``ShowResponse``.
        """
        name = model or self.model
        try:
            return self.client.show(name)
        except self._errors() as exc:
            raise self._fail(exc, name) from exc

    async def ashow(self, model: str | None = None) -> ollama.ShowResponse:
        """Async :meth:`show`."""
        name = model or self.model
        try:
            return await self.async_client.show(name)
        except self._errors() as exc:
            raise self._fail(exc, name) from exc

    def list_models(self) -> list[str]:
        """The models pulled on the server (``/api/tags``).

        Returns:
            Their names, sorted.
        """
        try:
            listed = self.client.list()
        except self._errors() as exc:
            raise self._fail(exc) from exc
        return sorted(m.model for m in listed.models if m.model)

    async def alist_models(self) -> list[str]:
        """Async :meth:`list_models`."""
        try:
            listed = await self.async_client.list()
        except self._errors() as exc:
            raise self._fail(exc) from exc
        return sorted(m.model for m in listed.models if m.model)

    def health_check(self) -> OllamaHealth:
        """Tell whether Ollama is up and this model is pulled, and what to run if not.

        Returns:
            What was found; never raises for a down server or a missing model.
        """
        try:
            models = self.list_models()
        except Exception as exc:
            return self._unreachable(exc)
        return self._health(models)

    async def ahealth_check(self) -> OllamaHealth:
        """Async :meth:`health_check`."""
        try:
            models = await self.alist_models()
        except Exception as exc:
            return self._unreachable(exc)
        return self._health(models)

    def _unreachable(self, exc: BaseException) -> OllamaHealth:
        message = str(self._fail(exc))  # the mapped error already says what to run
        return OllamaHealth(False, False, self.host, self.model, message)

    def _health(self, models: list[str]) -> OllamaHealth:
        pulled = _is_pulled(self.model, models)
        message = (
            f"Ollama at {self.host} is up and {self.model} is pulled."
            if pulled
            else f"Ollama at {self.host} is up, but {self.model} is not pulled: run "
            f"`ollama pull {self.model}` or `polyvox ollama pull {self.model}`."
        )
        return OllamaHealth(True, pulled, self.host, self.model, message)

    def pull(self, progress: Callable[[PullProgress], None] | None = None) -> None:
        """Pull (download) the model onto the server, reporting progress.

        Args:
            progress: Called with each step Ollama reports.
        """
        try:
            for step in self.client.pull(self.model, stream=True):
                if progress is not None:
                    progress(_progress(step))
        except self._errors() as exc:
            raise self._fail(exc) from exc

    async def apull(self, progress: Callable[[PullProgress], None] | None = None) -> None:
        """Async :meth:`pull`."""
        try:
            async for step in await self.async_client.pull(self.model, stream=True):
                if progress is not None:
                    progress(_progress(step))
        except self._errors() as exc:
            raise self._fail(exc) from exc


def _progress(step: Any) -> PullProgress:
    return PullProgress(step.status or "", step.completed, step.total, step.digest)


def _is_pulled(model: str, models: list[str]) -> bool:
    """Ollama names omit ``:latest`` in requests but list it."""
    names = set(models)
    return model in names or f"{model}:latest" in names
