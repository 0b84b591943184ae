"""``OllamaEmbeddings``: text embeddings from a model served by Ollama (``/api/embed``)."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, PrivateAttr, SecretStr, model_validator

from polyvox.core.credentials import resolve_api_key, resolve_base_url
from polyvox.core.errors import ProviderResponseError
from polyvox.ollama.server import OllamaServerMixin

__all__ = ["OllamaEmbeddings"]


class OllamaEmbeddings(OllamaServerMixin, BaseModel, Embeddings):
    """Embeddings from an Ollama embedding model (``nomic-embed-text``, ``bge-m3``, ...).

    Example:
        .. code-block:: python

            from polyvox.ollama import OllamaEmbeddings

            vectors = OllamaEmbeddings(model="nomic-embed-text").embed_documents(["a", "b"])
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    is_local: ClassVar[bool] = True

    model: str = "nomic-embed-text"
    """The embedding model."""

    base_url: str | None = None
    """The Ollama server; read from ``OLLAMA_HOST`` when not given."""

    api_key: SecretStr | None = None
    """A bearer key for a server behind a proxy; read from ``OLLAMA_API_KEY``. Never shown."""

    timeout: float | None = None
    """Seconds to wait for each request."""

    headers: dict[str, str] | None = None
    """Headers sent with every request."""

    keep_alive: float | str | None = None
    """How long Ollama keeps the model loaded after a call."""

    dimensions: int | None = None
    """Shorten vectors to this many dimensions (models that support it)."""

    truncate: bool = True
    """Let Ollama cut inputs longer than the model's window (else it answers an error)."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _resolve_key_and_url(self) -> Self:
        self.api_key = resolve_api_key(
            self.api_key, env="OLLAMA_API_KEY", required=False, owner=type(self).__name__
        )
        self.base_url = resolve_base_url(
            self.base_url, env="OLLAMA_HOST", default="http://127.0.0.1:11434"
        )
        return self

    def _request(self, texts: list[str]) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model, "input": texts, "truncate": self.truncate}
        if self.keep_alive is not None:
            request["keep_alive"] = self.keep_alive
        if self.dimensions is not None:
            request["dimensions"] = self.dimensions
        return request

    def _vectors(self, response: Any, expected: int) -> list[list[float]]:
        vectors = [list(map(float, v)) for v in response.embeddings]
        if len(vectors) != expected:
            msg = f"Ollama returned {len(vectors)} embeddings for {expected} texts"
            raise ProviderResponseError(msg, provider="ollama")
        return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage.

        Args:
            texts: The texts.

        Returns:
            One vector per text, in order.
        """
        if not texts:
            return []
        try:
            response = self.client.embed(**self._request(texts))
        except self._errors() as exc:
            raise self._fail(exc) from exc
        return self._vectors(response, len(texts))

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query.

        Args:
            text: The query.

        Returns:
            Its vector.
        """
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage, asynchronously.

        Args:
            texts: The texts.

        Returns:
            One vector per text, in order.
        """
        if not texts:
            return []
        try:
            response = await self.async_client.embed(**self._request(texts))
        except self._errors() as exc:
            raise self._fail(exc) from exc
        return self._vectors(response, len(texts))

    async def aembed_query(self, text: str) -> list[float]:
        """Embed a search query, asynchronously.

        Args:
            text: The query.

        Returns:
            Its vector.
        """
        return (await self.aembed_documents([text]))[0]
